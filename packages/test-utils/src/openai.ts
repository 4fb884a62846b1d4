// A loopback fake of the OpenAI Chat Completions API (POST /v1/chat/completions, streamed as SSE), for
// tests and benches that run members through the real OpenAI-compatible client of @mobkit/mob-adapter:
// answers are scripted by a function of the request, can be delayed or held open until released, and
// every request is recorded. node:http only, so a bench can load it without the workspace's deps.
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tool call in a chat message, as OpenAI sends it. */
export interface FakeOpenAiToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A chat message of a request, as the client sent it (`system`, `user`, `assistant` or `tool`). */
export interface FakeOpenAiMessage {
  role: string;
  /**
   * The text; null on an assistant message that only calls tools. A message sent as content parts
   * has the text of its `text` parts here (joined by blank lines) and its images in {@link images}.
   */
  content: string | null;
  /** The `image_url` URLs of a message sent as content parts (data URLs included), in order. */
  images?: string[];
  /** An assistant message's tool calls. */
  tool_calls?: FakeOpenAiToolCall[];
  /** A `tool` message's call id. */
  tool_call_id?: string;
}

/** How one request ended, as far as the fake knows. */
export type FakeOpenAiRequestState =
  /** Received; its answer is being computed or delayed. */
  | 'pending'
  /** Held open by a `hold` answer until {@link FakeOpenAi.release}. */
  | 'held'
  /** Its whole answer was written and the response ended. */
  | 'answered'
  /** The client went away (aborted, or its process died) before the answer ended. */
  | 'aborted';

/** One request the fake received. */
export interface FakeOpenAiRequest {
  /** 0-based arrival order. */
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** The `Authorization` header, if any. */
  readonly authorization: string | undefined;
  /** Every request header, as node:http parsed them (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** The full parsed JSON body, every field the client sent (undefined when it was not JSON). */
  readonly body: Record<string, unknown> | undefined;
  /** `body.model`. */
  readonly model: string;
  /** `body.messages`. */
  readonly messages: FakeOpenAiMessage[];
  /** The names of `body.tools`, in order. */
  readonly tools: string[];
  /** The text of the system message(s), joined by blank lines ('' when none). */
  readonly system: string;
  state: FakeOpenAiRequestState;
  /** What it was answered with (set once the answer is known, before any delay). */
  reply: FakeOpenAiReply | undefined;
}

/** A tool call the fake makes the model ask for. */
export interface FakeOpenAiCallSpec {
  name: string;
  /** The arguments (sent as JSON). */
  args?: unknown;
  /** The call id (default `call_<request index>_<i>`, unique per fake). */
  id?: string;
}

/**
 * What the fake answers a request with:
 * - `{text}`: streamed text, finish `stop`;
 * - `{toolCalls}` (and optional `text`): the model asks for those tools, finish `tool_calls`;
 * - `{status, message}`: an HTTP error with OpenAI's `{"error":{…}}` body;
 * - `{streamError}`: a 200 stream that carries `{"error":{"message"}}` as its first chunk.
 *
 * Any of them may carry `hold: true`: the response headers are sent, then the request waits (state
 * `held`) until {@link FakeOpenAi.release} — or until the client goes away (state `aborted`).
 * `delayMs` (default the fake's `delayMs`) waits before the first byte.
 */
export type FakeOpenAiReply = (
  | { text: string; toolCalls?: undefined }
  | { text?: string; toolCalls: FakeOpenAiCallSpec[] }
  | { status: number; message: string }
  | { streamError: string }
) & {
  hold?: boolean;
  delayMs?: number;
  /** The usage chunk's figures (default: about 4 characters per token of the request and the answer). */
  usage?: { promptTokens: number; completionTokens: number };
};

/** Options of {@link startFakeOpenAi}. */
export interface FakeOpenAiOptions {
  /** Scripts the answer of each chat-completions request (may be async). Throwing answers HTTP 500 naming the error. */
  answer: (request: FakeOpenAiRequest) => FakeOpenAiReply | Promise<FakeOpenAiReply>;
  /** Wait this long before answering each request (default 0; a reply's own `delayMs` wins). */
  delayMs?: number;
  /** When set, a request without `Authorization: Bearer <apiKey>` is answered 401. */
  apiKey?: string;
}

