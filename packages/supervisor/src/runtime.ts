import {
  type Clock,
  type EventEnvelope,
  type LifecycleEvent,
  type LifecycleStage,
  type MobKitConfig,
  type MobKitError,
  type ModuleConfig,
  type ModuleHealthState,
  type ModuleHealthTransition,
  type PreSpawnData,
  type RuntimeOptions,
  cutLine,
  defaultRuntimeOptions,
  insertEventSorted,
  isMobKitError,
  normalizeEventLine,
  sequenceId,
  systemClock,
  toMobKitError,
} from '@mobkit/core';
import { SupervisorError, moduleError } from './errors.js';
import { McpSession, type McpToolResult } from './mcp.js';
import { type ExitInfo, type FirstLine, ModuleProcess, describeExit } from './module-process.js';
import { StderrRing } from './stderr-ring.js';
import { type CrashBackoff, crashRestartDelay, restartBudget, superviseStart } from './supervise.js';

/** Module ids whose core flows must go through MCP (spec §3.4). */
export const CORE_MCP_MODULES: readonly string[] = Object.freeze(['router', 'delivery', 'memory', 'scheduling']);

/** Defaults of the optional MobKit-TS runtime options. */
export const SUPERVISOR_DEFAULTS = Object.freeze({
  shutdownGraceMs: 1600,
  restartBackoffMultiplier: 1.5,
  restartBackoffMinMs: 100,
  restartBackoffMaxMs: 30_000,
  restartStableMs: 30_000,
  maxMergedEvents: 10_000,
});

/** Options of {@link startModuleRuntime}. */
export interface StartModuleRuntimeOptions {
  /** Per-attempt bound on a module's ready handshake (and each MCP operation at start), in ms. */
  timeoutMs: number;
  /** Budgets, backoff, grace period… (defaults: {@link defaultRuntimeOptions} and {@link SUPERVISOR_DEFAULTS}). */
  options?: Partial<RuntimeOptions>;
  /** Agent events merged into the stream at start (stage `MergedStreamStarted`). */
  agentEvents?: readonly EventEnvelope[];
  /** Time source for supervisor events and the stable period (default: the system clock). */
  clock?: Clock;
  /** Most events kept by {@link ModuleRuntime.mergedEvents}; the oldest fall out first (default 10000). */
  maxMergedEvents?: number;
  /**
   * How many modules start at once at start-up (default 1: one after another in discovery order,
   * as the original does, so a module may rely on the ones before it being ready). With more, the
   * recorded transitions and the shutdown order still follow the discovery order.
   */
  startConcurrency?: number;
}

/** What {@link ModuleRuntime.shutdown} reports. */
export interface ModuleShutdownReport {
  /** Every module that was loaded, sorted. */
  terminatedModules: string[];
  /** Processes of ours (module children and their own children) still alive afterwards; zombies count as gone. */
  orphanProcesses: number;
}

/** A generic call to a module: an MCP tool named `method`, or a JSON-line module's first event. */
export interface RouteModuleCallRequest {
  moduleId: string;
  method: string;
  params?: unknown;
}

/** The answer to a {@link RouteModuleCallRequest}. */
export interface RouteModuleCallResult {
  moduleId: string;
  method: string;
  /** The tool answer parsed as JSON (else its text), or the JSON-line module's first event payload. */
  payload: unknown;
}

/** A snapshot of one module's supervision. */
export interface ModuleStatus {
  moduleId: string;
  /** Current health, or undefined when never started. */
  state: ModuleHealthState | undefined;
  loaded: boolean;
  boundary: 'mcp' | 'json-line';
  /** Pid (and process group) of the live child. */
  pid: number | undefined;
  /** Number of the attempt the live child came from. */
  attempt: number;
  /** Crash restarts after ready so far. */
  restarts: number;
  /** Sorted tool names (MCP modules). */
  tools: string[];
  /** The module's recent stderr lines (bounded ring). */
  stderr: string[];
}

/** Receives live events (see {@link ModuleRuntime.subscribe}). */
export type ModuleEventListener = (event: EventEnvelope) => void;

