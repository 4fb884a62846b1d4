import type { StopReason, TokenUsage } from '@mobkit/core';

export type { StopReason };
/** Token usage of one LLM call or a whole run (core's `TokenUsage`). */
export type Usage = TokenUsage;

/** A tool the model may call. */
export interface ToolDef {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  inputSchema: Record<string, unknown>;
}

/** A tool call the model made. */
export interface ToolCall {
  id: string;
  name: string;
  args: unknown;
}

/** One tool result fed back to the model. */
export interface ToolResult {
  toolCallId: string;
  name: string;
  content: string;
  isError: boolean;
}

/** One message of a conversation history. */
export type LlmMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls: ToolCall[] }
  | { role: 'tool_results'; results: ToolResult[] };

/** What an {@link LlmClient} is asked (Meerkat's `LlmRequest`). */
export interface LlmRequest {
  model: string;
  system: string;
  messages: LlmMessage[];
  tools: ToolDef[];
  maxTokens: number;
  temperature?: number;
  /** Who is asking (member id and profile), so scripted clients can answer per member. */
  caller?: { memberId: string; profile: string };
}

/** One streamed event from an LLM (a subset of Meerkat's `LlmEvent`). */
export type LlmEvent =
  | { type: 'text_delta'; delta: string }
  | { type: 'tool_call_complete'; id: string; name: string; args: unknown }
  | { type: 'usage'; usage: Usage }
  | { type: 'done'; stopReason: StopReason };

/**
 * A streaming LLM. `stream` yields text deltas, complete tool calls, usage and one final `done`;
 * it throws a `ProviderError` on failure and stops early when `signal` aborts.
 */
export interface LlmClient {
  /** Provider name (`anthropic`, `openai`, `test`, …). */
  readonly provider: string;
  /** Streams one model call. */
  stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent>;
}

/** A zero usage. */
export function zeroUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0 };
}
