import {
  type Clock,
  type EventEnvelope,
  type LifecycleEvent,
  type MobKitConfig,
  type ModuleHealthTransition,
  isMobKitError,
  systemClock,
  toMobKitError,
} from '@mobkit/core';
import { ModuleMonitor } from './crash-restart.js';
import { SupervisorError, moduleError } from './errors.js';
import { EventLog } from './event-log.js';
import { givenUpError, whyGivenUp } from './failure-cause.js';
import { ModuleLauncher } from './launcher.js';
import type { McpCallToolOptions, McpToolResult, ModuleToolInfo } from './mcp.js';
import { type CallHost, callModuleTool, moduleToolInfos, routeModuleCall } from './module-calls.js';
import type {
  ModuleEventListener,
  ModuleRuntime,
  ModuleShutdownReport,
  ModuleStatus,
  ModuleToolsChangedListener,
  RouteModuleCallRequest,
  RouteModuleCallResult,
} from './module-runtime.js';
import { ModuleTable, type Slot, type Started, sortedIds } from './module-table.js';
import { type StartModuleRuntimeOptions, type SupervisorOptions, requireTimeout, resolveOptions } from './options.js';
import { execaSpawner } from './spawner.js';
import { restartBudget, superviseStart } from './supervise.js';

/**
 * The runtime facade: serializes mutations (start, reconcile, spawn, crash restarts, shutdown) on
 * one chain, and composes the module table, the event log, the launcher, the monitor and calls.
 */
class ModuleRuntimeImpl implements ModuleRuntime {
  private running = true;
  private readonly stopController = new AbortController();
  private readonly table: ModuleTable;
  private readonly log: EventLog;
  private readonly launcher: ModuleLauncher;
  private readonly monitor: ModuleMonitor;
  private readonly calls: CallHost;
  private discovery: string[];
  private readonly startOrder: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private shutdownPromise: Promise<ModuleShutdownReport> | undefined;
  private readonly options: SupervisorOptions;
  private readonly clock: Clock;
  private readonly toolListeners = new Set<ModuleToolsChangedListener>();

  constructor(config: MobKitConfig, defaultTimeoutMs: number, start: StartModuleRuntimeOptions) {
    this.table = new ModuleTable(config, defaultTimeoutMs);
    this.discovery = [...config.discovery.modules];
    this.options = resolveOptions(start.options, start.maxMergedEvents);
    this.clock = start.clock ?? systemClock;
    this.log = new EventLog(this.clock, this.options.maxMergedEvents);
    if (start.onEvent) this.log.subscribe(start.onEvent);
    this.launcher = new ModuleLauncher(start.spawner ?? execaSpawner, this.options, this.log, (id) =>
      this.toolsChanged(id),
    );
    this.calls = { table: this.table, launcher: this.launcher };
    this.monitor = new ModuleMonitor({
      clock: this.clock,
      options: this.options,
      log: this.log,
      launcher: this.launcher,
      stopSignal: this.stopController.signal,
      record: (t, asEvent, extra) => this.record(t, asEvent, extra),
      locked: (fn) => this.locked(fn),
      install: (slot, started) => this.install(slot, started),
    });
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  // ---------------------------------------------------------------- start

  async start(agentEvents: readonly EventEnvelope[], concurrency: number, timeoutMs: number): Promise<void> {
    this.log.stage('MobStarted');
    const ids = [...new Set(this.discovery)];
    try {
      await this.locked(() => this.startAll(ids, concurrency, timeoutMs));
    } catch (error) {
      await this.shutdown();
      throw error;
    }
    this.log.stage('ModulesStarted');
    for (const event of agentEvents) this.log.add(event);
    this.log.stage('MergedStreamStarted');
  }

  /** Starts `ids` with up to `concurrency` at once; transitions and the start order still follow `ids`. */
  private async startAll(ids: string[], concurrency: number, timeoutMs: number): Promise<void> {
    const queue = [...ids];
    if (concurrency > 1) this.log.deferTransitions(ids);
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          await this.spawnLocked(id, timeoutMs);
        } catch (error) {
          // A module that exhausts its budget is not fatal: it is not loaded and a warning was recorded.
          if (!isMobKitError(error)) throw error;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
    } finally {
      if (concurrency > 1) {
        this.log.appendDeferred(ids);
        const rank = (id: string) => {
          const i = ids.indexOf(id);
          return i < 0 ? ids.length : i;
        };
        this.startOrder.sort((a, b) => rank(a) - rank(b));
      }
    }
  }

