import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { LineSplitter } from './line-splitter.js';
import { liveGroupMembers, signalGroup } from './proc.js';
import type { StderrRing } from './stderr-ring.js';

/** How a module process ended. */
export interface ExitInfo {
  /** Exit code, when it exited by itself. */
  exitCode: number | null;
  /** Signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES…). */
  spawnError?: string;
}

/** Human wording of an {@link ExitInfo}: `exit code 1`, `signal SIGKILL`, `spawn failed: …`. */
export function describeExit(info: ExitInfo | undefined): string {
  if (info === undefined) return 'still running';
  if (info.spawnError !== undefined) return `spawn failed: ${info.spawnError}`;
  if (info.signal) return `signal ${info.signal}`;
  return `exit code ${info.exitCode ?? 'unknown'}`;
}

/** What to start. */
export interface SpawnSpec {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
}

/** Result of stopping a process group. */
export interface TerminateOutcome {
  /** The direct child was seen to exit. */
  exited: boolean;
  /** Pids of ours (the child or members of its group) still alive afterwards (zombies excluded). */
  survivors: number[];
}

/** Outcome of waiting for the first stdout line. */
export type FirstLine =
  | { kind: 'line'; line: string }
  | { kind: 'eof' }
  | { kind: 'timeout' }
  | { kind: 'overflow'; head: string; limitBytes: number }
  | { kind: 'spawn-error'; message: string };

// Process groups of live modules, killed if this process exits without shutting them down.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) signalGroup(group, 'SIGKILL');
    });
  }
}

const MAX_LINE_BYTES = 1024 * 1024;
const MAX_QUEUED_LINES = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/**
 * One module child process, started with execa in its own process group (`detached`), with stdin
 * kept open (the module sees EOF when MobKit or its host dies), stdout for the module protocol and
 * stderr kept in the module's ring buffer.
 */
