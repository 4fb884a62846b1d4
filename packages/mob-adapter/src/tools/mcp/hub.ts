import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pkg from '../../../package.json' with { type: 'json' };
import { MobRuntimeError } from '../../errors.js';
import type { McpCallOptions, McpToolHost, McpToolInfo, ToolOutput } from '../types.js';
import type { McpServerConfig } from './config.js';
import { expandVars } from './expand.js';

type Sdk = {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  StdioClientTransport: typeof import('@modelcontextprotocol/sdk/client/stdio.js').StdioClientTransport;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
  ToolListChangedNotificationSchema: typeof import('@modelcontextprotocol/sdk/types.js').ToolListChangedNotificationSchema;
  McpError: typeof import('@modelcontextprotocol/sdk/types.js').McpError;
  StreamableHTTPError: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPError;
};
let sdkLoading: Promise<Sdk> | undefined;
/** The SDK once loaded (for `instanceof` checks of its error classes). */
let sdk: Sdk | undefined;
// The SDK is loaded on first connect, so a mob without MCP servers never imports it.
function loadSdk(): Promise<Sdk> {
  sdkLoading ??= Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/stdio.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ])
    .then(([client, stdio, http, types]) => ({
      Client: client.Client,
      StdioClientTransport: stdio.StdioClientTransport,
      StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
      ToolListChangedNotificationSchema: types.ToolListChangedNotificationSchema,
      McpError: types.McpError,
      StreamableHTTPError: http.StreamableHTTPError,
    }))
    .then((loaded) => {
      sdk = loaded;
      return loaded;
    });
  return sdkLoading;
}

const REQUEST_TIMEOUT = -32001;
/** A session that stayed up this long resets the restart backoff. */
const HEALTHY_MS = 10_000;
/** How much of a child's stderr is kept (characters), and how much an error message quotes. */
const STDERR_KEEP = 4096;
const STDERR_QUOTE = 500;
const MAX_LIST_PAGES = 1000;

/** Options of {@link McpHub}. */
export interface McpHubOptions {
  /**
   * The environment `${VAR}` in `env` values and `headers` is expanded from, and that stdio servers
   * inherit (their own `env` is laid over it). Default `process.env`.
   */
  env?: Record<string, string | undefined>;
  /** The longest `initialize` (and each `tools/list` page) may take. Default 30 000 ms. */
  connectTimeoutMs?: number;
  /** First delay before restarting a stdio server that died; doubled per attempt. Default 250 ms. */
  restartBaseMs?: number;
  /** Longest delay between restarts. Default 30 000 ms. The backoff resets after a session stayed up 10 s. */
  restartMaxMs?: number;
  /** Receives lifecycle events (for logs); an exception it throws is ignored. */
  onEvent?: (event: McpHubEvent) => void;
}

/** How an MCP server is reached. */
export type McpTransportKind = 'stdio' | 'streamable_http';

/** A lifecycle event of one of the hub's servers (`server` is its id). */
export type McpHubEvent =
  /** A session is up (`pid` for a stdio server). */
  | { type: 'connected'; server: string; transport: McpTransportKind; pid?: number }
  /** A stdio server's process ended while its session was in use (the tail of its stderr). */
  | { type: 'exited'; server: string; code: number | null; signal: string | null; stderrTail: string }
  /** The hub restarts a dead stdio server after `delayMs` (attempt 1, 2, … since it was last healthy). */
  | { type: 'restarting'; server: string; attempt: number; delayMs: number }
  /** The server's tool list changed (after `notifications/tools/list_changed`, or after a restart changed it). */
  | { type: 'tools_changed'; server: string; tools: string[] }
  /** Something failed outside a caller's request (a restart, a refresh, a transport error). */
  | { type: 'error'; server: string; message: string; error?: unknown };

type Resolved =
  | {
      kind: 'stdio';
      id: string;
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd: string | undefined;
    }
  | { kind: 'streamable_http'; id: string; url: string; headers: Record<string, string> };