/** A running set of supervised modules. Created by {@link startModuleRuntime}. */
export interface ModuleRuntime {
  /** False once {@link shutdown} was called. */
  isRunning(): boolean;
  /** Ids of the loaded modules, sorted. */
  loadedModules(): string[];
  /** Lifecycle stages reached, with their sequence numbers. */
  lifecycleEvents(): LifecycleEvent[];
  /** Every health transition so far, in order. */
  healthTransitions(): ModuleHealthTransition[];
  /** The merged event stream, ordered by `(timestampMs, eventId, source)`. */
  mergedEvents(): EventEnvelope[];
  /** Calls `listener` with every event added to the merged stream from now on; returns an unsubscribe function. */
  subscribe(listener: ModuleEventListener): () => void;
  /** Adds events (e.g. agent events) to the merged stream and to subscribers. */
  ingestEvents(events: readonly EventEnvelope[]): void;
  /** Starts every id not loaded yet (discovery becomes `ids`); returns how many were started. */
  reconcileModules(ids: readonly string[], timeoutMs: number): Promise<number>;
  /** Starts module `moduleId`, or replaces its running instance. */
  spawnMember(moduleId: string, timeoutMs: number): Promise<void>;
  /** Calls an MCP tool on the module's kept session. */
  callTool(moduleId: string, tool: string, args: Record<string, unknown>, timeoutMs: number): Promise<McpToolResult>;
  /** Routes a generic call to a module (spec §3.7). */
  routeModuleCall(request: RouteModuleCallRequest, timeoutMs: number): Promise<RouteModuleCallResult>;
  /** True when the module's pre-spawn env selects the MCP boundary. */
  isMcpModule(moduleId: string): boolean;
  /** A snapshot of one module's supervision, or undefined for an id that was never started. */
  moduleStatus(moduleId: string): ModuleStatus | undefined;
  /** Stops every module (reverse start order, SIGTERM → grace → SIGKILL of the process group). Idempotent. */
  shutdown(): Promise<ModuleShutdownReport>;
}

interface Instance {
  proc: ModuleProcess;
  session: McpSession | undefined;
  tools: string[];
  attempt: number;
  retired: boolean;
  invalidLines: number;
}

interface Started {
  instance: Instance;
  event: EventEnvelope;
}

interface Slot {
  id: string;
  config: ModuleConfig;
  preSpawn: PreSpawnData | undefined;
  isMcp: boolean;
  ring: StderrRing;
  state: ModuleHealthState | undefined;
  instance: Instance | undefined;
  loaded: boolean;
  generation: number;
  attempts: number;
  crashStreak: number;
  healthySince: number;
  restarts: number;
  timeoutMs: number;
}

const MAX_INVALID_LINE_WARNINGS = 5;

function boundaryIsMcp(preSpawn: PreSpawnData | undefined): boolean {
  if (!preSpawn) return false;
  let value: string | undefined;
  for (const [key, v] of preSpawn.env) if (key === 'MOBKIT_MODULE_BOUNDARY') value = v;
  return value !== undefined && value.trim().toLowerCase() === 'mcp';
}

function moduleEnv(preSpawn: PreSpawnData | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  const own = new Map(preSpawn?.env ?? []);
  // Nx and some CI set FORCE_COLOR; module output is a protocol, never colour it.
  if (!own.has('FORCE_COLOR')) delete env.FORCE_COLOR;
  if (!own.has('NO_COLOR')) env.NO_COLOR = '1';
  for (const [key, value] of own) env[key] = value;
  return env;
}

function requireTimeout(timeoutMs: unknown, name = 'timeoutMs'): number {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SupervisorError(
      'InvalidInput',
      `${name}: expected a positive number of milliseconds, got ${JSON.stringify(timeoutMs)}`,
      {
        details: { field: name },
      },
    );
  }
  return timeoutMs;
}

function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

class ModuleRuntimeImpl implements ModuleRuntime {
  private running = true;
  private stopping = false;
  private readonly stopController = new AbortController();
  private readonly configured = new Map<string, ModuleConfig>();
  private readonly preSpawn = new Map<string, PreSpawnData>();
  private readonly slots = new Map<string, Slot>();
  private discovery: string[];
  private readonly startOrder: string[] = [];
  private readonly lifecycle: LifecycleEvent[] = [];
  private readonly transitions: ModuleHealthTransition[] = [];
  private readonly events: EventEnvelope[] = [];
  private readonly listeners = new Set<ModuleEventListener>();
  private readonly strays = new Set<ModuleProcess>();
  private readonly usedEventIds = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<ModuleShutdownReport> | undefined;
  private deferred: Map<string, ModuleHealthTransition[]> | undefined;
  private healthSeq = 0;
  private readonly options: RuntimeOptions & typeof SUPERVISOR_DEFAULTS;
  private readonly clock: Clock;

  constructor(
    config: MobKitConfig,
    private readonly defaultTimeoutMs: number,
    options: Partial<RuntimeOptions> | undefined,
    clock: Clock | undefined,
    maxMergedEvents: number | undefined,
  ) {
    for (const module of config.modules) if (!this.configured.has(module.id)) this.configured.set(module.id, module);
    for (const data of config.preSpawn ?? [])
      if (!this.preSpawn.has(data.moduleId)) this.preSpawn.set(data.moduleId, data);
    this.discovery = [...config.discovery.modules];
    const defined = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
    this.options = {
      ...SUPERVISOR_DEFAULTS,
      ...defaultRuntimeOptions(),
      ...defined,
      ...(maxMergedEvents === undefined ? {} : { maxMergedEvents }),
    } as RuntimeOptions & typeof SUPERVISOR_DEFAULTS;
    this.clock = clock ?? systemClock;
  }

