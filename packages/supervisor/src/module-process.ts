import type { Readable, Writable } from 'node:stream';
import { systemClock } from '@mobkit/core';
import { LineSplitter } from './line-splitter.js';
import type { ExitInfo, ProcessSpawner, SpawnSpec, SpawnedProcess } from './spawner.js';
import type { StderrRing } from './stderr-ring.js';

/** Human wording of an {@link ExitInfo}: `exit code 1`, `signal SIGKILL`, `spawn failed: …`. */
export function describeExit(info: ExitInfo | undefined): string {
  if (info === undefined) return 'still running';
  if (info.spawnError !== undefined) return `spawn failed: ${info.spawnError}`;
  if (info.signal) return `signal ${info.signal}`;
  return `exit code ${info.exitCode ?? 'unknown'}`;
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

const MAX_LINE_BYTES = 1024 * 1024;
const MAX_QUEUED_LINES = 10_000;

/**
 * `promise`'s value, or undefined once `ms` have passed first. These waits bound what a real OS
 * process does (exit after a signal, close its pipes), so they run on the system clock whatever
 * clock the runtime was given; the timer is released as soon as the race is decided.
 */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const controller = new AbortController();
  const timeout = systemClock.sleep(ms, controller.signal).then(
    () => undefined,
    () => undefined,
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    controller.abort();
  }
}

/**
 * One module child process, started by a {@link ProcessSpawner} in its own process group, with
 * stdin kept open (the module sees EOF when MobKit or its host dies), stdout for the module
 * protocol and stderr kept in the module's ring buffer.
 */
export class ModuleProcess {
  /** The child's pid (also its process group id); undefined when the spawn failed. */
  readonly pid: number | undefined;
  /** Resolves when the child exits (or failed to start). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly stderrDone: Promise<void>;
  private readonly stdoutDone: Promise<void>;
  private splitter: LineSplitter | undefined;
  private lineHandler: ((line: string) => void) | undefined;
  private overflowHandler: ((head: string, limitBytes: number) => void) | undefined;
  private queued: string[] = [];
  private stdoutEnded = false;
  private eofHandler: (() => void) | undefined;

  private constructor(
    private readonly child: SpawnedProcess,
    ring: StderrRing,
  ) {
    this.pid = child.pid;
    this.stderrDone = new Promise<void>((resolve) => {
      if (!child.stderr) return resolve();
      child.stderr.on('data', (chunk: Buffer | string) => ring.push(chunk));
      child.stderr.once('close', () => resolve());
    });
    this.stdoutDone = new Promise<void>((resolve) => {
      if (!child.stdout) return resolve();
      child.stdout.once('close', () => resolve());
    });
    this.exited = child.exited.then((info) => {
      this.exitInfo = info;
      return info;
    });
  }

  /** Starts `spec` with `spawner`; never throws (a failed spawn shows as `pid === undefined` and a `spawnError`). */
  static spawn(spawner: ProcessSpawner, spec: SpawnSpec, ring: StderrRing): ModuleProcess {
    return new ModuleProcess(spawner.spawn(spec), ring);
  }

  /** How the process ended, or undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The child's stdout (for the MCP transport). */
  get stdout(): Readable | null {
    return this.child.stdout;
  }

  /** The child's stdin (for the MCP transport). */
  get stdin(): Writable | null {
    return this.child.stdin;
  }

  /** Resolves with how the child ended, or undefined if it is still running after `maxMs`. */
  exitWithin(maxMs: number): Promise<ExitInfo | undefined> {
    return within(this.exited, maxMs);
  }

  /** Resolves once stdout and stderr are closed, or after `maxMs`. */
  async drained(maxMs: number): Promise<void> {
    await within(Promise.all([this.stdoutDone, this.stderrDone]), maxMs);
  }

  /**
   * Reads stdout as lines. Resolves with the first line (or EOF, timeout, an over-long line, a
   * spawn failure); later lines are queued until {@link onLines} installs a handler.
   */
  firstLine(timeoutMs: number): Promise<FirstLine> {
    return new Promise<FirstLine>((resolve) => {
      let settled = false;
      const timer = new AbortController();
      const settle = (value: FirstLine) => {
        if (settled) return;
        settled = true;
        timer.abort();
        resolve(value);
      };
      systemClock.sleep(timeoutMs, timer.signal).then(
        () => settle({ kind: 'timeout' }),
        () => undefined,
      );
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
      const stdout = this.child.stdout;
      if (!stdout) {
        settle({ kind: 'eof' });
        return;
      }
      stdout.on('data', (chunk: Buffer | string) => this.splitter?.push(chunk));
      // A child that exits while its own children keep stdout open never sends EOF: treat its exit
      // (after a moment for output still in the pipe) as the end of its output.
      void this.exited.then(async () => {
        if (settled) return;
        await systemClock.sleep(200);
        settle({ kind: 'eof' });
      });
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
      this.child.stdin?.end();
    } catch {
      // already closed
    }
  }

  /** Kills the whole group at once (SIGKILL) and waits, bounded, for the child to exit. */
  async kill(): Promise<TerminateOutcome> {
    return this.terminate(0);
  }

  /**
   * Stops the module: closes stdin and sends SIGTERM to the process group, waits up to `graceMs` for
   * the child to exit, then SIGKILLs the whole group (so the module's own children die too) and
   * waits for the child and the group to be gone. The group is scanned here, once the child is
   * gone, and not on every exit. Never throws.
   */
  async terminate(graceMs: number): Promise<TerminateOutcome> {
    if (this.pid === undefined) return { exited: true, survivors: [] };
    this.closeStdin();
    if (this.exitInfo === undefined && graceMs > 0) {
      this.child.signalGroup('SIGTERM');
      await this.exitWithin(graceMs);
    }
    this.child.signalGroup('SIGKILL');
    await this.exitWithin(2000);
    let members = this.child.groupMembers();
    for (let i = 0; i < 20 && members.length > 0; i += 1) {
      await systemClock.sleep(25);
      members = this.child.groupMembers();
    }
    const survivors = new Set(members);
    const exited = this.exitInfo !== undefined;
    if (!exited) survivors.add(this.pid);
    return { exited, survivors: [...survivors] };
  }
}