interface Session {
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  child?: ChildProcess;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  stderr: string;
  established: boolean;
  ended: boolean;
  closedByHub: boolean;
  connectedAt: number;
  disposing?: Promise<void>;
}

interface ServerState {
  config: Resolved;
  session?: Session;
  connecting?: Promise<Session>;
  /** Every session not yet disposed (including one still connecting), so close() reaches them all. */
  live: Set<Session>;
  tools?: McpToolInfo[];
  listing?: Promise<McpToolInfo[]>;
  /** Bumped on every list change, so a listing that raced a change is not cached. */
  generation: number;
  relisting?: Promise<void>;
  relistAgain: boolean;
  /** A `list_changed` arrived that listeners have not been told about yet. */
  relistForce: boolean;
  attempt: number;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // The SDK's StreamableHTTPError carries the HTTP status (or -1) as `code`.
  if (sdk && error instanceof sdk.StreamableHTTPError && typeof error.code === 'number' && error.code > 0)
    return `${error.message} (HTTP ${error.code})`;
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !error.message.includes(cause.message)
    ? `${error.message} (${cause.message})`
    : error.message;
}

function describeExit(exit: Session['exit']): string {
  if (!exit) return 'exit status unknown';
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function stderrNote(session: Session): string {
  const tail = stderrTail(session);
  return tail ? `; stderr: ${tail}` : '';
}

function stderrTail(session: Session): string {
  const text = session.stderr.trim();
  return text.length > STDERR_QUOTE ? `…${text.slice(-STDERR_QUOTE)}` : text;
}

function toToolInfo(tool: {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean };
}): McpToolInfo {
  return {
    name: tool.name,
    description: tool.description ?? '',
    inputSchema: tool.inputSchema,
    readOnly: tool.annotations?.readOnlyHint === true,
  };
}

/** The model's view of a `tools/call` result: text blocks joined, other blocks as JSON, structured content as JSON when there is no text. */
function toOutput(result: Record<string, unknown>): ToolOutput {
  const blocks = Array.isArray(result.content) ? (result.content as Array<{ type?: unknown; text?: unknown }>) : [];
  const hasText = blocks.some((b) => b.type === 'text' && typeof b.text === 'string');
  let content: string;
  if (!hasText && result.structuredContent !== undefined) content = JSON.stringify(result.structuredContent);
  else if (blocks.length === 0 && result.toolResult !== undefined) content = JSON.stringify(result.toolResult);
  else
    content = blocks
      .map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : JSON.stringify(b)))
      .join('\n');
  return { content, isError: result.isError === true };
}

function sameTools(a: McpToolInfo[] | undefined, b: McpToolInfo[]): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The mob's MCP client hub: one kept MCP client session per configured server (stdio child process
 * or streamable HTTP endpoint) for the whole mob, opened on first use and shared by every member.
 * Tool lists are cached and refreshed on `notifications/tools/list_changed`; a stdio server that dies
 * is restarted with exponential backoff; `close()` ends every session and child process.
 */
export class McpHub implements McpToolHost {
  private readonly states = new Map<string, ServerState>();
  private readonly listeners = new Set<(id: string) => void>();
  private readonly connectTimeoutMs: number;
  private readonly restartBaseMs: number;
  private readonly restartMaxMs: number;
  private readonly onEvent: ((event: McpHubEvent) => void) | undefined;
  private readonly stopping = new AbortController();
  private closing: Promise<void> | undefined;

