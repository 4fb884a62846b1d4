import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { liveGroupMembers, signalGroup } from './proc.js';

/** What to start: a module's command, its arguments and its whole environment. */
export interface SpawnSpec {
  command: string;
  args: readonly string[];
  /** The child's complete environment (nothing is inherited on top of it). */
  env: Record<string, string>;
}

/** How a module process ended. */
export interface ExitInfo {
  /** Exit code, when it exited by itself. */
  exitCode: number | null;
  /** Signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES…). */
  spawnError?: string;
}

/**
 * One started child process, as the supervisor sees it: three pipes, an exit, and its process
 * group. The supervisor does everything else (ready handshake, line reading, stderr ring, grace
 * periods, orphan accounting) on top of this.
 */
export interface SpawnedProcess {
  /** The child's pid, which is also its process group id; undefined when the spawn failed. */
  readonly pid: number | undefined;
  /** The child's stdin (kept open: the module sees EOF when its parent goes away). */
  readonly stdin: Writable | null;
  /** The child's stdout: the module protocol (JSON lines or MCP). */
  readonly stdout: Readable | null;
  /** The child's stderr (kept in the module's ring). */
  readonly stderr: Readable | null;
  /** Resolves once, when the child exits or could not be started (then with `spawnError`); never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** Sends `signal` to the child's whole process group (so the module's own children get it too); never throws. */
  signalGroup(signal: NodeJS.Signals): void;
  /**
   * Pids of the live (non-zombie) members of the child's process group, the child included while it
   * runs. Asked after the group was SIGKILLed; an empty answer once the child has exited means the
   * group is gone (a spawner that tracks groups may forget it then).
   */
  groupMembers(): number[];
}

/**
 * Starts module processes. The default, {@link execaSpawner}, starts real processes; tests inject
 * a fake one (see `startModuleRuntime`'s `spawner` option) to drive restart budgets, backoff and
 * health transitions without processes.
 */
export interface ProcessSpawner {
  /** Starts `spec` in a process group of its own. Never throws: a failed spawn shows as `pid === undefined`. */
  spawn(spec: SpawnSpec): SpawnedProcess;
}

// Process groups of live modules, SIGKILLed if this process exits without shutting them down.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const group of liveGroups) signalGroup(group, 'SIGKILL');
  });
}

function spawnWithExeca(spec: SpawnSpec): SpawnedProcess {
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
  const pid = child.pid;
  if (pid !== undefined) trackGroup(pid);
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.on('error', () => {});
  let exitedFlag = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
    child.once('error', (error: Error) => {
      if (pid === undefined) resolve({ exitCode: null, signal: null, spawnError: error.message });
    });
  }).then((info) => {
    exitedFlag = true;
    return info;
  });
  // The execa promise itself never rejects (reject: false); keep it from dangling.
  child.then(
    () => undefined,
    () => undefined,
  );
  return {
    pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    signalGroup(signal) {
      if (pid !== undefined) signalGroup(pid, signal);
    },
    groupMembers() {
      if (pid === undefined) return [];
      const members = liveGroupMembers(pid);
      if (members.length === 0 && exitedFlag) liveGroups.delete(pid);
      return members;
    },
  };
}

/**
 * The real spawner: execa, `detached` (the child leads a process group of its own), every pipe
 * open, no shell, `extendEnv: false`. Group members are read from `/proc` (Linux; elsewhere only
 * the child itself is known). Groups still alive when this process exits are SIGKILLed by an exit
 * hook.
 */
export const execaSpawner: ProcessSpawner = Object.freeze({ spawn: spawnWithExeca });
