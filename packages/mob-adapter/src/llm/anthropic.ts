import { MobRuntimeError } from '../errors.js';
import { parseSseJson, parseToolArgs, postSse } from './http.js';
import type { LlmClient, LlmEvent, LlmMessage, LlmRequest, StopReason, ToolCall } from './types.js';

/** Options of {@link AnthropicClient}. */
export interface AnthropicClientOptions {
  apiKey: string;
  /** Base URL (default `https://api.anthropic.com`); `/v1/messages` is appended. */
  baseUrl?: string;
  /** `anthropic-version` header (default `2023-06-01`). */
  version?: string;
  fetch?: typeof fetch;
}

type Block = Record<string, unknown>;

/** The name of the answer tool that a request's `outputSchema` adds (see {@link anthropicBody}). */
export const STRUCTURED_OUTPUT_TOOL = 'structured_output';

/** Anthropic's minimum `thinking.budget_tokens`. */
const MIN_THINKING_BUDGET = 1024;

/** Extra inputs of {@link anthropicBody}. */
export interface AnthropicBodyOptions {
  /**
   * The thinking blocks (`thinking` with its `signature`, or `redacted_thinking`) of the assistant
   * message whose first tool call has this id. With thinking on, the API wants an assistant message's
   * thinking sent back ahead of its tool calls while the tool loop runs; {@link AnthropicClient} keeps
   * the blocks it streamed and passes them here.
   */
  thinkingFor?: (firstToolCallId: string) => Block[] | undefined;
}

/** The answer tool's input schema: the output schema itself when it is an object schema, else `{value: schema}`. */
function answerToolSchema(schema: Record<string, unknown>): { inputSchema: Record<string, unknown>; wrapped: boolean } {
  if (schema.type === 'object') return { inputSchema: schema, wrapped: false };
  return { inputSchema: { type: 'object', properties: { value: schema }, required: ['value'] }, wrapped: true };
}

/** The `thinking` config a request asks for, or undefined (no budget, a zero budget, or `reasoning: 'off'`). */
function thinkingBudget(request: LlmRequest): number | undefined {
  const params = request.providerParams ?? {};
  const budget = params.thinkingBudgetTokens;
  if (budget === undefined || budget <= 0 || params.reasoning === 'off') return undefined;
  if (budget < MIN_THINKING_BUDGET) {
    throw new MobRuntimeError(
      'INVALID_INPUT',
      `anthropic: provider_params.thinking_budget_tokens is ${budget}, but Anthropic requires at least ${MIN_THINKING_BUDGET}: raise it, or set it to 0 (or reasoning to "off") to turn extended thinking off`,
      { details: { provider: 'anthropic', field: 'provider_params.thinking_budget_tokens', value: budget } },
    );
  }
  return budget;
}

function userBlocks(m: Extract<LlmMessage, { role: 'user' }>): Block[] {
  const images = m.images ?? [];
  // The API rejects an empty text block; a message of images alone is sent without one.
  const blocks: Block[] = m.content !== '' || images.length === 0 ? [{ type: 'text', text: m.content }] : [];
  for (const image of images) {
    blocks.push({
      type: 'image',
      source:
        'url' in image
          ? { type: 'url', url: image.url }
          : { type: 'base64', media_type: image.mediaType, data: image.data },
    });
  }
  return blocks;
}

