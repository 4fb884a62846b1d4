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

/**
 * An image sent to a model: base64 `data` with its `mediaType` (`image/png`, …), or a `url` the
 * provider fetches. On the wire (`send_message` content) it is `{type: "image", media_type, data}`
 * or `{type: "image", url}`.
 */
export type LlmImage = { mediaType: string; data: string } | { url: string };

/** One message of a conversation history (a user message may carry images after its text). */
export type LlmMessage =
  | { role: 'user'; content: string; images?: LlmImage[] }
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
  /** The profile's `provider_params` (each client maps them to its provider's fields). */
  providerParams?: ProviderParams;
  /**
   * The profile's `output_schema`: the final answer must be JSON matching it. Clients with native
   * structured output use it (OpenAI `response_format: json_schema`, Anthropic a forced answer tool);
   * the mob validates the answer either way.
   */
  outputSchema?: Record<string, unknown>;
  /** Who is asking (member id and profile), so scripted clients can answer per member. */
  caller?: { memberId: string; profile: string };
}

/** Meerkat's strict `ProviderParamsOverride` (`provider_params`), camelCase. */
export interface ProviderParams {
  temperature?: number;
  topP?: number;
  /** Output token cap per call (wins over the profile's `max_tokens`). */
  maxOutputTokens?: number;
  /** Reasoning output: `emit` it, keep it `silent` (used, not shown), or `off`. */
  reasoning?: 'emit' | 'silent' | 'off';
  /** Token budget for extended thinking (Anthropic `thinking.budget_tokens`). */
  thinkingBudgetTokens?: number;
  /** A caller tag passed to the provider (OpenAI `user`, Anthropic `metadata.user_id`). */
  providerTag?: string;
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
