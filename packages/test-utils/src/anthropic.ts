// A loopback fake of Anthropic's Messages API (POST /v1/messages, streamed as SSE in Anthropic's event
// format), for tests that run the real AnthropicClient of @mobkit/mob-adapter: answers are scripted by a
// function of the request and every request is recorded with its headers and full JSON body.
// node:http only, like the fake OpenAI server.
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A content block of a request message, as the client sent it (`text`, `image`, `tool_use`, `tool_result`, `thinking`, …). */
export type FakeAnthropicBlock = { type: string } & Record<string, unknown>;

/** A message of a request, its string content (if any) turned into one `text` block. */
export interface FakeAnthropicMessage {
  role: string;
  content: FakeAnthropicBlock[];
}

/** One request the fake received. */
export interface FakeAnthropicRequest {
  /** 0-based arrival order. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** Every request header, as node:http parsed them (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The `x-api-key` header, if any. */
  readonly apiKey: string | undefined;
  /** The full parsed JSON body, every field the client sent (undefined when it was not JSON). */
  readonly body: Record<string, unknown> | undefined;
  /** `body.model`. */
  readonly model: string;
  /** `body.system` as text (its text blocks joined by blank lines when it is a block list; '' when none). */
  readonly system: string;
  /** `body.messages`. */
  readonly messages: FakeAnthropicMessage[];
  /** The names of `body.tools`, in order. */
  readonly tools: string[];
  /** What it was answered with (set once the answer is known, before any delay). */
  reply: FakeAnthropicReply | undefined;
}

/** A `tool_use` block the fake makes the model emit. */
export interface FakeAnthropicCallSpec {
  name: string;
  /** The input (streamed as `input_json_delta` fragments). */
  input?: unknown;
  /** The block id (default `toolu_<request index>_<i>`, unique per fake). */
  id?: string;
}

/**
 * What the fake answers a request with:
 * - `{text}`: a streamed text block, stop reason `end_turn`;
 * - `{toolCalls}` (and optional `text` before them): `tool_use` blocks, stop reason `tool_use`;
 * - `{status, message}`: an HTTP error with Anthropic's `{"type":"error","error":{…}}` body;
 * - `{streamError}`: a 200 stream whose first event is an `error` event (type `errorType`, default
 *   `overloaded_error`).
 *
 * `thinking` puts a `thinking` block (with a signature `sig-<request index>`) before the rest;
 * `stopReason` overrides the stop reason; `delayMs` (default the fake's) waits before the first byte.
 */
export type FakeAnthropicReply = (
  | { text: string; toolCalls?: undefined }
  | { text?: string; toolCalls: FakeAnthropicCallSpec[] }
  | { status: number; message: string; errorType?: string }
  | { streamError: string; errorType?: string }
) & {
  thinking?: string;
  stopReason?: string;
  delayMs?: number;
  /** The usage figures (default: about 4 characters per token of the request and the answer). */
  usage?: { inputTokens: number; outputTokens: number };
};

/** Options of {@link startFakeAnthropic}. */
export interface FakeAnthropicOptions {
  /** Scripts the answer of each Messages request (may be async). Throwing answers HTTP 500 naming the error. */
  answer: (request: FakeAnthropicRequest) => FakeAnthropicReply | Promise<FakeAnthropicReply>;
  /** Wait this long before answering each request (default 0; a reply's own `delayMs` wins). */
  delayMs?: number;
  /** When set, a request without `x-api-key: <apiKey>` is answered 401. */
  apiKey?: string;
}

/** A running fake Anthropic server. */
export interface FakeAnthropic {
  /** The base URL (`http://127.0.0.1:<port>`): what `ANTHROPIC_BASE_URL` takes (`/v1/messages` is appended). */
  readonly url: string;
  /** Every request, in arrival order (Messages requests and anything else that reached the server). */
  readonly requests: FakeAnthropicRequest[];
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

function asMessages(value: unknown): FakeAnthropicMessage[] {
  if (!Array.isArray(value)) return [];
  return value.map((m) => {
    const raw = (m ?? {}) as Record<string, unknown>;
    const content: FakeAnthropicBlock[] =
      typeof raw.content === 'string'
        ? [{ type: 'text', text: raw.content }]
        : Array.isArray(raw.content)
          ? (raw.content as FakeAnthropicBlock[])
          : [];
    return { role: typeof raw.role === 'string' ? raw.role : '', content };
  });
}

function systemText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  return (value as Array<{ type?: unknown; text?: unknown }>)
    .filter((b) => b?.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n\n');
}

function toolNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((t) => {
    const name = ((t ?? {}) as { name?: unknown }).name;
    return typeof name === 'string' ? name : '';
  });
}

const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

const halves = (text: string) => {
  const cut = Math.ceil(text.length / 2);
  return [text.slice(0, cut), text.slice(cut)].filter((part) => part !== '');
};