  // ---------------------------------------------------------------- accessors

  isRunning(): boolean {
    return this.running;
  }

  loadedModules(): string[] {
    return this.table.loadedIds();
  }

  lifecycleEvents(): LifecycleEvent[] {
    return this.log.lifecycleEvents();
  }

  healthTransitions(): ModuleHealthTransition[] {
    return this.log.healthTransitions();
  }

  mergedEvents(): EventEnvelope[] {
    return this.log.mergedEvents();
  }

  subscribe(listener: ModuleEventListener): () => void {
    return this.log.subscribe(listener);
  }

  onModuleToolsChanged(listener: ModuleToolsChangedListener): () => void {
    if (typeof listener !== 'function') {
      throw new SupervisorError('InvalidInput', `listener: expected a function, got ${typeof listener}`, {
        details: { field: 'listener' },
      });
    }
    this.toolListeners.add(listener);
    return () => {
      this.toolListeners.delete(listener);
    };
  }

  /** Tells every tools listener; a listener that throws does not stop the others or the supervisor. */
  private toolsChanged(moduleId: string): void {
    if (this.stopping) return;
    for (const listener of [...this.toolListeners]) {
      try {
        listener(moduleId);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  ingestEvents(events: readonly EventEnvelope[]): void {
    for (const event of events) this.log.add(event);
  }

  isMcpModule(moduleId: string): boolean {
    return this.table.isMcpModule(moduleId);
  }

  moduleStatus(moduleId: string): ModuleStatus | undefined {
    const slot = this.table.get(moduleId);
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
    for (const id of ids) this.table.requireConfigured(id);
    return this.locked(async () => {
      this.assertRunning();
      this.discovery = [...ids];
      let added = 0;
      for (const id of new Set(ids)) {
        if (this.table.get(id)?.loaded) continue;
        await this.spawnLocked(id, timeoutMs);
        added += 1;
      }
      return added;
    });
  }

  async spawnMember(moduleId: string, timeoutMs: number): Promise<void> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    this.table.requireConfigured(moduleId);
    await this.locked(async () => {
      this.assertRunning();
      await this.spawnLocked(moduleId, timeoutMs);
    });
  }

  /** Starts a module under the start algorithm of spec §3.3, then replaces its running instance, if any. */
  private async spawnLocked(moduleId: string, timeoutMs: number): Promise<void> {
    const slot = this.table.slotFor(moduleId);
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
        attempt: (n) => this.launcher.start(slot, n, timeoutMs),
        terminate: (started) => this.launcher.stopForRestart(slot, started.instance),
        sleep: (ms) => this.backoffWait(ms),
        record: (t) => this.record(t, false),
        failed: (attempt, error, willRetry) => this.log.startFailed(moduleId, attempt, error, willRetry),
      },
    );
    if (!outcome.ok) {
      const policy = slot.config.restartPolicy;
      const why = whyGivenUp(policy, restartBudget(policy, this.options));
      const headline = slot.instance
        ? `module "${moduleId}" could not start a new instance; the running one is kept`
        : `module "${moduleId}" is not loaded`;
      if (slot.instance) slot.state = 'Healthy';
      this.log.warn(moduleId, givenUpError(moduleId, headline, why, outcome.error));
      throw outcome.error;
    }
    const started = outcome.instance;
    if (outcome.warning) this.log.warn(moduleId, outcome.warning);
    if (!this.discovery.includes(moduleId)) this.discovery.push(moduleId);
    const existing = slot.instance;
    if (existing) await this.replace(slot, existing, started);
    if (this.stopping) {
      await this.launcher.discard(started.instance);
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

  /** Stops the running instance for its replacement; if it cannot be stopped it is kept and the replacement goes. */
  private async replace(slot: Slot, existing: NonNullable<Slot['instance']>, started: Started): Promise<void> {
    try {
      await this.launcher.stopForRestart(slot, existing);
    } catch (raw) {
      existing.retired = false;
      await this.launcher.discard(started.instance);
      const cause = toMobKitError(raw);
      const error = moduleError(
        'TerminateFailed',
        slot.id,
        `could not stop the running instance of module "${slot.id}" to replace it (${cause.message}); the running instance is kept and the replacement was stopped`,
        { pid: existing.proc.pid, replacementPid: started.instance.proc.pid },
        undefined,
        cause,
      );
      slot.state = 'Healthy';
      this.log.warn(slot.id, error);
      throw error;
    }
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
    this.monitor.watch(slot, instance);
    this.log.add(started.event);
    slot.installs += 1;
    if (slot.isMcp && slot.installs > 1) this.toolsChanged(slot.id); // a restarted or replaced instance listed its tools
  }

  private record(transition: ModuleHealthTransition, asEvent: boolean, extra?: Record<string, unknown>): void {
    this.log.record(transition, asEvent, extra);
    const slot = this.table.get(transition.moduleId);
    if (slot) slot.state = transition.to;
  }

  // ---------------------------------------------------------------- calls

  async callTool(
    moduleId: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
    options?: McpCallToolOptions,
  ): Promise<McpToolResult> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    return callModuleTool(this.calls, moduleId, tool, args, timeoutMs, options ?? {});
  }

  async moduleTools(moduleId: string): Promise<ModuleToolInfo[]> {
    this.assertRunning();
    return moduleToolInfos(this.calls, moduleId);
  }

  async routeModuleCall(request: RouteModuleCallRequest, timeoutMs: number): Promise<RouteModuleCallResult> {
    this.assertRunning();
    requireTimeout(timeoutMs);
    return routeModuleCall(this.calls, request, timeoutMs);
  }

  // ---------------------------------------------------------------- shutdown

  shutdown(): Promise<ModuleShutdownReport> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.running = false;
    this.stopController.abort();
    this.log.stage('ShutdownRequested');
    this.shutdownPromise = this.locked(async () => {
      const terminatedModules = this.loadedModules();
      let orphanProcesses = 0;
      const order = [...this.startOrder].reverse();
      for (const slot of this.table.all()) if (!order.includes(slot.id)) order.push(slot.id);
      for (const id of order) {
        const slot = this.table.get(id);
        const instance = slot?.instance;
        if (!slot || !instance) continue;
        orphanProcesses += await this.launcher.stop(instance);
        slot.instance = undefined;
        slot.loaded = false;
      }
      orphanProcesses += await this.launcher.stopStrays();
      this.log.stage('ShutdownComplete');
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

  /** The fixed backoff between start attempts, on the runtime's clock; ends early at shutdown. */
  private async backoffWait(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return;
    await this.clock.sleep(ms, this.stopController.signal).catch(() => undefined);
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
}

/**
 * Starts the modules of `config.discovery.modules`, in order, under supervision (spec §3): each is
 * spawned (by default with execa; env = parent env + its pre-spawn env), must pass its ready
 * handshake within `timeoutMs` (first stdout line = an event envelope; MCP modules: `initialize` +
 * `tools/list`), and is restarted per its policy and the budgets of `options`. A module that
 * exhausts its budget is not loaded and a `supervisor.warning` event says why; an id that is not
 * configured fails with `ModuleNotConfigured` before anything is started.
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
      { details: { field: 'config' } },
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
  const runtime = new ModuleRuntimeImpl(config, timeoutMs, startOptions);
  await runtime.start(startOptions.agentEvents ?? [], concurrency, timeoutMs);
  return runtime;
}