/**
 * Builds the Messages API body for a request (consecutive user-side messages are merged).
 *
 * - A user message's `images` follow its text as `image` blocks (`source: {type: 'base64', media_type,
 *   data}` or `{type: 'url', url}`).
 * - `max_tokens` is `providerParams.maxOutputTokens`, else `request.maxTokens`; `temperature` is
 *   `providerParams.temperature`, else `request.temperature`; `top_p` is `providerParams.topP`;
 *   `metadata.user_id` is `providerParams.providerTag`. (Some newer models reject `temperature` and
 *   `top_p` together; the API's error is then reported as a provider error.)
 * - Extended thinking: `thinking: {type: 'enabled', budget_tokens}` when `thinkingBudgetTokens > 0`
 *   and `reasoning` is not `off` (a budget under 1024, the API's minimum, is an `InvalidInput` error).
 *   The API wants `max_tokens` above the budget, so a cap at or under it becomes budget + cap. Thinking
 *   forbids a `temperature` other than 1 and a `top_p` under 0.95, so those are left out. `reasoning:
 *   'emit'` and `'silent'` send the same thing: the thinking is streamed but not surfaced as events.
 * - `request.outputSchema` adds a `structured_output` tool whose `input_schema` is the schema (an
 *   object schema as it is, any other wrapped as `{type: 'object', properties: {value: schema},
 *   required: ['value']}`) and forces a tool: `tool_choice: {type: 'tool', name: 'structured_output'}`
 *   without other tools, `{type: 'any'}` with them. With thinking on, the API forbids forcing a tool,
 *   so `tool_choice` stays `auto` and the tool's description asks for it. {@link AnthropicClient}
 *   turns the call into the answer text; the mob validates the answer against the schema either way.
 */
export function anthropicBody(request: LlmRequest, options: AnthropicBodyOptions = {}): Record<string, unknown> {
  const budget = thinkingBudget(request);
  const messages: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of request.messages) {
    if (m.role === 'user') push('user', userBlocks(m));
    else if (m.role === 'assistant') {
      const blocks: Block[] = [];
      const first = m.toolCalls[0];
      const thinking = budget !== undefined && first ? options.thinkingFor?.(first.id) : undefined;
      if (thinking) blocks.push(...thinking);
      if (m.content !== '') blocks.push({ type: 'text', text: m.content });
      for (const c of m.toolCalls) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.args ?? {} });
      if (blocks.length === 0) blocks.push({ type: 'text', text: '' });
      push('assistant', blocks);
    } else {
      push(
        'user',
        m.results.map((r) => ({
          type: 'tool_result',
          tool_use_id: r.toolCallId,
          content: r.content,
          is_error: r.isError,
        })),
      );
    }
  }
  const params = request.providerParams ?? {};
  let maxTokens = params.maxOutputTokens ?? request.maxTokens;
  if (budget !== undefined && maxTokens <= budget) maxTokens = budget + maxTokens;
  const body: Record<string, unknown> = { model: request.model, max_tokens: maxTokens, messages, stream: true };
  if (request.system) body.system = request.system;
  const temperature = params.temperature ?? request.temperature;
  if (temperature !== undefined && budget === undefined) body.temperature = temperature;
  if (params.topP !== undefined && (budget === undefined || params.topP >= 0.95)) body.top_p = params.topP;
  if (budget !== undefined) body.thinking = { type: 'enabled', budget_tokens: budget };
  if (params.providerTag !== undefined) body.metadata = { user_id: params.providerTag };
  const tools: Block[] = request.tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.inputSchema,
  }));
  if (request.outputSchema !== undefined) {
    if (request.tools.some((t) => t.name === STRUCTURED_OUTPUT_TOOL)) {
      throw new MobRuntimeError(
        'INVALID_INPUT',
        `anthropic: a tool is named ${STRUCTURED_OUTPUT_TOOL}, the name of the answer tool an output_schema adds: rename that tool, or drop the profile's output_schema`,
        { details: { provider: 'anthropic', field: 'tools', tool: STRUCTURED_OUTPUT_TOOL } },
      );
    }
    tools.push({
      name: STRUCTURED_OUTPUT_TOOL,
      description:
        'Give your final answer by calling this tool once, with the answer as its input (it must match the input schema). Do not answer in plain text.',
      input_schema: answerToolSchema(request.outputSchema).inputSchema,
    });
    if (budget === undefined) {
      body.tool_choice = request.tools.length > 0 ? { type: 'any' } : { type: 'tool', name: STRUCTURED_OUTPUT_TOOL };
    }
  }
  if (tools.length > 0) body.tools = tools;
  return body;
}

