import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { isMobKitError } from '@mobkit/core';
import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import { requireConsoleAuth, type RequireConsoleAuthOptions } from '@mobkit/auth-policy/express';
import { CONSOLE_APP_ASSET, consoleHtml } from './console-html.js';
import { CONSOLE_CONTRACT_VERSION, TERMINAL_EVENT_TYPES, buildConsoleExperience } from './experience.js';
import { jsonErrorHandler, sendError, snakeCode } from './http-errors.js';
import { ReplayBuffer, SseConnection, formatSseFrame, type SseDropInfo } from './sse.js';
import type { ReferenceAppRuntimeSurface, SurfaceAgentEvent } from './surface.js';

/** The JSON-RPC handler the router serves at `POST /rpc` (mobkit's `createRpcHandler(runtime)`). */
export interface ReferenceAppRpcHandler {
  /** Serves raw JSON-RPC text (a request or a batch); `undefined` means nothing to send (notifications → 204). */
  handleText(text: string): Promise<unknown | undefined>;
}

/** Options of {@link buildReferenceAppRouter}. */
export interface ReferenceAppRouterOptions {
  /** Serves `POST /rpc` and `POST /console/rpc`. */
  rpcHandler: ReferenceAppRpcHandler;
  /** Interval of the SSE `: keep-alive` comments, in ms (default 15 000). */
  keepAliveMs?: number;
  /** Agent events kept for `Last-Event-ID` resume (default 2048; the oldest fall out first). */
  replayBufferSize?: number;
  /**
   * Hard cap of bytes queued for one SSE client (default 4 MiB): past it the client is dropped at once.
   * A short burst above the socket's high-water mark is fine; a queue that stays full is caught by
   * `slowClientTimeoutMs`.
   */
  maxBufferedBytes?: number;
  /** How long an SSE client's queue may stay full (not drain) before it is dropped, in ms (default 30 000). */
  slowClientTimeoutMs?: number;
  /** Open SSE streams at most; more get 503 `too_many_streams` (default 2048). */
  maxStreams?: number;
  /** Largest `POST /rpc` body in bytes (default 1 MiB); larger is 413 `payload_too_large`. */
  maxRpcBodyBytes?: number;
  /** Largest `POST /interactions/stream` body in bytes (default 64 KiB). */
  maxInteractionBodyBytes?: number;
  /** An interaction stream with no event for this long ends, in ms (default 300 000, as the original). */
  interactionIdleTimeoutMs?: number;
  /**
   * What `POST /rpc` and `/console/rpc` accept when console auth is OFF: `'all'` (default) or `'read-only'`
   * (only {@link READ_ONLY_RPC_METHODS}; any other method makes the whole request HTTP 403 with JSON-RPC
   * error -32600, as the original's later `/console/rpc`). With auth on, a valid token allows every method.
   */
  rpcWithoutAuth?: 'all' | 'read-only';
  /** Options of the console auth middleware (`requireConsoleAuth`), e.g. `onRefused` for logging. */
  auth?: RequireConsoleAuthOptions;
  /**
   * Also require auth for the console page and its script (default false: the page is a static shell
   * that holds no data and asks for a token; every data route is guarded). When true, open the page as
   * `/console?auth_token=<token>`.
   */
  guardConsoleShell?: boolean;
  /** Aborting it closes every open stream and detaches from the runtime (for graceful shutdown). */
  signal?: AbortSignal;
  /** Called when a slow SSE client is dropped. Must not throw. */
  onStreamDropped?: (info: SseDropInfo) => void;
  /** Called with every unexpected (500) failure, for logging. Must not throw. */
  onError?: (error: unknown) => void;
  /** Directory of the console's bundled assets (default: the package's `dist/console`). */
  consoleAssetsDir?: string;
}

