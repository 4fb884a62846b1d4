import { type ChildProcess, spawn } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { invalidInput } from '../errors.js';
import type { LocalTool, LocalToolContext, ToolOutput } from './types.js';

/** Options of {@link createShellTool}. */
export interface ShellToolOptions {
  /** The working directory root: every call runs in it or in a directory inside it (symlinks resolved). */
  root: string;
  /** A call's time limit when it does not ask for one (default 30,000 ms). */
  timeoutMs?: number;
  /** The longest `timeout_ms` a call may ask for (default 600,000 ms). */
  maxTimeoutMs?: number;
  /** Bytes kept of each of stdout and stderr (default 65,536); the rest is read and discarded. */
  maxOutputBytes?: number;
  /** The base environment, scrubbed by {@link scrubShellEnv} on every call (default `process.env` at call time). */
  env?: Record<string, string | undefined>;
  /** Variable names kept even though the scrub rule would drop them. */
  allowEnv?: string[];
  /** The shell that runs `command` with `-c` (default `/bin/sh`). */
  shellPath?: string;
}

/** What a shell call answered (the JSON the model reads; snake_case on the wire). */
export interface ShellResult {
  /** The exit code, or null when the process was ended by a signal. */
  exit_code: number | null;
  /** The signal that ended the process (`SIGTERM`, …), or null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when the call's time limit ended it. */
  timed_out: boolean;
  /** True when the run was cancelled (the context's signal aborted). */
  cancelled: boolean;
  /** Which stream went over `maxOutputBytes` and was cut (at a UTF-8 character boundary). */
  truncated: { stdout: boolean; stderr: boolean };
  duration_ms: number;
  /** Why the call is an error result (timed out or cancelled); absent otherwise. */
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_OUTPUT_BYTES = 65_536;
/** Between SIGTERM and SIGKILL of the process group. */
const KILL_GRACE_MS = 1_500;
/** How long after the process exited (and its group was killed) the pipes may stay open before they are dropped. */
const CLOSE_GRACE_MS = 2_000;

/** Name prefixes the scrub drops (compared upper-cased). */
const SECRET_PREFIXES = ['MOBKIT_', 'ANTHROPIC_', 'OPENAI_', 'RKAT_', 'GEMINI_', 'AZURE_OPENAI_'] as const;
/** Name suffixes the scrub drops (compared upper-cased). */
const SECRET_SUFFIXES = ['_API_KEY', '_SECRET', '_TOKEN', '_PASSWORD'] as const;
/** Whole names the scrub drops. */
const SECRET_NAMES = new Set(['GOOGLE_API_KEY']);

/**
 * The environment a shell call gets: `env` without MobKit's own settings and without provider
 * credentials. The rule, on the upper-cased name:
 * - dropped: every `MOBKIT_*`, `ANTHROPIC_*`, `OPENAI_*`, `RKAT_*`, `GEMINI_*`, `AZURE_OPENAI_*`,
 *   `GOOGLE_API_KEY`, and every name ending in `_API_KEY`, `_SECRET`, `_TOKEN` or `_PASSWORD`;
 * - kept: everything else, and any name listed (exactly) in `allowEnv` even if it matches above;
 * - undefined values are left out.
 */
export function scrubShellEnv(
  env: Record<string, string | undefined>,
  allowEnv: readonly string[] = [],
): Record<string, string> {
  const allowed = new Set(allowEnv);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (!allowed.has(name) && looksSecret(name)) continue;
    out[name] = value;
  }
  return out;
}

function looksSecret(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    SECRET_NAMES.has(upper) ||
    SECRET_PREFIXES.some((p) => upper.startsWith(p)) ||
    SECRET_SUFFIXES.some((s) => upper.endsWith(s))
  );
}

function positiveInt(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw invalidInput(field, `must be a positive integer (got ${value})`);
  return value;
}

/** The validated arguments of one call. */
interface ShellCall {
  file: string;
  args: string[];
  cwd: string | undefined;
  timeoutMs: number;
}

function refused(message: string): ToolOutput {
  return { content: `shell: ${message}`, isError: true };
}

const KNOWN_ARGS = new Set(['command', 'argv', 'cwd', 'timeout_ms']);