/** A running fake OpenAI server. */
export interface FakeOpenAi {
  /** The base URL up to `/v1` (`http://127.0.0.1:<port>/v1`): what `OPENAI_BASE_URL` takes. */
  readonly url: string;
  /** Every request, in arrival order (chat completions and anything else that reached the server). */
  readonly requests: FakeOpenAiRequest[];
  /** The requests currently held open. */
  held(): FakeOpenAiRequest[];
  /**
   * Ends the hold of `request` (default: every held request), which then gets its answer. Returns
   * how many were released (an already aborted request is not).
   */
  release(request?: FakeOpenAiRequest): number;
  /**
   * Resolves with the first request (already received or arriving later) for which `predicate` is
   * true, once its state is `state` (default: as soon as it is received); rejects after `timeoutMs`
   * (default 30 s) naming `what`.
   */
  waitForRequest(
    what: string,
    predicate: (request: FakeOpenAiRequest) => boolean,
    options?: { state?: FakeOpenAiRequestState; timeoutMs?: number },
  ): Promise<FakeOpenAiRequest>;
  /** Stops listening and drops every open connection (held requests included). */
  close(): Promise<void>;
}

function asMessages(value: unknown): FakeOpenAiMessage[] {
  if (!Array.isArray(value)) return [];
  return value.map((m) => {
    const raw = (m ?? {}) as Record<string, unknown>;
    const message: FakeOpenAiMessage = {
      role: typeof raw.role === 'string' ? raw.role : '',
      content: typeof raw.content === 'string' ? raw.content : null,
    };
    if (Array.isArray(raw.content)) {
      const parts = raw.content as Array<{ type?: unknown; text?: unknown; image_url?: { url?: unknown } }>;
      message.content = parts
        .filter((p) => p?.type === 'text' && typeof p.text === 'string')
        .map((p) => p.text as string)
        .join('\n\n');
      message.images = parts
        .filter((p) => p?.type === 'image_url' && typeof p.image_url?.url === 'string')
        .map((p) => p.image_url?.url as string);
    }
    if (Array.isArray(raw.tool_calls)) message.tool_calls = raw.tool_calls as FakeOpenAiToolCall[];
    if (typeof raw.tool_call_id === 'string') message.tool_call_id = raw.tool_call_id;
    return message;
  });
}

function toolNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((t) => {
    const fn = ((t ?? {}) as { function?: { name?: unknown } }).function;
    return typeof fn?.name === 'string' ? fn.name : '';
  });
}

const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

/** The SSE frames of an answer: deltas as the real API streams them, then usage, then `[DONE]`. */
function frames(request: FakeOpenAiRequest, reply: FakeOpenAiReply): string[] {
  const id = `chatcmpl-fake-${request.index}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: request.model, choices, ...extra })}\n\n`;
  if ('streamError' in reply) return [`data: ${JSON.stringify({ error: { message: reply.streamError } })}\n\n`];
  const out: string[] = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])];
  const text = 'text' in reply && typeof reply.text === 'string' ? reply.text : '';
  // Text in two deltas (the client must concatenate them).
  const cut = Math.ceil(text.length / 2);
  for (const part of [text.slice(0, cut), text.slice(cut)]) {
    if (part !== '') out.push(chunk([{ index: 0, delta: { content: part }, finish_reason: null }]));
  }
  const calls = 'toolCalls' in reply && reply.toolCalls ? reply.toolCalls : [];
  calls.forEach((call, i) => {
    const args = JSON.stringify(call.args ?? {});
    const half = Math.ceil(args.length / 2);
    // The first delta of a call names it; its arguments follow in fragments (accumulated by index).
    out.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: i,
                id: call.id ?? `call_${request.index}_${i}`,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ]),
    );
    for (const fragment of [args.slice(0, half), args.slice(half)]) {
      if (fragment === '') continue;
      out.push(
        chunk([
          { index: 0, delta: { tool_calls: [{ index: i, function: { arguments: fragment } }] }, finish_reason: null },
        ]),
      );
    }
  });
  out.push(chunk([{ index: 0, delta: {}, finish_reason: calls.length > 0 ? 'tool_calls' : 'stop' }]));
  const promptTokens =
    reply.usage?.promptTokens ?? estimateTokens(request.messages.map((m) => m.content ?? '').join('\n'));
  const completionTokens = reply.usage?.completionTokens ?? estimateTokens(text + JSON.stringify(calls));
  out.push(
    chunk([], {
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    }),
  );
  out.push('data: [DONE]\n\n');
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const openAiError = (message: string, type: string) => ({ error: { message, type, param: null, code: null } });