const STOP: Record<string, StopReason> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
};

/** How many assistant messages' thinking blocks a client keeps for the tool loop. */
const THINKING_CACHE_SIZE = 512;

type StreamBlock = {
  kind: 'text' | 'tool_use' | 'thinking' | 'redacted_thinking' | 'other';
  id: string;
  name: string;
  json: string;
  thinking: string;
  signature: string;
  data: string;
};

/**
 * An Anthropic Messages API client (`POST {baseUrl}/v1/messages`, SSE); see {@link anthropicBody} for
 * how images, provider params and an output schema are sent.
 *
 * With an `outputSchema`, text is held until the message ends: when the model calls the
 * `structured_output` tool, the client yields the tool's input as the answer (one `text_delta` of its
 * JSON, unwrapped from `value` when the schema was wrapped) and `done` with `end_turn`, and drops any
 * text around it; when the model calls other tools too, those win (the answer call is dropped and the
 * turn goes on with `tool_use`); when it calls none, its text is yielded as it is.
 *
 * With extended thinking, the thinking blocks of each response that calls tools are kept in memory
 * (the last 512) and sent back ahead of those tool calls on the next request, as the API requires.
 */
export class AnthropicClient implements LlmClient {
  readonly provider = 'anthropic';
  private readonly options: AnthropicClientOptions;
  private readonly thinking = new Map<string, Block[]>();

  constructor(options: AnthropicClientOptions) {
    this.options = options;
  }