/**
 * The `shell` tool: runs a command line (`command`, through the shell with `-c`) or a program with
 * arguments (`argv`, no shell) in `root` or a directory inside it, with a scrubbed environment
 * ({@link scrubShellEnv}), stdin closed, a time limit, and each output stream capped.
 *
 * The child runs in its own process group. On timeout or cancel (the context's signal) the whole group
 * gets SIGTERM, then SIGKILL after a short grace; after a normal exit whatever is left in the group
 * (background jobs) is killed too. A non-zero exit is a normal result (the model reads `exit_code`);
 * a refused call (bad arguments, `cwd` outside the root), a command that cannot start, a timeout and a
 * cancel are error results. Bad options throw `InvalidInput` naming the option.
 */
export function createShellTool(options: ShellToolOptions): LocalTool {
  if (typeof options.root !== 'string' || options.root.trim() === '')
    throw invalidInput('root', 'must be a non-empty path (the shell tool needs a working directory root)');
  const root = path.resolve(options.root);
  const maxTimeoutMs = positiveInt(options.maxTimeoutMs, DEFAULT_MAX_TIMEOUT_MS, 'maxTimeoutMs');
  const timeoutMs = positiveInt(options.timeoutMs, Math.min(DEFAULT_TIMEOUT_MS, maxTimeoutMs), 'timeoutMs');
  if (timeoutMs > maxTimeoutMs)
    throw invalidInput('timeoutMs', `must not exceed maxTimeoutMs (${timeoutMs} > ${maxTimeoutMs})`);
  const maxOutputBytes = positiveInt(options.maxOutputBytes, DEFAULT_MAX_OUTPUT_BYTES, 'maxOutputBytes');
  const shellPath = options.shellPath ?? '/bin/sh';
  const allowEnv = [...(options.allowEnv ?? [])];

  async function parse(args: Record<string, unknown>): Promise<ShellCall | string> {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return 'arguments must be a JSON object';
    for (const key of Object.keys(args))
      if (!KNOWN_ARGS.has(key)) return `unknown argument ${key} (expected command, argv, cwd, timeout_ms)`;
    const { command, argv, cwd, timeout_ms } = args;
    if ((command === undefined) === (argv === undefined))
      return 'give exactly one of command (a command line for the shell) or argv (a program and its arguments)';
    let file: string;
    let callArgs: string[];
    if (command !== undefined) {
      if (typeof command !== 'string' || command.trim() === '') return 'command must be a non-empty string';
      file = shellPath;
      callArgs = ['-c', command];
    } else {
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string'))
        return 'argv must be a non-empty array of strings';
      const [program, ...rest] = argv as string[];
      if (program === undefined || program === '') return 'argv[0] must name a program';
      file = program;
      callArgs = rest;
    }
    let limit = timeoutMs;
    if (timeout_ms !== undefined) {
      if (typeof timeout_ms !== 'number' || !Number.isInteger(timeout_ms) || timeout_ms < 1)
        return 'timeout_ms must be a positive integer (milliseconds)';
      if (timeout_ms > maxTimeoutMs) return `timeout_ms must not exceed ${maxTimeoutMs} (got ${timeout_ms})`;
      limit = timeout_ms;
    }
    if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) return 'cwd must be a non-empty string';
    const dir = await resolveCwd(root, cwd as string | undefined);
    if (typeof dir !== 'object') return dir;
    return { file, args: callArgs, cwd: dir.path, timeoutMs: limit };
  }

  return {
    definition: {
      name: 'shell',
      description:
        'Run a command and get its exit code, stdout and stderr. Give exactly one of `command` (a command line ' +
        `run by ${shellPath} -c) or \`argv\` (a program and its arguments, run without a shell). It runs in the ` +
        'working directory root or in `cwd` inside it; stdin is closed; each output stream is cut after ' +
        `${maxOutputBytes} bytes (truncated is then true). The default time limit is ${timeoutMs} ms ` +
        `(\`timeout_ms\` up to ${maxTimeoutMs}). A non-zero exit_code is a normal result; read it.`,
      inputSchema: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'A command line, run by the shell with -c.' },
          argv: {
            type: 'array',
            items: { type: 'string' },
            minItems: 1,
            description: 'A program and its arguments, executed directly (no shell, no quoting needed).',
          },
          cwd: {
            type: 'string',
            description: 'Working directory: relative to the root, or absolute inside it (default: the root).',
          },
          timeout_ms: {
            type: 'integer',
            minimum: 1,
            maximum: maxTimeoutMs,
            description: `Time limit in milliseconds (default ${timeoutMs}).`,
          },
        },
        additionalProperties: false,
      },
    },
    readOnly: false,
    async run(args: Record<string, unknown>, context: LocalToolContext): Promise<ToolOutput> {
      const call = await parse(args);
      if (typeof call === 'string') return refused(call);
      if (context.signal.aborted) return refused('cancelled before the command started');
      const env = scrubShellEnv(options.env ?? process.env, allowEnv);
      return execute(call, env, maxOutputBytes, context.signal);
    },
  };
}