/**
 * Starts a fake OpenAI-compatible Chat Completions server on 127.0.0.1 (a free port). It serves
 * `POST /v1/chat/completions` with `stream: true` the way `OpenAiCompatibleClient` reads it: `data: {…}`
 * chunks (text deltas, tool-call deltas with arguments in fragments, a `finish_reason` chunk, a usage
 * chunk) ending with `data: [DONE]`. Each answer is `options.answer(request)`; see
 * {@link FakeOpenAiReply} for text, tool calls, errors, delays and holding a request open (to kill the
 * caller mid-turn). Any other path is 404 and a body that is not JSON is 400, both with OpenAI's error body.
 *
 * @example
 * const openai = await startFakeOpenAi({ answer: (r) => (r.tools.includes('send_message')
 *   ? { toolCalls: [{ name: 'send_message', args: { peer_id: 'w-1', body: 'go' } }] } : { text: 'ok' }) });
 * // env for the app: OPENAI_API_KEY=test, OPENAI_BASE_URL=openai.url
 * await openai.close();
 */
export async function startFakeOpenAi(options: FakeOpenAiOptions): Promise<FakeOpenAi> {
  const requests: FakeOpenAiRequest[] = [];
  let closing = false;
  const releases = new Map<FakeOpenAiRequest, () => void>();
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const watcher of [...watchers]) watcher();
  };
  const setState = (request: FakeOpenAiRequest, state: FakeOpenAiRequestState) => {
    request.state = state;
    notify();
  };

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
    const messages = asMessages(body?.messages);
    const request: FakeOpenAiRequest = {
      index: requests.length,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] as string,
      authorization: req.headers.authorization,
      headers: req.headers,
      body,
      model: typeof body?.model === 'string' ? body.model : '',
      messages,
      tools: toolNames(body?.tools),
      system: messages
        .filter((m) => m.role === 'system')
        .map((m) => m.content ?? '')
        .join('\n\n'),
      state: 'pending',
      reply: undefined,
    };
    requests.push(request);
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (request.state !== 'answered') {
        releases.get(request)?.();
        setState(request, 'aborted');
      }
    });
    const finish = (status: number, payload: unknown) => {
      if (closed) return;
      sendJson(res, status, payload);
      setState(request, 'answered');
    };
    if (request.method !== 'POST' || request.path !== '/v1/chat/completions') {
      finish(404, openAiError(`no route ${request.method} ${request.path} on the fake OpenAI server`, 'not_found'));
      return;
    }
    if (options.apiKey !== undefined && request.authorization !== `Bearer ${options.apiKey}`) {
      finish(401, openAiError('Incorrect API key provided', 'invalid_request_error'));
      return;
    }
    if (body === undefined) {
      finish(400, openAiError('the body is not a JSON object', 'invalid_request_error'));
      return;
    }
    notify();
    let reply: FakeOpenAiReply;
    try {
      reply = await options.answer(request);
    } catch (error) {
      finish(500, openAiError(`the fake's answer script threw: ${(error as Error).message}`, 'server_error'));
      return;
    }
    request.reply = reply;
    const delayMs = reply.delayMs ?? options.delayMs ?? 0;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (closed) return;
    if ('status' in reply) {
      finish(reply.status, openAiError(reply.message, 'server_error'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (reply.hold) {
      res.flushHeaders();
      await new Promise<void>((resolveHold) => {
        releases.set(request, resolveHold);
        setState(request, 'held');
      });
      releases.delete(request);
      if (closed || closing) return;
    }
    for (const frame of frames(request, reply)) res.write(frame);
    res.end();
    setState(request, 'answered');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, openAiError(`fake OpenAI server: ${String(error)}`, 'server_error'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    held: () => requests.filter((r) => r.state === 'held'),
    release(request) {
      const targets = request === undefined ? [...releases.keys()] : releases.has(request) ? [request] : [];
      for (const target of targets) {
        releases.get(target)?.();
        releases.delete(target);
      }
      return targets.length;
    },
    waitForRequest(what, predicate, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 30_000;
      const matches = () =>
        requests.find((r) => predicate(r) && (waitOptions.state === undefined || r.state === waitOptions.state));
      return new Promise((resolveWait, reject) => {
        const found = matches();
        if (found) {
          resolveWait(found);
          return;
        }
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what} (the fake OpenAI server got ${requests.length} requests)`,
            ),
          );
        }, timeoutMs);
        function check() {
          const hit = matches();
          if (!hit) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolveWait(hit);
        }
        watchers.add(check);
      });
    },
    close() {
      closing = true;
      for (const release of releases.values()) release();
      releases.clear();
      return new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
    },
  };
}