  private keepThinking(firstToolCallId: string, blocks: Block[]): void {
    this.thinking.set(firstToolCallId, blocks);
    while (this.thinking.size > THINKING_CACHE_SIZE) {
      const oldest = this.thinking.keys().next().value as string;
      this.thinking.delete(oldest);
    }
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
    const base = (this.options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
    const url = `${base}/v1/messages`;
    const headers = { 'x-api-key': this.options.apiKey, 'anthropic-version': this.options.version ?? '2023-06-01' };
    const body = anthropicBody(request, { thinkingFor: (id) => this.thinking.get(id) });
    const schema = request.outputSchema;
    const wrapped = schema !== undefined && answerToolSchema(schema).wrapped;
    const events = await postSse('anthropic', url, headers, body, signal, this.options.fetch ?? fetch);
    const blocks = new Map<number, StreamBlock>();
    const thinkingBlocks: Block[] = [];
    const calls: ToolCall[] = [];
    let answer: unknown;
    let answered = false;
    let heldText = '';
    let inputTokens = 0;
    let outputTokens = 0;
    let stop: StopReason | undefined;
    let stopped = false;
    for await (const ev of events) {
      if (ev.data === '') continue;
      const msg = parseSseJson('anthropic', ev.data);
      const type = (msg.type as string | undefined) ?? ev.event;
      switch (type) {
        case 'message_start': {
          const usage = ((msg.message as Record<string, unknown> | undefined)?.usage ?? {}) as {
            input_tokens?: number;
            output_tokens?: number;
          };
          inputTokens = usage.input_tokens ?? 0;
          outputTokens = usage.output_tokens ?? 0;
          break;
        }
        case 'content_block_start': {
          const block = (msg.content_block ?? {}) as {
            type?: string;
            id?: string;
            name?: string;
            text?: string;
            thinking?: string;
            signature?: string;
            data?: string;
          };
          const kind =
            block.type === 'text' ||
            block.type === 'tool_use' ||
            block.type === 'thinking' ||
            block.type === 'redacted_thinking'
              ? block.type
              : 'other';
          blocks.set(msg.index as number, {
            kind,
            id: block.id ?? '',
            name: block.name ?? '',
            json: '',
            thinking: block.thinking ?? '',
            signature: block.signature ?? '',
            data: block.data ?? '',
          });
          if (kind === 'text' && block.text) {
            if (schema === undefined) yield { type: 'text_delta', delta: block.text };
            else heldText += block.text;
          }
          break;
        }
        case 'content_block_delta': {
          const delta = (msg.delta ?? {}) as {
            type?: string;
            text?: string;
            partial_json?: string;
            thinking?: string;
            signature?: string;
          };
          const b = blocks.get(msg.index as number);
          if (delta.type === 'text_delta' && delta.text) {
            if (schema === undefined) yield { type: 'text_delta', delta: delta.text };
            else heldText += delta.text;
          } else if (delta.type === 'input_json_delta') {
            if (b) b.json += delta.partial_json ?? '';
          } else if (delta.type === 'thinking_delta') {
            if (b) b.thinking += delta.thinking ?? '';
          } else if (delta.type === 'signature_delta') {
            if (b) b.signature += delta.signature ?? '';
          }
          break;
        }
        case 'content_block_stop': {
          const b = blocks.get(msg.index as number);
          if (b?.kind === 'tool_use') {
            const args = parseToolArgs('anthropic', b.name, b.json);
            if (schema !== undefined && b.name === STRUCTURED_OUTPUT_TOOL) {
              const input = args as Record<string, unknown>;
              answer = wrapped && input !== null && typeof input === 'object' && 'value' in input ? input.value : args;
              answered = true;
            } else if (schema !== undefined) calls.push({ id: b.id, name: b.name, args });
            else {
              calls.push({ id: b.id, name: b.name, args });
              yield { type: 'tool_call_complete', id: b.id, name: b.name, args };
            }
          } else if (b?.kind === 'thinking') {
            thinkingBlocks.push({ type: 'thinking', thinking: b.thinking, signature: b.signature });
          } else if (b?.kind === 'redacted_thinking') {
            thinkingBlocks.push({ type: 'redacted_thinking', data: b.data });
          }
          break;
        }
        case 'message_delta': {
          const delta = (msg.delta ?? {}) as { stop_reason?: string };
          if (delta.stop_reason) stop = STOP[delta.stop_reason] ?? 'end_turn';
          const usage = (msg.usage ?? {}) as { output_tokens?: number; input_tokens?: number };
          if (usage.output_tokens !== undefined) outputTokens = usage.output_tokens;
          if (usage.input_tokens !== undefined) inputTokens = usage.input_tokens;
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        case 'error': {
          const err = (msg.error ?? {}) as { type?: string; message?: string };
          throw new MobRuntimeError(
            'PROVIDER_ERROR',
            `anthropic: stream error ${err.type ?? ''}: ${err.message ?? ''}`.trim(),
            {
              retryable: err.type === 'overloaded_error' || err.type === 'rate_limit_error',
              details: { provider: 'anthropic', errorType: err.type },
            },
          );
        }
        default:
          break; // ping and future event types
      }
      if (stopped) break;
    }
    if (signal.aborted) throw new MobRuntimeError('CANCELLED', 'anthropic stream cancelled');
    if (!stopped && stop === undefined)
      throw new MobRuntimeError('PROVIDER_ERROR', 'anthropic: stream ended before message_stop (incomplete response)');
    const first = calls[0];
    if (first && thinkingBlocks.length > 0) this.keepThinking(first.id, thinkingBlocks);
    if (schema !== undefined) {
      if (answered && calls.length === 0) {
        yield { type: 'text_delta', delta: JSON.stringify(answer) ?? 'null' };
        stop = 'end_turn';
      } else {
        if (heldText !== '') yield { type: 'text_delta', delta: heldText };
        for (const c of calls) yield { type: 'tool_call_complete', id: c.id, name: c.name, args: c.args };
        // A dropped answer call leaves other calls, so the turn goes on with them.
        if (answered) stop = 'tool_use';
      }
    }
    yield { type: 'usage', usage: { inputTokens, outputTokens } };
    yield { type: 'done', stopReason: stop ?? 'end_turn' };
  }
}