/** The SSE events of an answer, in the order the real API streams them. */
function frames(request: FakeAnthropicRequest, reply: FakeAnthropicReply): string[] {
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  if ('streamError' in reply)
    return [event('error', { error: { type: reply.errorType ?? 'overloaded_error', message: reply.streamError } })];
  const text = 'text' in reply && typeof reply.text === 'string' ? reply.text : '';
  const calls = 'toolCalls' in reply && reply.toolCalls ? reply.toolCalls : [];
  const inputTokens = reply.usage?.inputTokens ?? estimateTokens(JSON.stringify(request.messages));
  const outputTokens =
    reply.usage?.outputTokens ?? estimateTokens((reply.thinking ?? '') + text + JSON.stringify(calls));
  const out: string[] = [
    event('message_start', {
      message: {
        id: `msg_fake_${request.index}`,
        type: 'message',
        role: 'assistant',
        content: [],
        model: request.model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1 },
      },
    }),
    event('ping', {}),
  ];
  let index = 0;
  if (reply.thinking !== undefined) {
    out.push(event('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
    for (const part of halves(reply.thinking))
      out.push(event('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: part } }));
    out.push(
      event('content_block_delta', { index, delta: { type: 'signature_delta', signature: `sig-${request.index}` } }),
    );
    out.push(event('content_block_stop', { index }));
    index++;
  }
  if (text !== '') {
    out.push(event('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    // Text in two deltas (the client must concatenate them).
    for (const part of halves(text))
      out.push(event('content_block_delta', { index, delta: { type: 'text_delta', text: part } }));
    out.push(event('content_block_stop', { index }));
    index++;
  }
  calls.forEach((call, i) => {
    const id = call.id ?? `toolu_${request.index}_${i}`;
    out.push(
      event('content_block_start', { index, content_block: { type: 'tool_use', id, name: call.name, input: {} } }),
    );
    for (const fragment of halves(JSON.stringify(call.input ?? {})))
      out.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: fragment } }));
    out.push(event('content_block_stop', { index }));
    index++;
  });
  out.push(
    event('message_delta', {
      delta: { stop_reason: reply.stopReason ?? (calls.length > 0 ? 'tool_use' : 'end_turn'), stop_sequence: null },
      usage: { output_tokens: outputTokens },
    }),
  );
  out.push(event('message_stop', {}));
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => resolveBody(text));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ type: 'error', error: { type, message } }));
}

/**
 * Starts a fake Anthropic Messages server on 127.0.0.1 (a free port). It serves `POST /v1/messages`
 * with `stream: true` as the real API streams it: `message_start`, a `ping`, then per content block
 * (`thinking` with `thinking_delta`s and a `signature_delta`, `text` with `text_delta`s, `tool_use` with
 * `input_json_delta` fragments) `content_block_start`/`content_block_delta`/`content_block_stop`, then
 * `message_delta` with the stop reason and usage, and `message_stop`. Each answer is
 * `options.answer(request)`; see {@link FakeAnthropicReply}. Any other path is 404 and a body that is not
 * JSON is 400, both with Anthropic's error body.
 *
 * @example
 * const anthropic = await startFakeAnthropic({ answer: () => ({ text: 'ok' }) });
 * const client = new AnthropicClient({ apiKey: 'test', baseUrl: anthropic.url });
 * // … anthropic.requests[0].body is what the client sent
 * await anthropic.close();
 */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const requests: FakeAnthropicRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    let body: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        body = parsed as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const apiKey = req.headers['x-api-key'];
    const request: FakeAnthropicRequest = {
      index: requests.length,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] as string,
      headers: req.headers,
      apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
      body,
      model: typeof body?.model === 'string' ? body.model : '',
      system: systemText(body?.system),
      messages: asMessages(body?.messages),
      tools: toolNames(body?.tools),
      reply: undefined,
    };
    requests.push(request);
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    if (request.method !== 'POST' || request.path !== '/v1/messages') {
      sendError(res, 404, 'not_found_error', `no route ${request.method} ${request.path} on the fake Anthropic server`);
      return;
    }
    if (options.apiKey !== undefined && request.apiKey !== options.apiKey) {
      sendError(res, 401, 'authentication_error', 'invalid x-api-key');
      return;
    }
    if (body === undefined) {
      sendError(res, 400, 'invalid_request_error', 'the body is not a JSON object');
      return;
    }
    let reply: FakeAnthropicReply;
    try {
      reply = await options.answer(request);
    } catch (error) {
      sendError(res, 500, 'api_error', `the fake's answer script threw: ${(error as Error).message}`);
      return;
    }
    request.reply = reply;
    const delayMs = reply.delayMs ?? options.delayMs ?? 0;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (closed) return;
    if ('status' in reply) {
      sendError(res, reply.status, reply.errorType ?? 'api_error', reply.message);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    for (const frame of frames(request, reply)) res.write(frame);
    res.end();
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'api_error', `fake Anthropic server: ${String(error)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close() {
      return new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}
