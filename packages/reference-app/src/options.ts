import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RequireConsoleAuthOptions } from '@mobkit/auth-policy/express';
import { CONSOLE_APP_ASSET } from './console-html.js';
import { type HostHeader, normalizeOrigin, parseHostHeader } from '@mobkit/auth-policy';
import type { SseDropInfo } from './sse.js';

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
  /**
   * Origins (`scheme://host[:port]`) besides the server's own that may send state-changing requests
   * (`POST /rpc`, `/console/rpc`, `/interactions/stream`); any other `Origin` is 403 `cross_origin_refused`.
   * A request without `Origin` passes. Default none.
   */
  allowedOrigins?: readonly string[];
  /**
   * `Host` names besides the bound address and `localhost`/`127.0.0.1`/`[::1]` (with the bound port) that
   * requests may carry: `name` (any port) or `name:port`. Any other `Host` is 403 `host_not_allowed`
   * (DNS rebinding). Needed when bound to 0.0.0.0 or served behind a proxy under a public name. Default none.
   */
  allowedHosts?: readonly string[];
  /**
   * Options of the console auth middleware (`requireConsoleAuth`), e.g. `onRefused` for logging, and the
   * token expiry policy: `requireExp` (default true) and `maxTokenLifetimeSeconds` (default 24 h).
   */
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
  'read_session_history',
  'collect_completed',
  'flow_status',
  'query_events',
  'cross_mob/directory',
  'cross_mob/peer_info',
].map((m) => `mobkit/${m}`);

/** The console auth middleware's default leeway for `exp`/`nbf`, in seconds (`requireConsoleAuth`'s default). */
const DEFAULT_AUTH_LEEWAY_SECONDS = 30;

/** {@link ReferenceAppRouterOptions} validated, with every default filled in. */
export interface ResolvedRouterOptions
  extends Required<Pick<ReferenceAppRouterOptions, keyof typeof REFERENCE_APP_DEFAULTS>> {
  rpcHandler: ReferenceAppRpcHandler;
  rpcWithoutAuth: 'all' | 'read-only';
  auth: RequireConsoleAuthOptions;
  /** {@link ReferenceAppRouterOptions.allowedOrigins}, normalized (`URL.origin`). */
  allowedOrigins: ReadonlySet<string>;
  /** {@link ReferenceAppRouterOptions.allowedHosts}, parsed. */
  allowedHosts: readonly HostHeader[];
  /** The leeway the auth middleware grants past a token's `exp`: a stream ends that long after it. */
  authLeewaySeconds: number;
  guardConsoleShell: boolean;
  signal: AbortSignal | undefined;
  onStreamDropped: ((info: SseDropInfo) => void) | undefined;
  onError: ((error: unknown) => void) | undefined;
  consoleAssetsDir: string;
}

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

function positive(name: keyof typeof REFERENCE_APP_DEFAULTS, value: number | undefined): number {
  if (value === undefined) return REFERENCE_APP_DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`buildReferenceAppRouter: options.${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A list option's entries, each checked by `parse` (undefined: not accepted, a `TypeError` naming the entry). */
function entries<T>(
  name: string,
  value: readonly string[] | undefined,
  expected: string,
  parse: (v: string) => T | undefined,
): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new TypeError(`buildReferenceAppRouter: options.${name} must be an array of ${expected}`);
  return value.map((entry, i) => {
    const parsed = typeof entry === 'string' ? parse(entry) : undefined;
    if (parsed === undefined) {
      throw new TypeError(
        `buildReferenceAppRouter: options.${name}[${i}] must be ${expected}, got ${JSON.stringify(entry)}`,
      );
    }
    return parsed;
  });
}

/**
 * Validates the router's options and fills in the defaults. Throws a `TypeError` naming the option
 * (a programming error of the caller, raised once at build time, never per request).
 */
export function resolveRouterOptions(options: ReferenceAppRouterOptions): ResolvedRouterOptions {
  if (options === null || typeof options !== 'object' || typeof options.rpcHandler?.handleText !== 'function') {
    throw new TypeError(
      'buildReferenceAppRouter: options.rpcHandler must be an object with handleText(text) (e.g. createRpcHandler(runtime))',
    );
  }
  const { rpcWithoutAuth = 'all' } = options;
  if (rpcWithoutAuth !== 'all' && rpcWithoutAuth !== 'read-only') {
    throw new TypeError(
      `buildReferenceAppRouter: options.rpcWithoutAuth must be 'all' or 'read-only', got ${JSON.stringify(rpcWithoutAuth)}`,
    );
  }
  const auth = options.auth ?? {};
  return {
    rpcHandler: options.rpcHandler,
    keepAliveMs: positive('keepAliveMs', options.keepAliveMs),
    replayBufferSize: positive('replayBufferSize', options.replayBufferSize),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes),
    slowClientTimeoutMs: positive('slowClientTimeoutMs', options.slowClientTimeoutMs),
    maxStreams: positive('maxStreams', options.maxStreams),
    maxRpcBodyBytes: positive('maxRpcBodyBytes', options.maxRpcBodyBytes),
    maxInteractionBodyBytes: positive('maxInteractionBodyBytes', options.maxInteractionBodyBytes),
    interactionIdleTimeoutMs: positive('interactionIdleTimeoutMs', options.interactionIdleTimeoutMs),
    rpcWithoutAuth,
    auth,
    allowedOrigins: new Set(
      entries(
        'allowedOrigins',
        options.allowedOrigins,
        'an origin such as "https://console.example.com"',
        normalizeOrigin,
      ),
    ),
    allowedHosts: entries('allowedHosts', options.allowedHosts, 'a host name or name:port', parseHostHeader),
    authLeewaySeconds: auth.leewaySeconds ?? DEFAULT_AUTH_LEEWAY_SECONDS,
    guardConsoleShell: options.guardConsoleShell === true,
    signal: options.signal,
    onStreamDropped: options.onStreamDropped,
    onError: options.onError,
    consoleAssetsDir: options.consoleAssetsDir ?? defaultConsoleAssetsDir(),
  };
}