/** Defaults of {@link ReferenceAppRouterOptions}. */
export const REFERENCE_APP_DEFAULTS = {
  keepAliveMs: 15_000,
  replayBufferSize: 2048,
  maxBufferedBytes: 4 * 1024 * 1024,
  slowClientTimeoutMs: 30_000,
  maxStreams: 2048,
  maxRpcBodyBytes: 1024 * 1024,
  maxInteractionBodyBytes: 64 * 1024,
  interactionIdleTimeoutMs: 300_000,
} as const;

/** The JSON-RPC methods `rpcWithoutAuth: 'read-only'` lets through without console auth (the original's allowlist). */
export const READ_ONLY_RPC_METHODS: readonly string[] = [
  'status',
  'capabilities',
  'list_members',
  'get_member',
  'find_members',
  'member_status',
  'member_current_session_id',
  'member_session_ref',
  'collect_completed',
  'flow_status',
  'query_events',
  'cross_mob/directory',
  'cross_mob/peer_info',
].map((m) => `mobkit/${m}`);

/** The methods of a JSON-RPC text that are not read-only, or undefined when it does not parse (the handler answers that). */
function mutatingMethods(text: string): string[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const entries = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const entry of entries) {
    const method = entry !== null && typeof entry === 'object' ? (entry as { method?: unknown }).method : undefined;
    if (typeof method === 'string' && !READ_ONLY_RPC_METHODS.includes(method)) out.push(method);
  }
  return out;
}

/** Agent event types that end an interaction stream. */

/**
 * Where the console bundle lives: `dist/console` next to the built `index.js`, or, when this module runs
 * from its TypeScript sources (tests), the package's `dist/console`.
 */
