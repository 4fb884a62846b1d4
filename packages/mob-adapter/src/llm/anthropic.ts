import { MobRuntimeError } from '../errors.js';
import { parseSseJson, parseToolArgs, postSse } from './http.js';
import type { LlmClient, LlmEvent, LlmRequest, StopReason } from './types.js';

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

/** Builds the Messages API body for a request (consecutive user-side messages are merged). */
export function anthropicBody(request: LlmRequest): Record<string, unknown> {
  const messages: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of request.messages) {
    if (m.role === 'user') push('user', [{ type: 'text', text: m.content }]);
    else if (m.role === 'assistant') {
      const blocks: Block[] = [];
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
  const body: Record<string, unknown> = { model: request.model, max_tokens: request.maxTokens, messages, stream: true };
  if (request.system) body.system = request.system;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.tools.length > 0)
    body.tools = request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
  return body;
}

const STOP: Record<string, StopReason> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  refusal: 'content_filter',
};

/** An Anthropic Messages API client (`POST {baseUrl}/v1/messages`, SSE). */
export class AnthropicClient implements LlmClient {
  readonly provider = 'anthropic';
  private readonly options: AnthropicClientOptions;

  constructor(options: AnthropicClientOptions) {
    this.options = options;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
    const base = (this.options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
    const url = `${base}/v1/messages`;
    const headers = { 'x-api-key': this.options.apiKey, 'anthropic-version': this.options.version ?? '2023-06-01' };
    const events = await postSse(
      'anthropic',
      url,
      headers,
      anthropicBody(request),
      signal,
      this.options.fetch ?? fetch,
    );
    const blocks = new Map<number, { kind: 'text' | 'tool_use' | 'other'; id: string; name: string; json: string }>();
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
          const block = (msg.content_block ?? {}) as { type?: string; id?: string; name?: string; text?: string };
          const kind = block.type === 'text' ? 'text' : block.type === 'tool_use' ? 'tool_use' : 'other';
          blocks.set(msg.index as number, { kind, id: block.id ?? '', name: block.name ?? '', json: '' });
          if (kind === 'text' && block.text) yield { type: 'text_delta', delta: block.text };
          break;
        }
        case 'content_block_delta': {
          const delta = (msg.delta ?? {}) as { type?: string; text?: string; partial_json?: string };
          if (delta.type === 'text_delta' && delta.text) yield { type: 'text_delta', delta: delta.text };
          else if (delta.type === 'input_json_delta') {
            const b = blocks.get(msg.index as number);
            if (b) b.json += delta.partial_json ?? '';
          }
          break;
        }
        case 'content_block_stop': {
          const b = blocks.get(msg.index as number);
          if (b?.kind === 'tool_use')
            yield {
              type: 'tool_call_complete',
              id: b.id,
              name: b.name,
              args: parseToolArgs('anthropic', b.name, b.json),
            };
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
    yield { type: 'usage', usage: { inputTokens, outputTokens } };
    yield { type: 'done', stopReason: stop ?? 'end_turn' };
  }
}