  /**
   * Checks and resolves `servers` (unique ids, exactly one of `command` or `url`, `${VAR}` expanded
   * from `options.env`); nothing is started until a server is first used. Bad config is a
   * `DEFINITION_ERROR` naming the server and key.
   */
  constructor(servers: readonly McpServerConfig[], options: McpHubOptions = {}) {
    const env = options.env ?? process.env;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.restartBaseMs = options.restartBaseMs ?? 250;
    this.restartMaxMs = options.restartMaxMs ?? 30_000;
    this.onEvent = options.onEvent;
    for (const server of servers) {
      if (typeof server.id !== 'string' || server.id.trim() === '')
        throw new MobRuntimeError('DEFINITION_ERROR', 'MCP server id must not be empty', { details: { field: 'id' } });
      if (this.states.has(server.id))
        throw new MobRuntimeError(
          'DEFINITION_ERROR',
          `MCP server "${server.id}" is declared twice; give each server its own id`,
          {
            details: { server: server.id, field: 'id' },
          },
        );
      this.states.set(server.id, {
        config: resolve(server, env),
        live: new Set(),
        generation: 0,
        relistAgain: false,
        relistForce: false,
        attempt: 0,
      });
    }
  }

  /** The ids of the configured servers, in configuration order. */
  servers(): string[] {
    return [...this.states.keys()];
  }

  /** The tools of server `id` (listed once, following pagination; refreshed on `list_changed`). */
  async listTools(id: string): Promise<McpToolInfo[]> {
    const state = this.state(id);
    if (state.relisting) await state.relisting.catch(() => {});
    if (state.tools) return state.tools.map((t) => ({ ...t }));
    state.listing ??= this.listFresh(state).finally(() => {
      state.listing = undefined;
    });
    return (await state.listing).map((t) => ({ ...t }));
  }

  /**
   * Calls `tool` of server `id` over the kept session (waiting, within `timeoutMs` and `signal`, for
   * a connect or a restart in progress). `signal` aborting sends MCP `notifications/cancelled` and
   * rejects `CANCELLED`; no answer within `timeoutMs` rejects `TIMEOUT`; a server that dies or
   * cannot be reached rejects with an error naming it.
   */
  async callTool(
    id: string,
    tool: string,
    args: Record<string, unknown>,
    options: McpCallOptions,
  ): Promise<ToolOutput> {
    const state = this.state(id);
    const { signal, timeoutMs } = options;
    const operation = `tools/call ${tool}`;
    const started = Date.now();
    // A live session is used at once; only a connect or restart in progress is waited for (bounded).
    const live = !this.closed && state.session && !state.session.ended ? state.session : undefined;
    const session = live ?? (await this.bounded(state, this.ensureSession(state), operation, signal, timeoutMs));
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    // The SDK never removes its abort listener, so it gets a per-call signal, not the run's long-lived one.
    const call = new AbortController();
    const forward = () => call.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    if (signal.aborted) forward();
    let result: Record<string, unknown>;
    try {
      result = (await session.client.callTool({ name: tool, arguments: args }, undefined, {
        signal: call.signal,
        timeout: remaining,
      })) as Record<string, unknown>;
    } catch (error) {
      throw this.requestError(state, session, operation, error, timeoutMs, signal);
    } finally {
      signal.removeEventListener('abort', forward);
    }
    return toOutput(result);
  }

  /** Calls `listener(id)` after server `id`'s tool list changed; returns the unsubscribe function. */
  onToolsChanged(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Closes every session (an HTTP session is terminated) and ends every child process (stdin closed,
   * then SIGTERM, then SIGKILL), including one still starting; stops restarts. Idempotent; later
   * calls reject.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.all(
      [...this.states.values()].map(async (state) => {
        const pending = state.connecting;
        await Promise.all([...state.live].map((s) => this.dispose(state, s)));
        await pending?.catch(() => {});
        await Promise.all([...state.live].map((s) => this.dispose(state, s)));
        state.session = undefined;
      }),
    );
  }

  private get closed(): boolean {
    return this.stopping.signal.aborted;
  }

  private state(id: string): ServerState {
    const state = this.states.get(id);
    if (state) return state;
    const known = this.servers();
    throw new MobRuntimeError(
      'INVALID_INPUT',
      `unknown MCP server "${id}"; known servers: ${known.length === 0 ? '(none)' : known.join(', ')}`,
      { details: { server: id, known } },
    );
  }