  // ---------------------------------------------------------------- start

  async start(agentEvents: readonly EventEnvelope[], concurrency: number): Promise<void> {
    this.stage('MobStarted');
    const ids = [...new Set(this.discovery)];
    try {
      await this.locked(async () => {
        const queue = [...ids];
        if (concurrency > 1) this.deferred = new Map(ids.map((id) => [id, []]));
        const worker = async () => {
          for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
            try {
              await this.spawnLocked(id, this.defaultTimeoutMs);
            } catch (error) {
              // A module that exhausts its budget is not fatal: it is not loaded and a warning was recorded.
              if (!isMobKitError(error)) throw error;
            }
          }
        };
        try {
          await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
        } finally {
          const deferred = this.deferred;
          this.deferred = undefined;
          if (deferred) {
            for (const id of ids) this.transitions.push(...(deferred.get(id) ?? []));
            const rank = (id: string) => {
              const i = ids.indexOf(id);
              return i < 0 ? ids.length : i;
            };
            this.startOrder.sort((a, b) => rank(a) - rank(b));
          }
        }
      });
    } catch (error) {
      await this.shutdown();
      throw error;
    }
    this.stage('ModulesStarted');
    for (const event of agentEvents) this.addEvent(event);
    this.stage('MergedStreamStarted');
  }

  // ---------------------------------------------------------------- accessors

  isRunning(): boolean {
    return this.running;
  }

  loadedModules(): string[] {
    return sortedIds([...this.slots.values()].filter((s) => s.loaded).map((s) => s.id));
  }

  lifecycleEvents(): LifecycleEvent[] {
    return this.lifecycle.map((e) => ({ ...e }));
  }

  healthTransitions(): ModuleHealthTransition[] {
    return this.transitions.map((t) => ({ ...t }));
  }

  mergedEvents(): EventEnvelope[] {
    return [...this.events];
  }

  subscribe(listener: ModuleEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  ingestEvents(events: readonly EventEnvelope[]): void {
    for (const event of events) this.addEvent(event);
  }

  isMcpModule(moduleId: string): boolean {
    return boundaryIsMcp(this.preSpawn.get(moduleId));
  }

  moduleStatus(moduleId: string): ModuleStatus | undefined {
    const slot = this.slots.get(moduleId);
    if (!slot) return undefined;
    return {
      moduleId,
      state: slot.state,
      loaded: slot.loaded,
      boundary: slot.isMcp ? 'mcp' : 'json-line',
      pid: slot.instance?.proc.pid,
      attempt: slot.instance?.attempt ?? slot.attempts,
      restarts: slot.restarts,
      tools: [...(slot.instance?.tools ?? [])],
      stderr: slot.ring.snapshot(),
    };
  }

  // ---------------------------------------------------------------- mutations

  async reconcileModules(ids: readonly string[], timeoutMs: number): Promise<number> {
    this.assertRunning();
    if (!Array.isArray(ids)) {
      throw new SupervisorError('InvalidInput', `modules: expected an array of module ids, got ${typeof ids}`, {
        details: { field: 'modules' },
      });
    }
    ids.forEach((id, i) => {
      if (typeof id !== 'string') {
        throw new SupervisorError('InvalidInput', `modules[${i}]: expected a string, got ${typeof id}`, {
          details: { field: `modules[${i}]` },
        });
      }
    });
    requireTimeout(timeoutMs);
    for (const id of ids) this.requireConfigured(id);
    return this.locked(async () => {
      this.assertRunning();
      this.discovery = [...ids];
      let added = 0;
      for (const id of new Set(ids)) {
        if (this.slots.get(id)?.loaded) continue;
        await this.spawnLocked(id, timeoutMs);
        added += 1;
      }
      return added;
    });
  }

  async spawnMember(moduleId: string, timeoutMs: number): Promise<void> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    this.requireConfigured(moduleId);
    await this.locked(async () => {
      this.assertRunning();
      await this.spawnLocked(moduleId, timeoutMs);
    });
  }

  private async spawnLocked(moduleId: string, timeoutMs: number): Promise<void> {
    const slot = this.slotFor(moduleId);
    slot.timeoutMs = timeoutMs;
    const outcome = await superviseStart<Started>(
      moduleId,
      {
        restartPolicy: slot.config.restartPolicy,
        onFailureRetryBudget: this.options.onFailureRetryBudget,
        alwaysRestartBudget: this.options.alwaysRestartBudget,
        backoffMs: this.options.supervisorRestartBackoffMs,
        eagerAlwaysRestart: !slot.isMcp,
      },
      {
        attempt: (n) => this.startAttempt(slot, n, timeoutMs),
        terminate: (started) => this.terminateForRestart(slot, started.instance),
        sleep: (ms) => this.sleep(ms),
        record: (t) => this.record(t, false),
      },
    );
    if (!outcome.ok) {
      if (slot.instance) slot.state = 'Healthy';
      this.warn(moduleId, outcome.error);
      throw outcome.error;
    }
    const started = outcome.instance;
    if (outcome.warning) this.warn(moduleId, outcome.warning);
    if (!this.discovery.includes(moduleId)) this.discovery.push(moduleId);
    const existing = slot.instance;
    if (existing) {
      try {
        await this.terminateForRestart(slot, existing);
      } catch (raw) {
        existing.retired = false;
        await this.discard(started.instance);
        const cause = toMobKitError(raw);
        const error = moduleError(
          'TerminateFailed',
          moduleId,
          `could not stop the running instance of module "${moduleId}" to replace it (${cause.message}); the running instance is kept and the replacement was stopped`,
          { pid: existing.proc.pid, replacementPid: started.instance.proc.pid },
          undefined,
          cause,
        );
        slot.state = 'Healthy';
        this.warn(moduleId, error);
        throw error;
      }
    }
    if (this.stopping) {
      await this.discard(started.instance);
      throw new SupervisorError(
        'RuntimeNotRunning',
        `module "${moduleId}" was started while the runtime shut down; it was stopped`,
        { details: { moduleId } },
      );
    }
    slot.generation += 1;
    slot.attempts = outcome.attempts;
    slot.crashStreak = 0;
    this.install(slot, started);
  }

  // ---------------------------------------------------------------- one start attempt

  private async startAttempt(slot: Slot, attempt: number, timeoutMs: number): Promise<Started> {
    const proc = ModuleProcess.spawn(
      { command: slot.config.command, args: slot.config.args, env: moduleEnv(slot.preSpawn) },
      slot.ring,
    );
    if (slot.isMcp) {
      if (proc.pid === undefined) {
        const info = await proc.exited;
        throw this.spawnFailed(slot, info);
      }
      let session: McpSession;
      try {
        session = await McpSession.open(slot.id, proc, slot.ring, timeoutMs);
      } catch (error) {
        await proc.kill();
        throw error;
      }
      const instance: Instance = { proc, session, tools: [...session.tools], attempt, retired: false, invalidLines: 0 };
      return { instance, event: this.mcpReadyEvent(slot.id, session.tools) };
    }
    const event = await this.readReadyLine(slot, proc, await proc.firstLine(timeoutMs), timeoutMs);
    return { instance: { proc, session: undefined, tools: [], attempt, retired: false, invalidLines: 0 }, event };
  }

  private spawnFailed(slot: Slot, info: ExitInfo): SupervisorError {
    return moduleError(
      'SpawnFailed',
      slot.id,
      `could not start module "${slot.id}" (command ${JSON.stringify(slot.config.command)}): ${info.spawnError ?? describeExit(info)}`,
      {
        command: slot.config.command,
      },
    );
  }

  /** Turns the first stdout line into the ready event, or kills the process and throws. */
  private async readReadyLine(
    slot: Slot,
    proc: ModuleProcess,
    first: FirstLine,
    timeoutMs: number,
  ): Promise<EventEnvelope> {
    const id = slot.id;
    switch (first.kind) {
      case 'spawn-error':
        throw this.spawnFailed(slot, { exitCode: null, signal: null, spawnError: first.message });
      case 'timeout':
        await proc.kill();
        throw moduleError(
          'Timeout',
          id,
          `module "${id}" wrote no ready line within ${timeoutMs} ms; it was killed`,
          { timeoutMs, operation: 'ready' },
          slot.ring,
        );
      case 'eof': {
        await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 500))]);
        await proc.drained(300);
        const exit = proc.exit;
        await proc.kill();
        throw moduleError(
          'EmptyOutput',
          id,
          `module "${id}" closed stdout before writing its ready line (${describeExit(exit)})`,
          { ...(exit ? { exit } : {}) },
          slot.ring,
        );
      }
      case 'overflow':
        await proc.kill();
        throw moduleError(
          'InvalidModuleOutput',
          id,
          `module "${id}" wrote a first stdout line longer than ${first.limitBytes} bytes; it starts ${JSON.stringify(first.head)}`,
          {
            line: cutLine(first.head),
            reason: 'LineTooLong',
          },
          slot.ring,
        );
      case 'line': {
        try {
          return normalizeEventLine(first.line);
        } catch (raw) {
          await proc.kill();
          const cause = toMobKitError(raw);
          throw moduleError(
            'InvalidModuleOutput',
            id,
            `module "${id}" ready line is not a valid event envelope: ${cause.message}`,
            {
              line: cutLine(first.line),
              reason: cause.code,
            },
            slot.ring,
            cause,
          );
        }
      }
    }
  }

  /** Stops a started instance during a restart or replacement (honours the force-failure test hook). */
  private async terminateForRestart(slot: Slot, instance: Instance): Promise<void> {
    if (this.options.supervisorTestForceTerminateFailure) {
      throw new SupervisorError('TerminateFailed', `forced terminate failure for testing (module "${slot.id}")`, {
        details: { moduleId: slot.id },
      });
    }
    instance.retired = true;
    await instance.session?.close();
    const outcome = await instance.proc.terminate(this.options.shutdownGraceMs);
    if (outcome.survivors.length > 0) {
      this.strays.add(instance.proc);
      throw new SupervisorError(
        'TerminateFailed',
        `module "${slot.id}" processes ${outcome.survivors.join(', ')} survived SIGKILL`,
        {
          details: { moduleId: slot.id, survivors: outcome.survivors },
        },
      );
    }
  }

  private async discard(instance: Instance): Promise<void> {
    instance.retired = true;
    await instance.session?.close();
    const outcome = await instance.proc.kill();
    if (outcome.survivors.length > 0) this.strays.add(instance.proc);
  }

  private install(slot: Slot, started: Started): void {
    const { instance } = started;
    slot.instance = instance;
    slot.loaded = true;
    slot.state = 'Healthy';
    slot.healthySince = this.clock.nowMs();
    const at = this.startOrder.indexOf(slot.id);
    if (at >= 0) this.startOrder.splice(at, 1);
    this.startOrder.push(slot.id);
    if (!slot.isMcp) {
      instance.proc.onLines(
        (line) => this.onModuleLine(slot, instance, line),
        (head, limitBytes) =>
          this.onInvalidLine(
            slot,
            instance,
            `a stdout line longer than ${limitBytes} bytes was dropped; it starts ${JSON.stringify(head)}`,
          ),
      );
    }
    void instance.proc.exited.then((info) => this.onExit(slot, instance, info));
    this.addEvent(started.event);
  }

  // ---------------------------------------------------------------- monitoring after ready

  private onModuleLine(slot: Slot, instance: Instance, line: string): void {
    if (instance.retired || line.trim() === '') return;
    let event: EventEnvelope;
    try {
      event = normalizeEventLine(line);
    } catch (raw) {
      this.onInvalidLine(slot, instance, toMobKitError(raw).message);
      return;
    }
    this.addEvent(event);
  }

  private onInvalidLine(slot: Slot, instance: Instance, message: string): void {
    instance.invalidLines += 1;
    if (instance.invalidLines > MAX_INVALID_LINE_WARNINGS) return;
    const suffix =
      instance.invalidLines === MAX_INVALID_LINE_WARNINGS
        ? ' (further invalid lines from this process are dropped without a warning)'
        : '';
    this.warn(
      slot.id,
      new SupervisorError(
        'InvalidModuleOutput',
        `module "${slot.id}" wrote an invalid event line: ${message}${suffix}`,
        { details: { moduleId: slot.id } },
      ),
    );
  }

  private onExit(slot: Slot, instance: Instance, info: ExitInfo): void {
    if (instance.retired || this.stopping || slot.instance !== instance) return;
    instance.retired = true;
    void this.handleCrash(slot, instance, info).catch(() => undefined);
  }

  /** A loaded module died: `Healthy → Failed → Restarting → Healthy` under its policy, with growing backoff. */
  private async handleCrash(slot: Slot, instance: Instance, info: ExitInfo): Promise<void> {
    const generation = slot.generation;
    slot.instance = undefined;
    void instance.session?.close();
    const cleanup = await instance.proc.kill(); // its own children go with it
    if (cleanup.survivors.length > 0) this.strays.add(instance.proc);
    const reason = describeExit(info);
    const clean = info.exitCode === 0 && !info.signal;
    const policy = slot.config.restartPolicy;
    const restart = policy === 'always' || (policy === 'on_failure' && !clean);
    const budget = restartBudget(policy, this.options);
    if (this.clock.nowMs() - slot.healthySince >= this.options.restartStableMs) slot.crashStreak = 0;
    let attempt = slot.attempts;
    let from: ModuleHealthState = 'Healthy';
    let lastError: MobKitError = moduleError(
      'ModuleUnavailable',
      slot.id,
      `module "${slot.id}" exited after it was ready (${reason})`,
      { exit: info },
      slot.ring,
    );
    if (!clean) {
      this.record({ moduleId: slot.id, from, to: 'Failed', attempt }, true, { reason });
      from = 'Failed';
    }
    for (;;) {
      if (this.stopping || slot.generation !== generation) return;
      if (!restart || slot.crashStreak >= budget) {
        this.record({ moduleId: slot.id, from, to: 'Stopped', attempt }, true, { reason });
        slot.loaded = false;
        if (!clean || restart) {
          const why = restart ? `its restart budget (${budget}) is exhausted` : `its restart policy is ${policy}`;
          this.warn(
            slot.id,
            new SupervisorError(lastError.code, `module "${slot.id}" stopped (${why}): ${lastError.message}`, {
              details: lastError.details,
              cause: lastError,
            }),
          );
        }
        return;
      }
      this.record({ moduleId: slot.id, from, to: 'Restarting', attempt }, true);
      const delay = crashRestartDelay(slot.crashStreak, this.crashBackoff());
      slot.crashStreak += 1;
      slot.restarts += 1;
      await this.sleep(delay);
      const result = await this.locked(async (): Promise<'done' | MobKitError> => {
        if (this.stopping || slot.generation !== generation) return 'done';
        attempt = slot.attempts + 1;
        slot.attempts = attempt;
        let started: Started;
        try {
          started = await this.startAttempt(slot, attempt, slot.timeoutMs);
        } catch (raw) {
          return toMobKitError(raw);
        }
        if (this.stopping || slot.generation !== generation) {
          await this.discard(started.instance);
          return 'done';
        }
        this.record({ moduleId: slot.id, from: 'Restarting', to: 'Healthy', attempt }, true);
        this.install(slot, started);
        return 'done';
      });
      if (result === 'done') return;
      lastError = result;
      this.record({ moduleId: slot.id, from: 'Restarting', to: 'Failed', attempt }, true, { reason: result.message });
      from = 'Failed';
    }
  }

  private crashBackoff(): CrashBackoff {
    return {
      baseMs: this.options.supervisorRestartBackoffMs,
      minMs: this.options.restartBackoffMinMs,
      multiplier: this.options.restartBackoffMultiplier,
      maxMs: this.options.restartBackoffMaxMs,
    };
  }

  // ---------------------------------------------------------------- calls

  async callTool(
    moduleId: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<McpToolResult> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    if (typeof tool !== 'string' || tool.trim() === '') {
      throw new SupervisorError('InvalidInput', `tool: expected a non-empty tool name, got ${JSON.stringify(tool)}`, {
        details: { field: 'tool', moduleId },
      });
    }
    const argsValue: unknown = args ?? {};
    if (typeof argsValue !== 'object' || argsValue === null || Array.isArray(argsValue)) {
      throw new SupervisorError(
        'InvalidInput',
        `arguments: expected a JSON object for tool "${tool}" of module "${moduleId}", got ${Array.isArray(argsValue) ? 'array' : typeof argsValue}`,
        {
          details: { field: 'arguments', moduleId, tool },
        },
      );
    }
    const slot = this.loadedSlot(moduleId);
    if (!slot.isMcp) {
      throw new SupervisorError(
        'McpRequired',
        `module "${moduleId}" is a JSON-line module; tool "${tool}" needs an MCP module (set MOBKIT_MODULE_BOUNDARY=mcp in its pre_spawn env)`,
        {
          details: { moduleId, flow: `call_tool:${tool}` },
        },
      );
    }
    const instance = this.healthyInstance(slot);
    const session = instance.session as McpSession;
    if (!instance.tools.includes(tool)) {
      instance.tools = await session.listTools(timeoutMs);
      if (!instance.tools.includes(tool)) {
        throw new SupervisorError(
          'ToolNotFound',
          `MCP module "${moduleId}" has no tool "${tool}"; available tools: ${instance.tools.length === 0 ? '(none)' : instance.tools.join(', ')}`,
          {
            details: { moduleId, tool, availableTools: [...instance.tools] },
          },
        );
      }
    }
    return session.callTool(tool, argsValue as Record<string, unknown>, timeoutMs);
  }

  async routeModuleCall(request: RouteModuleCallRequest, timeoutMs: number): Promise<RouteModuleCallResult> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    const { moduleId, method } = request ?? ({} as RouteModuleCallRequest);
    if (typeof moduleId !== 'string' || moduleId.trim() === '') {
      throw new SupervisorError(
        'InvalidInput',
        `module_id: expected a non-empty string, got ${JSON.stringify(moduleId)}`,
        { details: { field: 'module_id' } },
      );
    }
    if (typeof method !== 'string' || method.trim() === '') {
      throw new SupervisorError('InvalidInput', `method: expected a non-empty string, got ${JSON.stringify(method)}`, {
        details: { field: 'method', moduleId },
      });
    }
    const slot = this.loadedSlot(moduleId);
    if (slot.isMcp) {
      const params = request.params ?? {};
      const result = await this.callTool(moduleId, method, params as Record<string, unknown>, timeoutMs);
      return { moduleId, method, payload: result.payload };
    }
    if (CORE_MCP_MODULES.includes(moduleId)) {
      throw new SupervisorError(
        'McpRequired',
        `module "${moduleId}" is a core module and must be an MCP module for "${method}" (set MOBKIT_MODULE_BOUNDARY=mcp in its pre_spawn env)`,
        {
          details: { moduleId, flow: method },
        },
      );
    }
    // As in the original, a JSON-line module answers a routed call by starting once and writing its
    // first event; the call's params are not delivered to it.
    const proc = ModuleProcess.spawn(
      { command: slot.config.command, args: slot.config.args, env: moduleEnv(slot.preSpawn) },
      slot.ring,
    );
    const event = await this.readReadyLine(slot, proc, await proc.firstLine(timeoutMs), timeoutMs);
    const outcome = await proc.kill();
    if (outcome.survivors.length > 0) this.strays.add(proc);
    if (event.event.kind !== 'module' || event.event.module !== moduleId) {
      const got = event.event.kind === 'module' ? `module "${event.event.module}"` : `agent "${event.event.agentId}"`;
      throw new SupervisorError(
        'UnexpectedRouteResponse',
        `module "${moduleId}" answered "${method}" with an event of ${got}`,
        {
          details: { moduleId, method, eventId: event.eventId },
        },
      );
    }
    return { moduleId, method, payload: event.event.payload };
  }

  // ---------------------------------------------------------------- shutdown

  shutdown(): Promise<ModuleShutdownReport> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.running = false;
    this.stopping = true;
    this.stopController.abort();
    this.stage('ShutdownRequested');
    this.shutdownPromise = this.locked(async () => {
      const terminatedModules = this.loadedModules();
      let orphanProcesses = 0;
      const order = [...this.startOrder].reverse();
      for (const slot of this.slots.values()) if (!order.includes(slot.id)) order.push(slot.id);
      for (const id of order) {
        const slot = this.slots.get(id);
        const instance = slot?.instance;
        if (!slot || !instance) continue;
        instance.retired = true;
        void instance.session?.close();
        const outcome = await instance.proc.terminate(this.options.shutdownGraceMs);
        orphanProcesses += outcome.survivors.length;
        slot.instance = undefined;
        slot.loaded = false;
      }
      for (const proc of this.strays) {
        const outcome = await proc.kill();
        orphanProcesses += outcome.survivors.length;
      }
      this.strays.clear();
      this.stage('ShutdownComplete');
      return { terminatedModules, orphanProcesses };
    });
    return this.shutdownPromise;
  }

  // ---------------------------------------------------------------- helpers

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopController.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const signal = this.stopController.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private assertRunning(): void {
    if (!this.running) {
      throw new SupervisorError(
        'RuntimeNotRunning',
        'the module runtime was shut down; start a new one with startModuleRuntime',
        {},
      );
    }
  }

  private requireConfigured(moduleId: string): ModuleConfig {
    const config = typeof moduleId === 'string' ? this.configured.get(moduleId) : undefined;
    if (!config) {
      const known = sortedIds(this.configured.keys());
      throw new SupervisorError(
        'ModuleNotConfigured',
        `module ${JSON.stringify(moduleId)} is not configured; configured modules: ${known.length === 0 ? '(none)' : known.join(', ')}`,
        { details: { moduleId, configuredModules: known } },
      );
    }
    return config;
  }

  private loadedSlot(moduleId: string): Slot {
    const slot = this.slots.get(moduleId);
    if (!slot || !slot.loaded) {
      this.requireConfigured(moduleId);
      throw new SupervisorError(
        'UnloadedModule',
        `module "${moduleId}" is not loaded (state: ${slot?.state ?? 'never started'}); start it with spawnMember or reconcileModules`,
        {
          details: { moduleId, state: slot?.state ?? null },
        },
      );
    }
    return slot;
  }

  private healthyInstance(slot: Slot): Instance {
    const instance = slot.instance;
    // The live instance serves calls even while a replacement is starting (state Starting).
    if (!instance || instance.retired) {
      throw moduleError(
        'ModuleUnavailable',
        slot.id,
        `module "${slot.id}" is ${slot.state ?? 'not started'} right now (it is being restarted); retry shortly`,
        {
          state: slot.state ?? null,
        },
        slot.ring,
      );
    }
    return instance;
  }

  private slotFor(moduleId: string): Slot {
    const existing = this.slots.get(moduleId);
    if (existing) return existing;
    const config = this.requireConfigured(moduleId);
    const preSpawn = this.preSpawn.get(moduleId);
    const slot: Slot = {
      id: moduleId,
      config,
      preSpawn,
      isMcp: boundaryIsMcp(preSpawn),
      ring: new StderrRing(),
      state: undefined,
      instance: undefined,
      loaded: false,
      generation: 0,
      attempts: 0,
      crashStreak: 0,
      healthySince: 0,
      restarts: 0,
      timeoutMs: this.defaultTimeoutMs,
    };
    this.slots.set(moduleId, slot);
    return slot;
  }

  private stage(stage: LifecycleStage): void {
    this.lifecycle.push({ seq: this.lifecycle.length, stage });
  }

  private record(transition: ModuleHealthTransition, asEvent: boolean, extra: Record<string, unknown> = {}): void {
    const buffer = this.deferred?.get(transition.moduleId);
    if (buffer) buffer.push(transition);
    else this.transitions.push(transition);
    const slot = this.slots.get(transition.moduleId);
    if (slot) slot.state = transition.to;
    if (!asEvent) return;
    const ts = this.clock.nowMs();
    this.healthSeq += 1;
    this.addEvent({
      eventId: sequenceId(`evt-supervisor-health-${transition.moduleId}-${ts}`, this.healthSeq),
      source: 'module',
      timestampMs: ts,
      event: {
        kind: 'module',
        module: transition.moduleId,
        eventType: 'supervisor.health',
        payload: {
          module_id: transition.moduleId,
          from: transition.from,
          to: transition.to,
          attempt: transition.attempt,
          ...extra,
        },
      },
    });
  }

  private warn(moduleId: string, error: MobKitError): void {
    const ts = this.clock.nowMs();
    this.addEvent({
      eventId: this.uniqueId(`evt-supervisor-warning-${moduleId}-${ts}`),
      source: 'module',
      timestampMs: ts,
      event: {
        kind: 'module',
        module: moduleId,
        eventType: 'supervisor.warning',
        payload: { error: error.message, code: error.code },
      },
    });
  }

  private mcpReadyEvent(moduleId: string, tools: string[]): EventEnvelope {
    const ts = this.clock.nowMs();
    return {
      eventId: this.uniqueId(`evt-mcp-ready-${moduleId}-${ts}`),
      source: 'module',
      timestampMs: ts,
      event: { kind: 'module', module: moduleId, eventType: 'mcp.ready', payload: { tools: [...tools] } },
    };
  }

  private uniqueId(base: string): string {
    const n = this.usedEventIds.get(base) ?? 0;
    this.usedEventIds.set(base, n + 1);
    if (this.usedEventIds.size > 10_000) this.usedEventIds.clear();
    return n === 0 ? base : `${base}-${n}`;
  }

  private addEvent(event: EventEnvelope): void {
    insertEventSorted(this.events, event);
    if (this.events.length > this.options.maxMergedEvents) this.events.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure never reaches the supervisor
      }
    }
  }
}

