import { MobRuntimeError } from '../errors.js';
import { parseSseJson, parseToolArgs, postSse } from './http.js';
import type { LlmClient, LlmEvent, LlmMessage, LlmRequest, StopReason } from './types.js';

/** Options of {@link OpenAiCompatibleClient}. */
export interface OpenAiCompatibleClientOptions {
  /** API key (sent as `Authorization: Bearer`); optional for keyless local servers (Ollama, vLLM). */
  apiKey?: string;
  /** Base URL up to `/v1` (default `https://api.openai.com/v1`). */
  baseUrl?: string;
  /** Provider label for errors and events (default `openai`). */
  provider?: string;
  /** `fetch` to use (default the global one). */
  fetch?: typeof fetch;
}

const FINISH: Record<string, StopReason> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  length: 'max_tokens',
  content_filter: 'content_filter',
};

/** One user message's content: the plain text, or text then images as content parts when it has images. */
function userContent(m: Extract<LlmMessage, { role: 'user' }>): string | unknown[] {
  if (!m.images || m.images.length === 0) return m.content;
  const parts: unknown[] = [];
  if (m.content !== '') parts.push({ type: 'text', text: m.content });
  for (const image of m.images) {
    const url = 'url' in image ? image.url : `data:${image.mediaType};base64,${image.data}`;
    parts.push({ type: 'image_url', image_url: { url } });
  }
  return parts;
}

/**
 * Builds the chat-completions body for a request.
 *
 * - A user message with `images` is sent as content parts: its text, then one `image_url` part per
 *   image (base64 images as a `data:<mediaType>;base64,…` URL, URL images as they are).
 * - `max_tokens` is `providerParams.maxOutputTokens`, else `request.maxTokens` (`max_tokens` rather than
 *   `max_completion_tokens`, which OpenAI-compatible servers such as vLLM and Ollama do not all accept).
 * - `temperature` is `providerParams.temperature`, else `request.temperature`; `top_p` is
 *   `providerParams.topP`; `user` is `providerParams.providerTag`.
 * - `providerParams.reasoning` and `thinkingBudgetTokens` send nothing: chat completions never streams a
 *   model's reasoning (so `emit` and `silent` behave alike), cannot turn reasoning `off`, and its only
 *   knob, `reasoning_effort`, is not among the provider params.
 * - `request.outputSchema` becomes `response_format: {type: 'json_schema', json_schema: {name: 'output',
 *   schema, strict: false}}` (not strict, so schemas outside OpenAI's strict subset still work); the mob
 *   validates the answer against the schema either way.
 */
export function openAiChatBody(request: LlmRequest): Record<string, unknown> {
  const messages: unknown[] = [];
  if (request.system) messages.push({ role: 'system', content: request.system });
  for (const m of request.messages) {
    if (m.role === 'user') messages.push({ role: 'user', content: userContent(m) });
    else if (m.role === 'assistant') {
      const msg: Record<string, unknown> = { role: 'assistant', content: m.content === '' ? null : m.content };
      if (m.toolCalls.length > 0) {
        msg.tool_calls = m.toolCalls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.args ?? {}) },
        }));
      }
      messages.push(msg);
    } else {
      for (const r of m.results) messages.push({ role: 'tool', tool_call_id: r.toolCallId, content: r.content });
    }
  }
  const params = request.providerParams ?? {};
  const body: Record<string, unknown> = {
    model: request.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: params.maxOutputTokens ?? request.maxTokens,
  };
  const temperature = params.temperature ?? request.temperature;
  if (temperature !== undefined) body.temperature = temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.providerTag !== undefined) body.user = params.providerTag;
  if (request.tools.length > 0) {
    body.tools = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.inputSchema },
    }));
  }
  if (request.outputSchema !== undefined) {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: 'output', schema: request.outputSchema, strict: false },
    };
  }
  return body;
}

/**
 * An OpenAI-compatible chat-completions client (`POST {baseUrl}/chat/completions`, SSE), for OpenAI,
 * vLLM, Ollama or any `OPENAI_BASE_URL`. Tool-call argument fragments are accumulated per index.
 */
export class OpenAiCompatibleClient implements LlmClient {
  readonly provider: string;
  private readonly options: OpenAiCompatibleClientOptions;

  constructor(options: OpenAiCompatibleClientOptions = {}) {
    this.options = options;
    this.provider = options.provider ?? 'openai';
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
    const base = (this.options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    const headers: Record<string, string> = {};
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const events = await postSse(
      this.provider,
      `${base}/chat/completions`,
      headers,
      openAiChatBody(request),
      signal,
      this.options.fetch ?? fetch,
    );
    const calls = new Map<number, { id: string; name: string; args: string }>();
    let finish: StopReason | undefined;
    let sawDone = false;
    const flushCalls = function* (provider: string): Generator<LlmEvent> {
      for (const [, c] of [...calls.entries()].sort((a, b) => a[0] - b[0])) {
        yield { type: 'tool_call_complete', id: c.id, name: c.name, args: parseToolArgs(provider, c.name, c.args) };
      }
      calls.clear();
    };
    for await (const ev of events) {
      if (ev.data === '[DONE]') {
        sawDone = true;
        break;
      }
      if (ev.data === '') continue;
      const chunk = parseSseJson(this.provider, ev.data);
      if (chunk.error) {
        const err = chunk.error as { message?: string };
        throw new MobRuntimeError(
          'PROVIDER_ERROR',
          `${this.provider}: stream error: ${err.message ?? JSON.stringify(chunk.error)}`,
        );
      }
      const usage = chunk.usage as { prompt_tokens?: number; completion_tokens?: number } | null | undefined;
      if (usage)
        yield {
          type: 'usage',
          usage: { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 },
        };
      const choices = (chunk.choices as Array<Record<string, unknown>> | undefined) ?? [];
      for (const choice of choices) {
        const delta = (choice.delta as Record<string, unknown> | undefined) ?? {};
        if (typeof delta.content === 'string' && delta.content !== '')
          yield { type: 'text_delta', delta: delta.content };
        const toolCalls = (delta.tool_calls as Array<Record<string, unknown>> | undefined) ?? [];
        for (const tc of toolCalls) {
          const index = typeof tc.index === 'number' ? tc.index : 0;
          const fn = (tc.function as { name?: string; arguments?: string } | undefined) ?? {};
          const entry = calls.get(index) ?? { id: '', name: '', args: '' };
          if (typeof tc.id === 'string' && tc.id) entry.id = tc.id;
          if (fn.name) entry.name += fn.name;
          if (fn.arguments) entry.args += fn.arguments;
          calls.set(index, entry);
        }
        if (typeof choice.finish_reason === 'string') finish = FINISH[choice.finish_reason] ?? 'end_turn';
      }
    }
    if (signal.aborted) throw new MobRuntimeError('CANCELLED', `${this.provider} stream cancelled`);
    if (!sawDone && finish === undefined)
      throw new MobRuntimeError(
        'PROVIDER_ERROR',
        `${this.provider}: stream ended before a finish_reason or [DONE] (incomplete response)`,
      );
    const hadCalls = calls.size > 0;
    yield* flushCalls(this.provider);
    yield { type: 'done', stopReason: finish ?? (hadCalls ? 'tool_use' : 'end_turn') };
  }
}