export class ModuleProcess {
  /** The child's pid (also its process group id); undefined when the spawn failed. */
  readonly pid: number | undefined;
  /** Resolves when the child exits (or failed to start). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly stdinStream: Writable | null;
  private readonly stdoutStream: Readable | null;
  private readonly stderrDone: Promise<void>;
  private readonly stdoutDone: Promise<void>;
  private splitter: LineSplitter | undefined;
  private lineHandler: ((line: string) => void) | undefined;
  private overflowHandler: ((head: string, limitBytes: number) => void) | undefined;
  private queued: string[] = [];
  private stdoutEnded = false;
  private eofHandler: (() => void) | undefined;

  private constructor(spec: SpawnSpec, ring: StderrRing) {
    const child = execa(spec.command, [...spec.args], {
      env: spec.env,
      extendEnv: false,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      detached: true,
      cleanup: false,
      forceKillAfterDelay: false,
      windowsHide: true,
      stripFinalNewline: false,
    });
    this.pid = child.pid;
    if (this.pid !== undefined) trackGroup(this.pid);
    this.stdinStream = child.stdin;
    this.stdoutStream = child.stdout;
    child.stdin?.on('error', () => {});
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    this.stderrDone = new Promise<void>((resolve) => {
      if (!child.stderr) return resolve();
      child.stderr.on('data', (chunk: Buffer | string) => ring.push(chunk));
      child.stderr.once('close', () => resolve());
    });
    this.stdoutDone = new Promise<void>((resolve) => {
      if (!child.stdout) return resolve();
      child.stdout.once('close', () => resolve());
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
      child.once('error', (error: Error) => {
        if (this.pid === undefined) resolve({ exitCode: null, signal: null, spawnError: error.message });
      });
    }).then((info) => {
      this.exitInfo = info;
      if (this.pid !== undefined && liveGroupMembers(this.pid).length === 0) liveGroups.delete(this.pid);
      return info;
    });
    // The execa promise itself never rejects (reject: false); keep it from dangling.
    child.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Starts `spec`; never throws (a failed spawn shows as `pid === undefined` and a `spawnError`). */
  static spawn(spec: SpawnSpec, ring: StderrRing): ModuleProcess {
    return new ModuleProcess(spec, ring);
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The child's stdout (for the MCP transport). */
  get stdout(): Readable | null {
    return this.stdoutStream;
  }

  /** The child's stdin (for the MCP transport). */
  get stdin(): Writable | null {
    return this.stdinStream;
  }

  /** Resolves once stdout and stderr are closed, or after `maxMs`. */
  async drained(maxMs: number): Promise<void> {
    await Promise.race([Promise.all([this.stdoutDone, this.stderrDone]), sleep(maxMs)]);
  }

  /**
   * Reads stdout as lines. Resolves with the first line (or EOF, timeout, an over-long line, a
   * spawn failure); later lines are queued until {@link onLines} installs a handler.
   */
  firstLine(timeoutMs: number): Promise<FirstLine> {
    return new Promise<FirstLine>((resolve) => {
      let settled = false;
      const settle = (value: FirstLine) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
      if (this.pid === undefined) {
        void this.exited.then((info) => settle({ kind: 'spawn-error', message: info.spawnError ?? 'spawn failed' }));
        return;
      }
      this.splitter = new LineSplitter(
        MAX_LINE_BYTES,
        (line) => {
          if (!settled) settle({ kind: 'line', line });
          else if (this.lineHandler) this.lineHandler(line);
          else if (this.queued.length < MAX_QUEUED_LINES) this.queued.push(line);
        },
        (head, limitBytes) => {
          if (!settled) settle({ kind: 'overflow', head, limitBytes });
          else this.overflowHandler?.(head, limitBytes);
        },
      );
      const stdout = this.stdoutStream;
      if (!stdout) {
        settle({ kind: 'eof' });
        return;
      }
      stdout.on('data', (chunk: Buffer | string) => this.splitter?.push(chunk));
      // A child that exits while its own children keep stdout open never sends EOF: treat its exit
      // (after a moment for output still in the pipe) as the end of its output.
      void this.exited.then(() => setTimeout(() => settle({ kind: 'eof' }), 200).unref?.());
      stdout.once('end', () => {
        this.stdoutEnded = true;
        const rest = this.splitter?.rest();
        if (rest !== undefined && rest.trim() !== '') this.splitter?.onLine(rest);
        settle({ kind: 'eof' });
        this.eofHandler?.();
      });
    });
  }

  /** Installs the handler for stdout lines after the first one (queued lines are delivered first). */
  onLines(
    handler: (line: string) => void,
    onOverflow: (head: string, limitBytes: number) => void,
    onEof?: () => void,
  ): void {
    this.lineHandler = handler;
    this.overflowHandler = onOverflow;
    this.eofHandler = onEof;
    const queued = this.queued;
    this.queued = [];
    for (const line of queued) handler(line);
    if (this.stdoutEnded) onEof?.();
  }

  /** Closes the child's stdin (a polite "please exit" for modules that watch it). */
  closeStdin(): void {
    try {
      this.stdinStream?.end();
    } catch {
      // already closed
    }
  }

  /** Sends `signal` to the child's whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid !== undefined) signalGroup(this.pid, signal);
  }

  /** Kills the whole group at once (SIGKILL) and waits, bounded, for the child to exit. */
  async kill(): Promise<TerminateOutcome> {
    return this.terminate(0);
  }

  /**
   * Stops the module: closes stdin and sends SIGTERM to the process group, waits up to `graceMs` for
   * the child to exit, then SIGKILLs the whole group (so the module's own children die too) and
   * waits for the child and the group to be gone. Never throws.
   */
  async terminate(graceMs: number): Promise<TerminateOutcome> {
    const pid = this.pid;
    if (pid === undefined) return { exited: true, survivors: [] };
    this.closeStdin();
    if (this.exitInfo === undefined && graceMs > 0) {
      this.signal('SIGTERM');
      await Promise.race([this.exited, sleep(graceMs)]);
    }
    this.signal('SIGKILL');
    await Promise.race([this.exited, sleep(2000)]);
    let members = liveGroupMembers(pid);
    for (let i = 0; i < 20 && members.length > 0; i += 1) {
      await sleep(25);
      members = liveGroupMembers(pid);
    }
    const exited = this.exitInfo !== undefined;
    const survivors = new Set(members);
    if (!exited) survivors.add(pid);
    if (survivors.size === 0) liveGroups.delete(pid);
    return { exited, survivors: [...survivors] };
  }
}
