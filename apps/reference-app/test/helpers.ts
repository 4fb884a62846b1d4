import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root and the app directory. */
export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(APP_DIR, '..', '..');
export const FIXTURES = join(APP_DIR, 'test', 'fixtures');

/** A process as seen in /proc: its pid and start time (so a reused pid is not mistaken for it). */
export interface ProcRef {
  pid: number;
  startTime: string;
  cmd: string;
}

function readStat(pid: number): { ppid: number; state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: the fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] as string, ppid: Number(rest[1]), startTime: rest[19] as string };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Every live descendant of `root` (children, grandchildren, …), walking /proc. */
export function descendants(root: number): ProcRef[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  const out: ProcRef[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') continue;
    out.push({ pid, startTime: stat.startTime, cmd: cmdline(pid) });
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** True while the process still runs (a zombie, or a pid now used by another process, counts as gone). */
export function isAlive(proc: ProcRef): boolean {
  const stat = readStat(proc.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === proc.startTime;
}

/** SIGKILLs whatever of `procs` still runs (test clean-up). */
export function killAll(procs: Iterable<ProcRef>): void {
  for (const proc of procs) {
    if (!isAlive(proc)) continue;
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The child's environment: no colours, the TestClient, JSON logs, no Nx daemon. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    MOBKIT_LLM: 'test',
    LOG_FORMAT: 'json',
    NX_DAEMON: 'false',
    ...extra,
  };
  delete env.FORCE_COLOR;
  for (const key of [
    'OPENAI_API_KEY',
    'ANTHROPIC_API_KEY',
    'OPENAI_BASE_URL',
    'RKAT_OPENAI_API_KEY',
    'RKAT_ANTHROPIC_API_KEY',
  ])
    delete env[key];
  return env;
}

/** A started child with its collected output and a promise of its exit. */
export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node <args>` in its own process group (so a test can Ctrl-C it like a terminal does). */
export function startNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Started {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  return { child, output: () => text, exited };
}

/** Polls `check` until it returns a value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Live processes whose command line mentions `needle` (module processes carry the config dir in their args). */
export function processesMentioning(needle: string): ProcRef[] {
  const out: ProcRef[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const pid = Number(name);
    const cmd = cmdline(pid);
    if (!cmd.includes(needle)) continue;
    const stat = readStat(pid);
    if (stat === undefined) continue; // exited while we looked
    const proc = { pid, startTime: stat.startTime, cmd };
    if (isAlive(proc)) out.push(proc);
  }
  return out;
}

/** One JSON-RPC call over `POST <base>/rpc`; throws unless the answer is HTTP 200. */
export async function postRpc(
  base: string,
  method: string,
  params: unknown = {},
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const response = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  if (response.status !== 200) throw new Error(`${method}: HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
}