/** `cwd` resolved (symlinks too) to a directory inside the resolved root, or why not. */
async function resolveCwd(root: string, cwd: string | undefined): Promise<{ path: string } | string> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return `the working directory root ${root} does not exist`;
  }
  if (cwd === undefined) return { path: realRoot };
  const wanted = path.isAbsolute(cwd) ? cwd : path.resolve(realRoot, cwd);
  let real: string;
  try {
    real = await realpath(wanted);
  } catch {
    // Refuse a missing path outside the root as escaping, one inside it as missing.
    const lexical = path.resolve(wanted);
    if (!inside(realRoot, lexical) && !inside(root, lexical))
      return `cwd ${cwd} is outside the working directory root ${realRoot}`;
    return `cwd ${cwd} does not exist (under the working directory root ${realRoot})`;
  }
  if (!inside(realRoot, real)) return `cwd ${cwd} resolves to ${real}, outside the working directory root ${realRoot}`;
  if (!(await stat(real)).isDirectory()) return `cwd ${cwd} is not a directory`;
  return { path: real };
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Keeps the first `cap` bytes of a stream (and one more, to find a UTF-8 boundary); reads and drops the rest. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap + 1 - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  text(): string {
    const buf = Buffer.concat(this.chunks);
    if (buf.length <= this.cap) return buf.toString('utf8');
    let end = this.cap;
    // Step back over continuation bytes (10xxxxxx) so a character is not split.
    while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
    return buf.subarray(0, end).toString('utf8');
  }
}

/** Signals process group `pgid`; false when no process is left in it. */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

function execute(
  call: ShellCall,
  env: Record<string, string>,
  maxOutputBytes: number,
  signal: AbortSignal,
): Promise<ToolOutput> {
  return new Promise<ToolOutput>((resolve) => {
    const started = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(call.file, call.args, {
        cwd: call.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own session and process group, so the whole group can be signalled.
        detached: true,
        windowsHide: true,
      });
    } catch (error) {
      resolve(refused(`cannot start ${call.file}: ${(error as Error).message}`));
      return;
    }
    const out = new Capture(maxOutputBytes);
    const err = new Capture(maxOutputBytes);
    const stdout = child.stdout as Readable;
    const stderr = child.stderr as Readable;
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    stderr.on('data', (chunk: Buffer) => err.push(chunk));

    let timedOut = false;
    let cancelled = false;
    let terminating = false;
    let exited = false;
    let exitCode: number | null = null;
    let exitSignal: string | null = null;
    let graceTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const terminate = () => {
      if (terminating || exited || child.pid === undefined) return;
      terminating = true;
      const pgid = child.pid;
      killGroup(pgid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, call.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      terminate();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearTimeout(closeTimer);
      signal.removeEventListener('abort', onAbort);
    };

    const finish = () => {
      if (settled) return;
      settled = true;
      cleanup();
      const result: ShellResult = {
        exit_code: exitCode,
        signal: exitSignal,
        stdout: out.text(),
        stderr: err.text(),
        timed_out: timedOut,
        cancelled: cancelled && !timedOut,
        truncated: { stdout: out.truncated, stderr: err.truncated },
        duration_ms: Math.round(performance.now() - started),
      };
      if (timedOut) result.error = `command timed out after ${call.timeoutMs} ms; its process group was killed`;
      else if (cancelled) result.error = 'command cancelled; its process group was killed';
      resolve({ content: JSON.stringify(result), isError: timedOut || cancelled });
    };

    child.once('error', (error) => {
      // Spawn failures (ENOENT, EACCES, …) come here without an exit.
      if (exited || settled) return;
      settled = true;
      cleanup();
      resolve(refused(`cannot start ${call.file}: ${error.message}`));
    });
    child.once('exit', (code, sig) => {
      exited = true;
      exitCode = code;
      exitSignal = sig;
      // Whatever is left in the group (background jobs) goes too.
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      clearTimeout(graceTimer);
      // The pipes close once every holder died; a process that left the group may keep them open.
      closeTimer = setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
        finish();
      }, CLOSE_GRACE_MS);
    });
    child.once('close', () => {
      if (exited) finish();
    });
  });
}