/**
 * Starts the modules of `config.discovery.modules`, in order, under supervision (spec §3): each is
 * spawned with execa (env = parent env + its pre-spawn env), must pass its ready handshake within
 * `timeoutMs` (first stdout line = an event envelope; MCP modules: `initialize` + `tools/list`), and
 * is restarted per its policy and the budgets of `options`. A module that exhausts its budget is not
 * loaded and a `supervisor.warning` event says why; an id that is not configured fails with
 * `ModuleNotConfigured` before anything is started.
 */
export async function startModuleRuntime(
  config: MobKitConfig,
  startOptions: StartModuleRuntimeOptions,
): Promise<ModuleRuntime> {
  const timeoutMs = requireTimeout(startOptions?.timeoutMs);
  if (!config || !Array.isArray(config.modules) || !config.discovery || !Array.isArray(config.discovery.modules)) {
    throw new SupervisorError(
      'InvalidConfig',
      'config: expected { modules: ModuleConfig[], discovery: { namespace, modules: string[] }, preSpawn: PreSpawnData[] }',
      {
        details: { field: 'config' },
      },
    );
  }
  const configured = new Set(config.modules.map((m) => m.id));
  for (const [i, id] of config.discovery.modules.entries()) {
    if (!configured.has(id)) {
      const known = sortedIds(configured);
      throw new SupervisorError(
        'ModuleNotConfigured',
        `discovery.modules[${i}]: module ${JSON.stringify(id)} is not configured; configured modules: ${known.length === 0 ? '(none)' : known.join(', ')}`,
        { details: { moduleId: id, field: `discovery.modules[${i}]`, configuredModules: known } },
      );
    }
  }
  const concurrency = startOptions.startConcurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new SupervisorError(
      'InvalidInput',
      `startConcurrency: expected an integer ≥ 1, got ${JSON.stringify(concurrency)}`,
      { details: { field: 'startConcurrency' } },
    );
  }
  const runtime = new ModuleRuntimeImpl(
    config,
    timeoutMs,
    startOptions.options,
    startOptions.clock,
    startOptions.maxMergedEvents,
  );
  await runtime.start(startOptions.agentEvents ?? [], concurrency);
  return runtime;
}