export function defaultConsoleAssetsDir(): string {
  const candidates = [new URL('./console/', import.meta.url), new URL('../dist/console/', import.meta.url)].map((u) =>
    fileURLToPath(u),
  );
  return candidates.find((dir) => existsSync(`${dir}${CONSOLE_APP_ASSET}`)) ?? (candidates[0] as string);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`buildReferenceAppRouter: options.${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Fans the runtime's agent events out to SSE clients and keeps the bounded replay buffer. */
class AgentEventHub {
  readonly buffer: ReplayBuffer<SurfaceAgentEvent>;
  // Listeners of every member, and listeners of one member by id: an event visits only its own.
  private readonly all = new Set<(e: SurfaceAgentEvent) => void>();
  private readonly byMember = new Map<string, Set<(e: SurfaceAgentEvent) => void>>();
  private readonly detach: () => void;

  constructor(surface: ReferenceAppRuntimeSurface, capacity: number) {
    this.buffer = new ReplayBuffer(capacity);
    let detach: () => void = () => undefined;
    if (surface.mobId() !== undefined) detach = surface.subscribeAgentEvents((event) => this.publish(event));
    this.detach = detach;
  }

  /** The seq of the newest event seen (−1: none). */
  lastSeq = -1;

  private publish(event: SurfaceAgentEvent): void {
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    this.buffer.push(event);
    // A Set may lose members while it is iterated (a listener ending its stream), so no copy is needed.
    for (const fn of this.all) fn(event);
    const own = this.byMember.get(event.memberId);
    if (own) for (const fn of own) fn(event);
  }

  listen(fn: (e: SurfaceAgentEvent) => void, member?: string): () => void {
    if (member === undefined) {
      this.all.add(fn);
      return () => this.all.delete(fn);
    }
    let set = this.byMember.get(member);
    if (!set) this.byMember.set(member, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.byMember.get(member) === set) this.byMember.delete(member);
    };
  }

  close(): void {
    this.detach();
    this.all.clear();
    this.byMember.clear();
  }
}

/** The seq after `<prefix>:` in `Last-Event-ID` (or `?last_event_id=`), or undefined. */
function resumeFrom(req: Request, prefix: string): { raw: string; seq: number } | undefined {
  const header = req.get('last-event-id');
  const query = typeof req.query.last_event_id === 'string' ? req.query.last_event_id : undefined;
  const raw = (header ?? query)?.trim();
  if (raw === undefined || !raw.startsWith(`${prefix}:`)) return undefined;
  const digits = raw.slice(prefix.length + 1);
  if (!/^\d{1,15}$/.test(digits)) return undefined;
  return { raw, seq: Number(digits) };
}

// Each event is encoded once per stream kind and shared by every client (fan-out costs one write each).
const mobFrames = new WeakMap<SurfaceAgentEvent, string>();
const agentFrames = new WeakMap<SurfaceAgentEvent, string>();

function mobFrame(e: SurfaceAgentEvent): string {
  let text = mobFrames.get(e);
  if (text === undefined) {
    text = formatSseFrame({
      id: `mob:${e.seq}`,
      event: e.type,
      data: JSON.stringify({ member_id: e.memberId, source: 'agent', payload: e.payload, timestamp_ms: e.timestampMs }),
    });
    mobFrames.set(e, text);
  }
  return text;
}

function agentFrame(e: SurfaceAgentEvent): string {
  let text = agentFrames.get(e);
  if (text === undefined) {
    text = formatSseFrame({ id: `${e.memberId}:${e.seq}`, event: e.type, data: JSON.stringify(e.payload) });
    agentFrames.set(e, text);
  }
  return text;
}

function parseJsonObject(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'string' || body.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * The reference app's HTTP edge as an Express router (spec §15), over a runtime surface, the runtime
 * decision state and an RPC handler:
 *
 * - `GET /healthz` → `ok` (never behind auth);
 * - `GET /console`, `/console/`, `/console/assets/*` — the console page and its bundled script;
 * - `GET /console/experience`, `GET /console/modules` — the v0.2.0 JSON contracts;
 * - `GET /mob/events`, `GET /agents/:id/events` — SSE with ids `mob:<seq>` / `<agent>:<seq>`, `Last-Event-ID`
 *   resume from a bounded replay buffer, keep-alive comments, slow clients dropped;
 * - `POST /interactions/stream` `{member_id, message?}` — one member's events until a terminal event;
 * - `POST /rpc`, `POST /console/rpc` — JSON-RPC (batches too) through `rpcHandler`, body size limited.
 *
 * With `decisionState.console.requireAppAuth` every route but `/healthz` (and, unless `guardConsoleShell`,
 * the static page shell) goes through `requireConsoleAuth`: console JSON, SSE, interactions and RPC alike.
 * Errors are JSON `{"error":"<code>"}` bodies, never stack traces.
 */
export function buildReferenceAppRouter(
  surface: ReferenceAppRuntimeSurface,
  decisionState: RuntimeDecisionState,
  options: ReferenceAppRouterOptions,
): Router {
  if (options === null || typeof options !== 'object' || typeof options.rpcHandler?.handleText !== 'function') {
    throw new TypeError(
      'buildReferenceAppRouter: options.rpcHandler must be an object with handleText(text) (e.g. createRpcHandler(runtime))',
    );
  }
  const keepAliveMs = positive('keepAliveMs', options.keepAliveMs, REFERENCE_APP_DEFAULTS.keepAliveMs);
  const replayBufferSize = positive(
    'replayBufferSize',
    options.replayBufferSize,
    REFERENCE_APP_DEFAULTS.replayBufferSize,
  );
  const maxBufferedBytes = positive(
    'maxBufferedBytes',
    options.maxBufferedBytes,
    REFERENCE_APP_DEFAULTS.maxBufferedBytes,
  );
  const slowClientTimeoutMs = positive(
    'slowClientTimeoutMs',
    options.slowClientTimeoutMs,
    REFERENCE_APP_DEFAULTS.slowClientTimeoutMs,
  );
  const maxStreams = positive('maxStreams', options.maxStreams, REFERENCE_APP_DEFAULTS.maxStreams);
  const maxRpcBodyBytes = positive('maxRpcBodyBytes', options.maxRpcBodyBytes, REFERENCE_APP_DEFAULTS.maxRpcBodyBytes);
  const maxInteractionBodyBytes = positive(
    'maxInteractionBodyBytes',
    options.maxInteractionBodyBytes,
    REFERENCE_APP_DEFAULTS.maxInteractionBodyBytes,
  );
  const interactionIdleTimeoutMs = positive(
    'interactionIdleTimeoutMs',
    options.interactionIdleTimeoutMs,
    REFERENCE_APP_DEFAULTS.interactionIdleTimeoutMs,
  );
  if (
    options.rpcWithoutAuth !== undefined &&
    options.rpcWithoutAuth !== 'all' &&
    options.rpcWithoutAuth !== 'read-only'
  ) {
    throw new TypeError(
      `buildReferenceAppRouter: options.rpcWithoutAuth must be 'all' or 'read-only', got ${JSON.stringify(options.rpcWithoutAuth)}`,
    );
  }
  const assetsDir = options.consoleAssetsDir ?? defaultConsoleAssetsDir();
  const trustedModules = decisionState.modules.map((m) => m.id);
  const requireAuth = decisionState.console.requireAppAuth;
  // requireConsoleAuth's default leeway is 30 s.
  const authLeewaySeconds = options.auth?.leewaySeconds ?? 30;

  const router: Router = express.Router();
  const guard: RequestHandler = requireConsoleAuth(decisionState, options.auth ?? {});
  const shellGuard: RequestHandler = options.guardConsoleShell ? guard : (_req, _res, next) => next();
  const hub = new AgentEventHub(surface, replayBufferSize);
  const open = new Set<SseConnection>();
  let closed = false;

  const shutdown = () => {
    closed = true;
    hub.close();
    for (const conn of [...open]) conn.end();
  };
  if (options.signal?.aborted) shutdown();
  else options.signal?.addEventListener('abort', shutdown, { once: true });

  /** Opens an SSE response, or answers 503 when the stream cap is reached or the router is closed. */
  const openStream = (req: Request, res: Response, route: string): SseConnection | undefined => {
    if (closed) {
      sendError(res, 503, 'shutting_down', 'the server is shutting down');
      return undefined;
    }
    if (open.size >= maxStreams) {
      sendError(
        res,
        503,
        'too_many_streams',
        `at most ${maxStreams} event streams may be open at once; close one and retry`,
      );
      return undefined;
    }
    const conn = new SseConnection(req, res, {
      keepAliveMs,
      maxBufferedBytes,
      slowClientTimeoutMs,
      route,
      onDrop: options.onStreamDropped,
    });
    open.add(conn);
    conn.onClose(() => open.delete(conn));
    conn.open();
    // A stream opened with a token ends when the token would no longer be accepted (its exp plus the
    // auth leeway); the client reconnects with a fresh one.
    const exp = req.mobkitIdentity?.jwt.expiresAtEpochSeconds;
    if (exp !== undefined) {
      const expire = () => {
        conn.send({
          event: 'auth_expired',
          data: JSON.stringify({ type: 'auth_expired', expired_at_epoch_seconds: exp }),
        });
        conn.end();
      };
      const ms = (exp + authLeewaySeconds) * 1000 - Date.now();
      if (ms <= 0) expire();
      else {
        const timer = setTimeout(expire, Math.min(ms, 2 ** 31 - 1));
        timer.unref?.();
        conn.onClose(() => clearTimeout(timer));
      }
    }
    return conn;
  };

  const textBody = (limit: number): RequestHandler => express.text({ type: () => true, limit });

  router.get('/healthz', (_req, res) => {
    res.status(200).set('cache-control', 'no-store').type('text/plain').send('ok');
  });

  router.get(['/console', '/console/'], shellGuard, (req, res) => {
    const token =
      typeof req.query.auth_token === 'string' && options.guardConsoleShell
        ? `?auth_token=${encodeURIComponent(req.query.auth_token)}`
        : '';
    res
      .status(200)
      .set({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' })
      .type('html')
      .send(consoleHtml(req.baseUrl, requireAuth, token));
  });

  router.get('/console/assets/:file', shellGuard, (req, res) => {
    const file = String(req.params.file);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) || file.includes('..')) {
      sendError(res, 404, 'not_found');
      return;
    }
    res.sendFile(
      file,
      {
        root: assetsDir,
        headers: { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
        dotfiles: 'deny',
      },
      (err) => {
        if (err && !res.headersSent)
          sendError(
            res,
            404,
            'not_found',
            existsSync(assetsDir) ? undefined : 'the console assets are not built; run the package build',
          );
      },
    );
  });

  router.get('/console/experience', guard, async (_req, res) => {
    const body = await buildConsoleExperience({ surface, trustedModules, keepAliveMs });
    res.status(200).set('cache-control', 'no-store').json(body);
  });

  router.get('/console/modules', guard, (_req, res) => {
    res
      .status(200)
      .set('cache-control', 'no-store')
      .json({ contract_version: CONSOLE_CONTRACT_VERSION, modules: trustedModules });
  });

  router.get('/mob/events', guard, (req, res) => {
    if (surface.mobId() === undefined) {
      sendError(res, 422, 'unsupported', 'no mob runtime is attached, so there are no agent events');
      return;
    }
    const conn = openStream(req, res, '/mob/events');
    if (!conn) return;
    const resume = resumeFrom(req, 'mob');
    if (resume) {
      const { items, truncated } = hub.buffer.since(resume.seq);
      if (truncated)
        conn.send({
          event: 'replay_truncated',
          data: JSON.stringify({ type: 'replay_truncated', last_event_id: resume.raw }),
        });
      for (const e of items) if (!conn.sendRaw(mobFrame(e))) return;
    }
    const stop = hub.listen((e) => void conn.sendRaw(mobFrame(e)));
    conn.onClose(stop);
  });

  router.get('/agents/:agentId/events', guard, async (req, res) => {
    const agentId = String(req.params.agentId);
    if (agentId.trim() === '') {
      sendError(res, 400, 'invalid_agent_id', 'agent id must not be blank');
      return;
    }
    if (surface.mobId() === undefined) {
      sendError(res, 422, 'unsupported', 'no mob runtime is attached, so there are no agent events');
      return;
    }
    const member = await surface.getMember(agentId);
    if (member === undefined) {
      sendError(res, 404, 'member_not_found', `the mob has no member ${JSON.stringify(agentId)}`);
      return;
    }
    const conn = openStream(req, res, '/agents/:id/events');
    if (!conn) return;
    const resume = resumeFrom(req, agentId);
    if (resume) {
      const { items, truncated } = hub.buffer.since(resume.seq, (e) => e.memberId === agentId);
      if (truncated)
        conn.send({
          event: 'replay_truncated',
          data: JSON.stringify({ type: 'replay_truncated', last_event_id: resume.raw }),
        });
      for (const e of items) if (!conn.sendRaw(agentFrame(e))) return;
    }
    const stop = hub.listen((e) => void conn.sendRaw(agentFrame(e)), agentId);
    conn.onClose(stop);
  });

  router.post('/interactions/stream', guard, textBody(maxInteractionBodyBytes), async (req, res) => {
    const body = parseJsonObject(req.body);
    if (body === undefined) {
      sendError(res, 400, 'invalid_json', 'the body must be a JSON object {"member_id": "...", "message"?: "..."}');
      return;
    }
    const memberId = body.member_id;
    if (typeof memberId !== 'string' || memberId.trim() === '') {
      sendError(res, 400, 'invalid_member_id', 'member_id must be a non-blank string');
      return;
    }
    const message = body.message;
    if (message !== undefined && (typeof message !== 'string' || message.trim() === '')) {
      sendError(res, 400, 'invalid_message', 'message, when given, must be a non-blank string');
      return;
    }
    if (surface.mobId() === undefined) {
      sendError(res, 422, 'unsupported', 'no mob runtime is attached');
      return;
    }
    const member = await surface.getMember(memberId);
    if (member === undefined) {
      sendError(res, 404, 'member_not_found', `the mob has no member ${JSON.stringify(memberId)}`);
      return;
    }
    const profile = surface.profiles().find((p) => p.name === member.profile);
    if (!profile?.externalAddressable) {
      sendError(
        res,
        403,
        'not_externally_addressable',
        `member ${JSON.stringify(memberId)} (profile ${JSON.stringify(member.profile)}) is not externally addressable`,
      );
      return;
    }
    const conn = openStream(req, res, '/interactions/stream');
    if (!conn) return;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        conn.send({
          event: 'interaction_timeout',
          data: JSON.stringify({ type: 'interaction_timeout', member_id: memberId, idle_ms: interactionIdleTimeoutMs }),
        });
        conn.end();
      }, interactionIdleTimeoutMs);
      idle.unref?.();
    };
    // With a message, only the run that carries it ends the stream: a run that started before the send
    // (or one whose prompt lacks the message) does not.
    let ours = message === undefined;
    let sentAfterSeq = Number.POSITIVE_INFINITY;
    const stop = hub.listen((e) => {
      armIdle();
      if (!ours && e.type === 'run_started' && e.seq > sentAfterSeq) {
        const prompt = e.payload.prompt;
        ours = typeof prompt !== 'string' || prompt.includes(message as string);
      }
      if (!conn.sendRaw(agentFrame(e))) return;
      if (ours && TERMINAL_EVENT_TYPES.includes(e.type)) conn.end();
    }, memberId);
    conn.onClose(() => {
      stop();
      clearTimeout(idle);
    });
    conn.send({ event: 'subscribed', data: JSON.stringify({ type: 'subscribed', member_id: memberId }) });
    armIdle();
    if (message !== undefined && !conn.isClosed) {
      sentAfterSeq = hub.lastSeq;
      try {
        const sessionId = await surface.sendMessage(memberId, message);
        conn.send({
          event: 'message_accepted',
          data: JSON.stringify({ type: 'message_accepted', member_id: memberId, session_id: sessionId }),
        });
      } catch (err) {
        const code = isMobKitError(err) ? snakeCode(err.code) : 'interaction_failed';
        const detail = isMobKitError(err) && err.httpStatus < 500 ? err.message : undefined;
        conn.send({
          event: 'interaction_failed',
          data: JSON.stringify({
            type: 'interaction_failed',
            member_id: memberId,
            error: code,
            ...(detail ? { message: detail } : {}),
          }),
        });
        conn.end();
        if (!isMobKitError(err) || err.httpStatus >= 500) options.onError?.(err);
      }
    }
  });

  router.post(['/rpc', '/console/rpc'], guard, textBody(maxRpcBodyBytes), async (req, res) => {
    const text = typeof req.body === 'string' ? req.body : '';
    if (!requireAuth && options.rpcWithoutAuth === 'read-only') {
      const refused = mutatingMethods(text);
      if (refused !== undefined && refused.length > 0) {
        res
          .status(403)
          .set('cache-control', 'no-store')
          .json({
            jsonrpc: '2.0',
            id: null,
            error: {
              code: -32600,
              message: 'mutating RPC methods require console auth to be configured',
              data: { methods: [...new Set(refused)] },
            },
          });
        return;
      }
    }
    const out = await options.rpcHandler.handleText(text);
    if (out === undefined) {
      res.status(204).set('cache-control', 'no-store').end();
      return;
    }
    res.status(200).set('cache-control', 'no-store').type('application/json').send(JSON.stringify(out));
  });

  // Wrong method or unknown path under the routes this router owns: 404 {"error":"not_found"} (spec §15.1).
  router.all(
    ['/console/{*rest}', '/agents/{*rest}', '/mob/{*rest}', '/interactions/{*rest}', '/rpc', '/healthz'],
    (_req, res) => {
      sendError(res, 404, 'not_found');
    },
  );

  router.use(jsonErrorHandler(options.onError));
  return router;
}
