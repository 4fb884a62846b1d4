// The fuzzed process: the BUILT `mobkit gateway --persistent` (packages/mobkit/dist/bin/mobkit.js) as a
// child, with --expose-gc and the gc hook preloaded, its stdin/stdout as one transport and the reference
// app router it serves on a loopback port (`http_base_url`) as the other.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, childEnv } from '@mobkit/test-utils';

/** The gateway executable users run (`npx nx run mobkit:build` builds it). */
const GATEWAY_BIN = join(REPO_ROOT, 'packages', 'mobkit', 'dist', 'bin', 'mobkit.js');
const GC_HOOK = fileURLToPath(new URL('./gc-hook.mjs', import.meta.url));

/** How long one answer may take before the exchange counts as hung. */
const ANSWER_TIMEOUT_MS = 15_000;

/** One HTTP answer: its status, content type and body bytes; `reset` when the server closed the connection instead. */
interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
  reset?: string;
}

/** A running gateway child: both transports, liveness and memory probes. */
export interface FuzzGateway {
  readonly pid: number;
  readonly baseUrl: string;
  /** Writes `bytes` plus a newline to stdin, then a `mobkit/status` sentinel; resolves with every line answered before the sentinel's, and the sentinel's. */
  stdioExchange(bytes: Buffer): Promise<{ lines: string[]; sentinel: string }>;
  /** POSTs `body` to `/rpc` with `headers`. */
  post(path: string, body: Buffer, headers: Record<string, string>): Promise<HttpAnswer>;
  /** True while the child has neither exited nor been killed. */
  alive(): boolean;
  /** Forces two full GCs in the child (the preloaded hook) and returns its VmRSS in bytes afterwards. */
  rssAfterGc(): Promise<number>;
  stderr(): string;
  /** The hook's last report: `rss_kib=… heap_used=… external=…`. */
  lastGcReport(): string;
  stop(): Promise<number | null>;
}

const MOB_TOML = `
[mob]
id = "fuzz-mob"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;

/** Starts the gateway with a TestClient mob (MOBKIT_LLM=test: nothing reaches the network) and two members. */
export async function startFuzzGateway(): Promise<FuzzGateway> {
  if (!existsSync(GATEWAY_BIN)) throw new Error(`${GATEWAY_BIN} is missing: run \`npx nx run mobkit:build\` first`);
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--expose-gc', '--import', GC_HOOK, GATEWAY_BIN, 'gateway', '--persistent'],
    { env: childEnv({ MOBKIT_LLM: 'test' }), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stderrLine = '';
  const gcWaiters: Array<(report: string) => void> = [];
  child.stderr.on('data', (d: Buffer) => {
    const text = d.toString();
    stderr = (stderr + text).slice(-64 * 1024);
    const parts = (stderrLine + text).split('\n');
    stderrLine = parts.pop() ?? '';
    for (const part of parts) if (part.startsWith('[fuzz-gc] ')) gcWaiters.shift()?.(part.slice('[fuzz-gc] '.length));
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const lines = lineReader(child);
  // The child's stdin may be closed under us when it dies; the liveness checks report that, not an EPIPE.
  child.stdin.on('error', () => {});
  const write = (bytes: Buffer) =>
    new Promise<void>((resolve, reject) => child.stdin.write(bytes, (e) => (e ? reject(e) : resolve())));
  const next = () => lines.next(() => `no gateway line within ${ANSWER_TIMEOUT_MS} ms; stderr: ${stderr.slice(-2000)}`);

  await write(line({ jsonrpc: '2.0', id: 'init', method: 'mobkit/init', params: { mob_config: MOB_TOML } }));
  const init = JSON.parse(await next());
  const baseUrl = init.result?.http_base_url;
  if (typeof baseUrl !== 'string') throw new Error(`mobkit/init failed: ${JSON.stringify(init)}; stderr: ${stderr}`);
  for (const id of ['w-1', 'w-2']) {
    await write(
      line({ jsonrpc: '2.0', id, method: 'mobkit/spawn_member', params: { profile: 'worker', meerkat_id: id } }),
    );
    const spawned = JSON.parse(await next());
    if (spawned.result?.accepted !== true) throw new Error(`spawn ${id} failed: ${JSON.stringify(spawned)}`);
  }

  let sentinels = 0;
  let lastGcReport = '';
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const url = new URL(baseUrl);
  return {
    pid: child.pid as number,
    baseUrl,
    async stdioExchange(bytes) {
      const id = `fuzz-sentinel-${++sentinels}`;
      await write(Buffer.concat([bytes, Buffer.from('\n'), line({ jsonrpc: '2.0', id, method: 'mobkit/status' })]));
      const answered: string[] = [];
      for (;;) {
        const text = await next();
        if (text.includes(`"${id}"`) && sentinelId(text) === id) return { lines: answered, sentinel: text };
        answered.push(text);
      }
    },
    post: (path, body, headers) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        const req = request(
          { host: url.hostname, port: url.port, path, method: 'POST', agent, headers, timeout: ANSWER_TIMEOUT_MS },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                contentType: String(res.headers['content-type'] ?? ''),
                body: Buffer.concat(chunks).toString('utf8'),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no HTTP answer within ${ANSWER_TIMEOUT_MS} ms`)));
        req.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'ECONNRESET' || e.code === 'EPIPE')
            resolve({ status: 0, contentType: '', body: '', reset: e.code });
          else reject(e);
        });
        req.end(body);
      }),
    alive: () => !exited && child.exitCode === null && child.signalCode === null,
    async rssAfterGc() {
      const report = new Promise<string>((resolve) => gcWaiters.push(resolve));
      child.kill('SIGUSR2');
      const answer = await withTimeout(report, 10_000, 'the gc hook did not answer');
      const match = /^rss_kib=(\d+) /.exec(answer);
      lastGcReport = answer;
      if (!match) throw new Error(`gc hook: ${answer}`);
      return Number(match[1]) * 1024;
    },
    stderr: () => stderr,
    lastGcReport: () => lastGcReport,
    async stop() {
      agent.destroy();
      if (exited) return exit;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

function line(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value)}\n`);
}

function sentinelId(text: string): unknown {
  try {
    return (JSON.parse(text) as { id?: unknown }).id;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]);
}

/** Splits the child's stdout into lines (no length cap: the answers are what is under test, whole). */
function lineReader(child: ChildProcessWithoutNullStreams): { next(why: () => string): Promise<string> } {
  const queue: string[] = [];
  const waiters: Array<(text: string | Error) => void> = [];
  let pending: Buffer[] = [];
  const push = (text: string | Error) => {
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else if (typeof text === 'string') queue.push(text);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      pending.push(chunk.subarray(start, nl));
      push(Buffer.concat(pending).toString('utf8'));
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  });
  child.on('exit', (code, signal) => {
    for (const w of waiters.splice(0)) w(new Error(`the gateway exited (code ${code}, signal ${signal})`));
  });
  return {
    next: (why) =>
      new Promise<string>((resolve, reject) => {
        const queued = queue.shift();
        if (queued !== undefined) {
          resolve(queued);
          return;
        }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(take), 1);
          reject(new Error(why()));
        }, ANSWER_TIMEOUT_MS);
        const take = (text: string | Error) => {
          clearTimeout(timer);
          if (text instanceof Error) reject(text);
          else resolve(text);
        };
        if (child.exitCode !== null || child.signalCode !== null) reject(new Error('the gateway has exited'));
        else waiters.push(take);
      }),
  };
}
