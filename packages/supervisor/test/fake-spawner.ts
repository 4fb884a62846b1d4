import { PassThrough } from 'node:stream';
import type { ExitInfo, ProcessSpawner, SpawnSpec, SpawnedProcess } from '../src/index.js';

/**
 * A module process without a process: its pipes are in-memory streams and it exits when the test
 * says so (or when it is signalled, like a module that honours SIGTERM).
 */
export class FakeProcess implements SpawnedProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly exited: Promise<ExitInfo>;
  /** Signals the supervisor sent to the group, in order. */
  readonly signals: NodeJS.Signals[] = [];
  private exitInfo: ExitInfo | undefined;
  private resolveExit!: (info: ExitInfo) => void;

  constructor(
    readonly pid: number,
    readonly spec: SpawnSpec,
    /** Its number among the spawner's processes, from 1. */
    readonly n: number,
  ) {
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.resolveExit = resolve;
    });
  }

  /** True until it exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Writes `text` and a newline to stdout. */
  writeLine(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** Writes the JSON-line ready event of module `moduleId` (payload `{ n }`). */
  ready(moduleId: string): void {
    this.writeLine(readyLine(moduleId, this.n));
  }

  /** Writes `text` and a newline to stderr. */
  writeStderr(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** Ends the process: its pipes close, then `exited` resolves. Later calls do nothing. */
  exit(exitCode: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitInfo !== undefined) return;
    this.exitInfo = { exitCode, signal };
    this.stdout.end();
    this.stderr.end();
    const info = this.exitInfo;
    setImmediate(() => this.resolveExit(info));
  }

  signalGroup(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (signal === 'SIGTERM' || signal === 'SIGKILL') this.exit(null, signal);
  }

  groupMembers(): number[] {
    return this.running ? [this.pid] : [];
  }
}

/** The event envelope line a JSON-line module writes when it is ready. */
function readyLine(moduleId: string, n: number): string {
  return JSON.stringify({
    event_id: `evt-${moduleId}-ready-${n}`,
    source: 'module',
    timestamp_ms: n,
    module: moduleId,
    event_type: 'ready',
    payload: { n },
  });
}

/**
 * A {@link ProcessSpawner} whose processes are {@link FakeProcess}es. `onSpawn` decides what each
 * one does when it starts (by default it writes the ready line of the module named by its first
 * argument).
 */
export class FakeSpawner implements ProcessSpawner {
  readonly processes: FakeProcess[] = [];
  private nextPid = 4_000_000;

  constructor(private readonly onSpawn: (proc: FakeProcess) => void = (proc) => proc.ready(proc.spec.args[0] ?? '')) {}

  spawn(spec: SpawnSpec): SpawnedProcess {
    this.nextPid += 1;
    const proc = new FakeProcess(this.nextPid, spec, this.processes.length + 1);
    this.processes.push(proc);
    this.onSpawn(proc);
    return proc;
  }

  /** The latest process. */
  get last(): FakeProcess {
    const proc = this.processes[this.processes.length - 1];
    if (!proc) throw new Error('nothing was spawned');
    return proc;
  }
}
