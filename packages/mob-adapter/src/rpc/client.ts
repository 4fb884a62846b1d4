import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { MobRuntimeError } from '../errors.js';
import { type RkatRpcErrorObject, mapRkatRpcError } from './errors.js';

/** Options of {@link RkatRpcClient.start}. */
export interface RkatRpcProcessOptions {
  command: string;
  args: string[];
  /** Extra environment for the child (merged over `process.env`; FORCE_COLOR is removed, NO_COLOR set). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Per request timeout (default 30 s). */
  requestTimeoutMs?: number;
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** A notification from rkat-rpc. */
export interface RkatRpcNotification {
  method: string;
  params: Record<string, unknown>;
}

/**
 * A newline-delimited JSON-RPC 2.0 client over an `rkat-rpc` child's stdio. Requests may run
 * concurrently; a non-JSON line or the process exiting fails every pending call with `MobTransport`.
 */
export class RkatRpcClient {
  private readonly child: ResultPromise;
  private readonly pending = new Map<number, Pending>();
  private readonly notificationListeners = new Set<(n: RkatRpcNotification) => void>();
  private nextId = 1;
  private failure: MobRuntimeError | undefined;
  private stderrTail = '';
  private readonly timeoutMs: number;
  /** The child's pid. */
  readonly pid: number | undefined;

  private constructor(options: RkatRpcProcessOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
    delete env.FORCE_COLOR;
    env.NO_COLOR = '1';
    this.child = execa(options.command, options.args, {
      env,
      extendEnv: false,
      cwd: options.cwd,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
    });
    this.pid = this.child.pid;
    // stdout is 'pipe' above, so execa always gives a stream.
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => this.onLine(line));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    this.child.stdin?.on('error', () => undefined);
    void this.child.then((result) => {
      const why =
        result.failed && result.exitCode === undefined
          ? (result.shortMessage ?? 'could not start')
          : `exited with code ${result.exitCode ?? result.signal}`;
      this.fail(
        new MobRuntimeError(
          'TRANSPORT',
          `rkat-rpc (${options.command}) ${why}${this.stderrTail ? `: ${this.stderrTail.trim().slice(-500)}` : ''}`,
          {
            details: { command: options.command, exitCode: result.exitCode, signal: result.signal },
          },
        ),
      );
    });
  }

  /** Spawns the process. */
  static start(options: RkatRpcProcessOptions): RkatRpcClient {
    return new RkatRpcClient(options);
  }

  /** Why the client can no longer be used, if it cannot. */
  get closedReason(): MobRuntimeError | undefined {
    return this.failure;
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
      if (msg === null || typeof msg !== 'object') throw new Error('not an object');
    } catch {
      this.fail(
        new MobRuntimeError(
          'TRANSPORT',
          `rkat-rpc sent a line that is not JSON-RPC: ${JSON.stringify(line.slice(0, 200))}`,
        ),
      );
      this.child.kill();
      return;
    }
    const hasId = msg.id !== undefined && msg.id !== null;
    if (typeof msg.method === 'string') {
      if (hasId) {
        // a callback request (tool/execute): we register no callback tools, so refuse it
        this.send({
          jsonrpc: '2.0',
          id: msg.id,
          error: { code: -32601, message: `client does not handle ${msg.method}` },
        });
        return;
      }
      const n = { method: msg.method, params: (msg.params ?? {}) as Record<string, unknown> };
      for (const l of this.notificationListeners) {
        try {
          l(n);
        } catch {
          // a listener's failure must not break the transport
        }
      }
      return;
    }
    const pending = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!pending) return;
    this.pending.delete(msg.id as number);
    clearTimeout(pending.timer);
    if (msg.error) pending.reject(mapRkatRpcError(msg.error as RkatRpcErrorObject, pending.method));
    else pending.resolve(msg.result);
  }

  private fail(error: MobRuntimeError): void {
    if (this.failure) return;
    this.failure = error;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
      this.pending.delete(id);
    }
  }

  private send(msg: unknown): void {
    this.child.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  /** Calls `method` and resolves with its result (or rejects with a mapped {@link MobRuntimeError}). */
  request<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new MobRuntimeError('TIMEOUT', `rkat-rpc ${method} did not answer within ${timeoutMs} ms`, {
            details: { method },
          }),
        );
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a notification. */
  notify(method: string, params?: Record<string, unknown>): void {
    if (!this.failure)
      this.send(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params });
  }

  /** Listens to notifications; returns the unsubscribe function. */
  onNotification(listener: (n: RkatRpcNotification) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /** Ends the child: closes stdin, then SIGTERM after `graceMs`, then SIGKILL. Resolves when it exited. */
  async close(graceMs = 1000): Promise<void> {
    this.fail(new MobRuntimeError('TRANSPORT', 'rkat-rpc client closed'));
    this.child.stdin?.end();
    const exited = this.child.then(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGTERM'), graceMs);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), graceMs * 3);
    await exited;
    clearTimeout(timer);
    clearTimeout(killer);
  }
}