  private emit(event: McpHubEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // a logging hook must not break the hub
    }
  }

  private closedError(id: string, operation: string): MobRuntimeError {
    return new MobRuntimeError('TRANSPORT', `MCP server "${id}": the MCP hub was closed (during ${operation})`, {
      details: { server: id, operation },
    });
  }

  /** The live session, or the connect (first use, reconnect or scheduled restart) every caller shares. */
  private ensureSession(state: ServerState): Promise<Session> {
    if (this.closed) return Promise.reject(this.closedError(state.config.id, 'connect'));
    const session = state.session;
    if (session && !session.ended) return Promise.resolve(session);
    if (!state.connecting) {
      const connecting = this.open(state);
      state.connecting = connecting;
      connecting.then(
        () => {
          if (state.connecting === connecting) state.connecting = undefined;
        },
        () => {
          if (state.connecting === connecting) state.connecting = undefined;
        },
      );
    }
    return state.connecting;
  }

  /** Waits for `promise` within the caller's timeout and signal. */
  private bounded<T>(
    state: ServerState,
    promise: Promise<T>,
    operation: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const id = state.config.id;
    if (signal?.aborted) return Promise.reject(this.cancelledError(id, operation, signal));
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(
          new MobRuntimeError(
            'TIMEOUT',
            `MCP server "${id}" was not connected within ${timeoutMs} ms (${operation}); it is still starting or restarting`,
            { details: { server: id, operation, timeoutMs } },
          ),
        );
      }, timeoutMs);
      const onAbort = () => {
        done();
        reject(this.cancelledError(id, operation, signal));
      };
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          done();
          resolvePromise(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  private cancelledError(id: string, operation: string, signal: AbortSignal | undefined): MobRuntimeError {
    return new MobRuntimeError('CANCELLED', `MCP server "${id}": ${operation} was cancelled`, {
      details: { server: id, operation },
      cause: signal?.reason,
    });
  }

  /** Starts a transport, runs `initialize`, and makes the session the server's current one. */
  private async open(state: ServerState): Promise<Session> {
    const config = state.config;
    const sdk = await loadSdk();
    if (this.closed) throw this.closedError(config.id, 'connect');
    const client = new sdk.Client({ name: 'mobkit-mob', version: pkg.version }, { capabilities: {} });
    const transport =
      config.kind === 'stdio'
        ? new sdk.StdioClientTransport({
            command: config.command,
            args: config.args,
            env: config.env,
            ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
            stderr: 'pipe',
          })
        : new sdk.StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
    const session: Session = {
      client,
      transport,
      stderr: '',
      established: false,
      ended: false,
      closedByHub: false,
      connectedAt: 0,
    };
    if (config.kind === 'stdio') this.watchChild(session, transport as StdioClientTransport);
    client.onerror = (error) => {
      if (session.established && !session.ended && !session.closedByHub)
        this.emit({ type: 'error', server: config.id, message: messageOf(error), error });
    };
    client.onclose = () => this.sessionEnded(state, session);
    client.setNotificationHandler(sdk.ToolListChangedNotificationSchema, () => {
      if (state.session === session) this.toolsChanged(state, true);
    });
    state.live.add(session);
    try {
      await client.connect(transport, { timeout: this.connectTimeoutMs });
    } catch (error) {
      await this.dispose(state, session);
      if (this.closed) throw this.closedError(config.id, 'connect');
      throw this.connectError(state, session, error);
    }
    if (this.closed) {
      await this.dispose(state, session);
      throw this.closedError(config.id, 'connect');
    }
    session.established = true;
    session.connectedAt = Date.now();
    state.session = session;
    const pid = session.child?.pid;
    this.emit({ type: 'connected', server: config.id, transport: config.kind, ...(pid === undefined ? {} : { pid }) });
    // A new session after a restart or reconnect may serve other tools than the cached list (tools
    // registered at runtime are gone): relist, and tell listeners when it differs.
    if (state.tools !== undefined) this.toolsChanged(state, false);
    return session;
  }

  /** Keeps the child's stderr tail (never shown on the parent's stderr) and its exit status. */
  private watchChild(session: Session, transport: StdioClientTransport): void {
    // The transport's stderr PassThrough is drained; the tail is read from the child's own stream,
    // whose data all arrives before the child's 'close' (when the SDK fails the calls in flight).
    (transport.stderr as Readable | null)?.resume();
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      // The SDK keeps the ChildProcess private; its exit status is what error messages report.
      const child = (transport as unknown as { _process?: ChildProcess })._process;
      if (!child) return;
      session.child = child;
      child.stderr?.on('data', (chunk: Buffer | string) => {
        session.stderr = (session.stderr + chunk.toString()).slice(-STDERR_KEEP);
      });
      child.once('exit', (code, signal) => {
        session.exit = { code, signal };
      });
    };
  }

  private connectError(state: ServerState, session: Session, error: unknown): MobRuntimeError {
    const config = state.config;
    const timedOut = (error as { code?: unknown })?.code === REQUEST_TIMEOUT;
    const why = timedOut ? `no answer to initialize within ${this.connectTimeoutMs} ms` : messageOf(error);
    const where =
      config.kind === 'stdio'
        ? `MCP server "${config.id}" (command ${JSON.stringify(config.command)}) could not be started: ${why}${
            session.exit ? `; it exited (${describeExit(session.exit)})` : ''
          }${stderrNote(session)}`
        : `MCP server "${config.id}" at ${config.url} could not be reached: ${why}`;
    return new MobRuntimeError(timedOut ? 'TIMEOUT' : 'TRANSPORT', where, {
      details: { server: config.id, operation: 'initialize', ...(config.kind === 'stdio' ? {} : { url: config.url }) },
      cause: error,
    });
  }

  /** Maps a failed request to an error naming the server; drops a broken session so the next call reconnects. */
  private requestError(
    state: ServerState,
    session: Session,
    operation: string,
    error: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Error {
    const config = state.config;
    const details = { server: config.id, operation };
    if (signal?.aborted) return this.cancelledError(config.id, operation, signal);
    if (this.closed || session.closedByHub) return this.closedError(config.id, operation);
    if (session.ended) {
      const message =
        config.kind === 'stdio'
          ? `MCP server "${config.id}" exited (${describeExit(session.exit)}) during ${operation}; it is being restarted${stderrNote(session)}`
          : `MCP server "${config.id}" at ${config.url}: connection closed during ${operation}; it will reconnect on the next call`;
      return new MobRuntimeError('TRANSPORT', message, { details, cause: error });
    }
    const isMcp = sdk !== undefined && error instanceof sdk.McpError;
    if (isMcp && (error as { code: number }).code === REQUEST_TIMEOUT)
      return new MobRuntimeError(
        'TIMEOUT',
        `MCP server "${config.id}" did not answer ${operation} within ${timeoutMs} ms`,
        {
          details: { ...details, timeoutMs },
          cause: error,
        },
      );
    if (isMcp)
      return new MobRuntimeError(
        'TRANSPORT',
        `MCP server "${config.id}" answered ${operation} with an error: ${messageOf(error)}`,
        {
          details,
          cause: error,
        },
      );
    // A transport failure (HTTP error, broken pipe): this session is done; the next call reconnects.
    if (state.session === session) state.session = undefined;
    void this.dispose(state, session);
    const where = config.kind === 'stdio' ? `MCP server "${config.id}"` : `MCP server "${config.id}" at ${config.url}`;
    return new MobRuntimeError(
      'TRANSPORT',
      `${where} failed during ${operation}: ${messageOf(error)}; it will reconnect on the next call`,
      { details, cause: error },
    );
  }

  private sessionEnded(state: ServerState, session: Session): void {
    session.ended = true;
    if (state.session === session) state.session = undefined;
    if (!session.established || session.closedByHub || this.closed) return;
    state.live.delete(session);
    const config = state.config;
    this.emit({
      type: 'exited',
      server: config.id,
      code: session.exit?.code ?? null,
      signal: session.exit?.signal ?? null,
      stderrTail: stderrTail(session),
    });
    if (config.kind === 'stdio') this.scheduleRestart(state, session);
  }

  /** Restarts a dead stdio server after base·2^(attempt−1) ms (capped); callers meanwhile wait for it. */
  private scheduleRestart(state: ServerState, died: Session | undefined): void {
    if (this.closed) return;
    const healthy = died !== undefined && Date.now() - died.connectedAt >= HEALTHY_MS;
    state.attempt = healthy ? 1 : state.attempt + 1;
    const delayMs = Math.min(this.restartMaxMs, this.restartBaseMs * 2 ** (state.attempt - 1));
    const id = state.config.id;
    this.emit({ type: 'restarting', server: id, attempt: state.attempt, delayMs });
    const restart = this.sleep(delayMs).then(() => this.open(state));
    state.connecting = restart;
    restart.then(
      () => {
        if (state.connecting === restart) state.connecting = undefined;
      },
      (error: unknown) => {
        if (state.connecting === restart) state.connecting = undefined;
        if (this.closed) return;
        this.emit({ type: 'error', server: id, message: `restart failed: ${messageOf(error)}`, error });
        this.scheduleRestart(state, undefined);
      },
    );
  }

  private sleep(ms: number): Promise<void> {
    const stop = this.stopping.signal;
    return new Promise((resolvePromise, reject) => {
      if (stop.aborted) {
        reject(new Error('MCP hub closed'));
        return;
      }
      const onStop = () => {
        clearTimeout(timer);
        reject(new Error('MCP hub closed'));
      };
      const timer = setTimeout(() => {
        stop.removeEventListener('abort', onStop);
        resolvePromise();
      }, ms);
      timer.unref();
      stop.addEventListener('abort', onStop, { once: true });
    });
  }

  /** Lists on the current session (connecting first) and caches the list unless it changed meanwhile. */
  private async listFresh(state: ServerState): Promise<McpToolInfo[]> {
    for (;;) {
      const generation = state.generation;
      const session = await this.ensureSession(state);
      const tools = await this.fetchTools(state, session);
      if (generation === state.generation && !session.ended) {
        state.tools = tools;
        return tools;
      }
    }
  }

  private async fetchTools(state: ServerState, session: Session): Promise<McpToolInfo[]> {
    const tools: McpToolInfo[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      let result: Awaited<ReturnType<Client['listTools']>>;
      try {
        result = await session.client.listTools(cursor === undefined ? undefined : { cursor }, {
          timeout: this.connectTimeoutMs,
        });
      } catch (error) {
        throw this.requestError(state, session, 'tools/list', error, this.connectTimeoutMs, undefined);
      }
      for (const tool of result.tools) tools.push(toToolInfo(tool));
      cursor = result.nextCursor;
      if (!cursor) return tools;
      if (seen.has(cursor))
        throw new MobRuntimeError(
          'TRANSPORT',
          `MCP server "${state.config.id}" repeated tools/list cursor ${JSON.stringify(cursor)}`,
          {
            details: { server: state.config.id, operation: 'tools/list' },
          },
        );
      seen.add(cursor);
    }
    throw new MobRuntimeError(
      'TRANSPORT',
      `MCP server "${state.config.id}" answered more than ${MAX_LIST_PAGES} tools/list pages`,
      {
        details: { server: state.config.id, operation: 'tools/list' },
      },
    );
  }

  /**
   * Relists on the current session and tells listeners: after `list_changed` (`changed`) at once, with
   * the relist pending (so caches drop before the next turn, and a `listTools` waits for the new list),
   * or after a new session opened, once relisted, when its list differs from the cached one. A trigger arriving during
   * a relist causes one more relist; a relist cut short by the session ending is redone by the next
   * session.
   */
  private toolsChanged(state: ServerState, changed: boolean): void {
    if (changed) {
      state.generation += 1;
      state.relistForce = true;
    }
    const id = state.config.id;
    if (state.relisting) {
      state.relistAgain = true;
      // A server's own notice is told at once: the caches drop now, and a listing waits for the relist.
      if (changed) this.tellListeners(id);
      return;
    }
    const previous = state.tools;
    const run = async (): Promise<void> => {
      try {
        for (;;) {
          state.relistAgain = false;
          const session = state.session;
          if (!session || session.ended) return;
          let tools: McpToolInfo[] | undefined;
          try {
            tools = await this.fetchTools(state, session);
          } catch (error) {
            if (!session.ended) throw error;
          }
          if (state.relistAgain) continue;
          if (tools === undefined) return;
          state.tools = tools;
          const force = state.relistForce;
          state.relistForce = false;
          if (!force && sameTools(previous, tools)) return;
          this.emit({ type: 'tools_changed', server: id, tools: tools.map((t) => t.name) });
          // After list_changed the listeners were told when the notice came (their listing waited for this).
          if (!force) this.tellListeners(id);
          return;
        }
      } catch (error) {
        if (!this.closed)
          this.emit({ type: 'error', server: id, message: `tools/list refresh failed: ${messageOf(error)}`, error });
      } finally {
        state.relisting = undefined;
      }
    };
    // Started after the assignment, so the finally above always clears it.
    state.relisting = Promise.resolve().then(run);
    // Told at once, after the relist is pending, so a listing they start waits for it.
    if (changed) this.tellListeners(id);
  }

  /** Calls every tools-changed listener with `id`; a listener that throws is reported, not rethrown. */
  private tellListeners(id: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(id);
      } catch (error) {
        this.emit({ type: 'error', server: id, message: `a tools-changed listener threw: ${messageOf(error)}`, error });
      }
    }
  }

  /** Closes a session and makes sure its child process is gone. */
  private dispose(state: ServerState, session: Session): Promise<void> {
    session.closedByHub = true;
    session.disposing ??= (async () => {
      const transport = session.transport;
      if (state.config.kind === 'streamable_http' && session.established && !session.ended) {
        const http = transport as StreamableHTTPClientTransport;
        await Promise.race([http.terminateSession().catch(() => {}), delay(1000)]);
      }
      await session.client.close().catch(() => {});
      const child = session.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
        child.kill('SIGKILL');
        await Promise.race([exited, delay(2000)]);
      }
      state.live.delete(session);
    })();
    return session.disposing;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms).unref());
}

function resolve(server: McpServerConfig, env: Record<string, string | undefined>): Resolved {
  const id = server.id;
  if ((server.command === undefined) === (server.url === undefined))
    throw new MobRuntimeError(
      'DEFINITION_ERROR',
      `MCP server "${id}" needs exactly one of command (stdio) or url (streamable HTTP)`,
      { details: { server: id, field: 'command' } },
    );
  if (server.url !== undefined) {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(server.headers ?? {}))
      headers[key] = expandVars(value, env, id, `headers.${key}`);
    try {
      new URL(server.url);
    } catch {
      throw new MobRuntimeError(
        'DEFINITION_ERROR',
        `MCP server "${id}": url ${JSON.stringify(server.url)} is not a URL`,
        {
          details: { server: id, field: 'url' },
        },
      );
    }
    return { kind: 'streamable_http', id, url: server.url, headers };
  }
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) childEnv[key] = value;
  for (const [key, value] of Object.entries(server.env ?? {})) childEnv[key] = expandVars(value, env, id, `env.${key}`);
  return {
    kind: 'stdio',
    id,
    command: server.command as string,
    args: [...(server.args ?? [])],
    env: childEnv,
    cwd: server.cwd,
  };
}
