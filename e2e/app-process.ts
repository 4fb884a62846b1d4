/**
 * The reference app as a real process for the e2e suites that kill it: start it on a config
 * directory (a free loopback port, JSON logs, its own process group), wait until `/healthz` answers,
 * and SIGKILL it with every module child it started.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, childEnv } from '@mobkit/test-utils';

/** The built app entry. */
const APP_MAIN = join(REPO_ROOT, 'apps', 'reference-app', 'dist', 'main.js');
/** The app's example config directory (copy it before changing it). */
export const APP_CONFIG = join(REPO_ROOT, 'apps', 'reference-app', 'config');

/** A loopback port free at the time of the call. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Polls an async `probe` every 100 ms until it gives a value, or throws after `timeoutMs` with `detail()`. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A running app process: its child, its base URL, and everything it printed so far. */
export interface App {
  child: ChildProcess;
  base: string;
  output: () => string;
}

/** Starts the app on `configDir` with `env` added, and resolves once `/healthz` answers (45 s at most). */
export async function startApp(configDir: string, env: Record<string, string>): Promise<App> {
  const port = await freePort();
  const child = spawn(process.execPath, [APP_MAIN, '--config', configDir], {
    cwd: REPO_ROOT,
    env: childEnv({ PORT: String(port), LOG_FORMAT: 'json', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const base = `http://127.0.0.1:${port}`;
  await poll(
    'the app to answer /healthz',
    async () => {
      if (child.exitCode !== null) throw new Error(`the app exited early:\n${text}`);
      return fetch(`${base}/healthz`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      );
    },
    45_000,
    () => text,
  );
  return { child, base, output: () => text };
}

/** Every process in the app's process tree (the app and its module children), by pid. */
export function processTree(root: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const all: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    all.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return all;
}

/** SIGKILLs every pid of `pids` that still runs. */
export function killTree(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
