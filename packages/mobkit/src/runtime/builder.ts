import {
  type Clock,
  type EventEnvelope,
  type MobKitConfig,
  MobKitError,
  type MobKitStore,
  type RuntimeOptions,
  type UnifiedEvent,
  defaultRuntimeOptions,
  isMobKitError,
  systemClock,
  toMobKitError,
} from '@mobkit/core';
import { type ModuleRuntime, startModuleRuntime } from '@mobkit/supervisor';
import {
  type DiscoveredMember,
  type Discovery,
  type MobHandle,
  type UnifiedRuntimeReconcileReport,
  bootMob,
  memberToolModules,
  discoverySpecToSpawnSpec,
  releaseRestoredWork,
} from '../mob.js';
import type { MobBootstrapSpec } from '../spec.js';
import type { EventRetention } from '../event-log/retention.js';
import {
  CORE_MODULE_MCP_TIMEOUT_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  type EventLogWriterBounds,
  type RuntimeErrorEvent,
  type RuntimeSettings,
} from './settings.js';
import { type OpenedStore, openChosenStore } from './store-choice.js';
import type { UnifiedRuntime } from './unified-runtime.js';
import { DeferredToolHost } from './deferred-tools.js';
import { createModuleToolHost } from './module-tools.js';

/** What a started runtime is made of, handed by the builder to the runtime it assembles. */
export interface RuntimeParts {
  settings: RuntimeSettings;
  options: RuntimeOptions;
  mob: MobHandle;
  modules: ModuleRuntime;
  /** The store, opened, with the event log's bounds at start. */
  store: OpenedStore;
}

/**
 * Builds a {@link UnifiedRuntime}: `UnifiedRuntime.builder().mobSpec(…).moduleConfig(…).timeout(ms).build()`.
 * The mob spec, module config and timeout are required (`MissingRequiredField`, checked in that order).
 */
export class UnifiedRuntimeBuilder {
  private readonly state: RuntimeSettings = {
    runtimeOptions: {},
    moduleAgentEvents: [],
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    clock: systemClock,
    coreModuleTimeoutMs: CORE_MODULE_MCP_TIMEOUT_MS,
    store: { kind: 'memory' },
    eventRetention: {},
    eventLogWriter: {},
  };

  /**
   * @internal use {@link UnifiedRuntime.builder}; `assemble` makes the runtime from its started parts
   * (so this file never imports the runtime class it builds).
   */
  constructor(private readonly assemble: (parts: RuntimeParts) => UnifiedRuntime) {}

  /**
   * The mob to bootstrap (required): `MobBootstrapSpec.new(definition)` boots an embedded mob,
   * `MobBootstrapSpec.fromMob(mob)` hands over one you created (embedded or rkat-rpc). The runtime
   * owns the mob either way and closes it at shutdown.
   */
  mobSpec(spec: MobBootstrapSpec): this {
    this.state.mobSpec = spec;
    return this;
  }
  /** The modules to supervise (required). */
  moduleConfig(config: MobKitConfig): this {
    this.state.moduleConfig = config;
    return this;
  }
  /** Start-up timeout per module, in milliseconds (required). */
  timeout(ms: number): this {
    this.state.timeoutMs = ms;
    return this;
  }
  /** Supervisor options over the defaults (budgets 1/1, backoff 0 ms). */
  runtimeOptions(options: Partial<RuntimeOptions>): this {
    this.state.runtimeOptions = { ...this.state.runtimeOptions, ...options };
    return this;
  }
  /** Agent events to merge into the stream at start. */
  moduleAgentEvents(events: EventEnvelope<UnifiedEvent>[]): this {
    this.state.moduleAgentEvents = [...events];
    return this;
  }
  /** Called with the ids of members spawned by `spawn`, `spawnMany` and bootstrap discovery. */
  postSpawnHook(hook: (memberIds: string[]) => unknown): this {
    this.state.postSpawnHook = hook;
    return this;
  }
  /** Called with every reconcile report. */
  postReconcileHook(hook: (report: UnifiedRuntimeReconcileReport) => unknown): this {
    this.state.postReconcileHook = hook;
    return this;
  }
  /** Receives error events (`spawn_failure`, `host_loop_crash`, …); fire-and-forget. */
  onError(hook: (event: RuntimeErrorEvent) => unknown): this {
    this.state.onError = hook;
    return this;
  }
  /**
   * Receives every event of the module supervisor's stream as it happens, from the first module
   * start on: module events and the supervisor's own — `supervisor.start_failed` (each failed
   * start attempt), `supervisor.health` (crashes, restarts, `Stopped`) and `supervisor.warning` (a
   * module given up on), each naming the module and quoting the cause. Start-up failures happen
   * during `build()`, before `subscribe` could be called; this sees them too. A throw is ignored.
   */
  onModuleEvent(listener: (event: EventEnvelope) => void): this {
    this.state.onModuleEvent = listener;
    return this;
  }
  /** Agent discovery run once at build (after the pre-spawn hook). */
  discovery(discovery: Discovery): this {
    this.state.discovery = discovery;
    return this;
  }
  /** Runs once at build; its result is the context passed to discovery. */
  preSpawnHook(hook: () => unknown): this {
    this.state.preSpawnHook = hook;
    return this;
  }
  /** Bound on draining agent activity at shutdown (default 5 s). */
  drainTimeout(ms: number): this {
    this.state.drainTimeoutMs = ms;
    return this;
  }
  /** Clock for runtime events (tests). */
  clock(clock: Clock): this {
    this.state.clock = clock;
    return this;
  }
  /** Per-operation timeout for router/delivery/scheduling module calls (default 1 s). */
  coreModuleTimeout(ms: number): this {
    this.state.coreModuleTimeoutMs = ms;
    return this;
  }

  /**
   * The store the runtime keeps its event log (and, through delivery and scheduling, their ledgers
   * and claims) in. It is the caller's: the runtime never closes it. Without `.store()` or
   * {@link persistentState}, a fresh in-memory store is used (nothing survives the process; its
   * event log keeps at most 100,000 events by default).
   */
  store(store: MobKitStore): this {
    this.state.store = { kind: 'given', store };
    return this;
  }
  /**
   * Keeps the runtime's state in the SQLite store `<dir>/mobkit.db` (WAL; durable across a killed
   * process), opened at `build()` and closed by the runtime at shutdown. A directory that cannot be
   * written, or a file that is not a MobKit store or was written by a newer schema, fails `build()`
   * with a typed error naming the path (`StoreUnavailable`, `StoreCorrupt`, `StoreSchemaTooNew`)
   * before the mob or any module starts.
   */
  persistentState(dir: string): this {
    this.state.store = { kind: 'directory', dir };
    return this;
  }
  /**
   * How long and how many events the event log keeps, whichever limit is reached first; pruned in
   * the background. Defaults: 7 days and 1,000,000 events (100,000 for the in-memory store).
   */
  eventRetention(retention: Partial<EventRetention>): this {
    this.state.eventRetention = { ...this.state.eventRetention, ...checkRetention(retention) };
    return this;
  }

  /**
   * Bounds of the event log writer: `batchSize` events per append at most (default 512) and
   * `queueCapacity` events waiting (default 16,384). When the store is slower than events arrive and
   * the queue is full, an event is dropped — counted in status (`event_log.dropped`) and recorded as a
   * `runtime`/`event_log.dropped` event once there is room, never silently.
   */
  eventLogWriter(bounds: EventLogWriterBounds): this {
    for (const field of ['batchSize', 'queueCapacity'] as const) {
      const value = bounds[field];
      if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
        throw new MobKitError(
          'InvalidInput',
          `eventLogWriter.${field}: expected a positive integer, got ${String(value)}`,
          {
            details: { field: `eventLogWriter.${field}` },
          },
        );
      }
    }
    this.state.eventLogWriter = { ...this.state.eventLogWriter, ...bounds };
    return this;
  }

  /**
   * Opens the store first (a store that fails to open fails the build before anything starts), then
   * boots the mob, then the modules; if the modules fail to start the mob is closed again (stopped,
   * and an rkat-rpc child ended) and the start-up error returned (`ModuleStartupFailed`, or `ModuleStartupRollbackFailed` if stopping
   * failed too). Then runs the pre-spawn hook and discovery and spawns what discovery found.
   */
  async build(): Promise<UnifiedRuntime> {
    const settings: RuntimeSettings = { ...this.state };
    const { mobSpec, moduleConfig, timeoutMs } = requiredSettings(settings);
    const options: RuntimeOptions = { ...defaultRuntimeOptions(), ...settings.runtimeOptions };
    const toolModules = memberToolModules(
      mobSpec,
      moduleConfig.modules.map((m) => m.id),
    );
    const store = await openChosenStore(settings.store, settings.eventRetention);
    // The mob boots before the modules: its module tools wait for the supervisor's sessions.
    const moduleTools = toolModules.length > 0 ? new DeferredToolHost() : undefined;
    // Tool listing failures go to the runtime's event log; those before it exists wait for it.
    const toolNotices: { runtime?: UnifiedRuntime; early: Array<(runtime: UnifiedRuntime) => void> } = { early: [] };
    const toRuntime = (record: (runtime: UnifiedRuntime) => void) =>
      toolNotices.runtime ? record(toolNotices.runtime) : toolNotices.early.push(record);
    let mob: MobHandle;
    let modules: ModuleRuntime;
    try {
      mob = await bootMob(mobSpec, store.store, {
        ...(moduleTools ? { moduleTools } : {}),
        onToolsUnavailable: (notice) => toRuntime((r) => r.recordMemberToolsUnavailable(notice)),
        onMcpEvent: (event) => toRuntime((r) => r.recordMcpServerEvent(event)),
      });
      modules = await startModulesOrRollBack(mob, moduleConfig, {
        timeoutMs,
        options,
        agentEvents: settings.moduleAgentEvents,
        ...(settings.onModuleEvent ? { onEvent: settings.onModuleEvent } : {}),
      });
    } catch (error) {
      moduleTools?.fail(error);
      if (store.owned) await store.store.close().catch(() => undefined);
      throw error;
    }
    moduleTools?.bind(createModuleToolHost(modules));
    const runtime = this.assemble({ settings, options, mob, modules, store });
    toolNotices.runtime = runtime;
    for (const record of toolNotices.early.splice(0)) record(runtime);
    releaseRestoredWork(mob);
    try {
      await runDiscovery(runtime, settings);
    } catch (error) {
      await runtime.shutdown().catch(() => undefined);
      throw error;
    }
    return runtime;
  }
}

function requiredSettings(s: RuntimeSettings): {
  mobSpec: MobBootstrapSpec;
  moduleConfig: MobKitConfig;
  timeoutMs: number;
} {
  if (s.mobSpec === undefined) throw missing('mobSpec', 'call .mobSpec(MobBootstrapSpec.new(definition))');
  if (s.moduleConfig === undefined)
    throw missing('moduleConfig', 'call .moduleConfig({ modules, discovery, preSpawn })');
  if (s.timeoutMs === undefined) throw missing('timeout', 'call .timeout(ms), e.g. .timeout(2000)');
  if (!Number.isInteger(s.timeoutMs) || s.timeoutMs <= 0) {
    throw new MobKitError(
      'InvalidInput',
      `timeout: expected a positive integer of milliseconds, got ${String(s.timeoutMs)}`,
      { details: { field: 'timeout' } },
    );
  }
  return { mobSpec: s.mobSpec, moduleConfig: s.moduleConfig, timeoutMs: s.timeoutMs };
}

/** Starts the modules; when that fails the (already started) mob is closed again before the error is thrown. */
async function startModulesOrRollBack(
  mob: MobHandle,
  config: MobKitConfig,
  start: Parameters<typeof startModuleRuntime>[1],
): Promise<ModuleRuntime> {
  try {
    return await startModuleRuntime(config, start);
  } catch (error) {
    const startupError = toMobKitError(error);
    try {
      await mob.close();
    } catch (rollbackError) {
      throw new MobKitError(
        'ModuleStartupRollbackFailed',
        `module start-up failed (${startupError.message}) and stopping the mob again failed too (${toMobKitError(rollbackError).message})`,
        {
          cause: startupError,
          details: { startupError: startupError.toJSON(), rollbackError: toMobKitError(rollbackError).toJSON() },
        },
      );
    }
    if (isMobKitError(error)) throw error;
    throw new MobKitError(
      'ModuleStartupFailed',
      `module start-up failed: ${startupError.message}; the mob was stopped again`,
      { cause: error },
    );
  }
}

/** Runs the pre-spawn hook and discovery once, at build, and spawns what discovery found. */
async function runDiscovery(runtime: UnifiedRuntime, settings: RuntimeSettings): Promise<void> {
  let context: unknown = null;
  if (settings.preSpawnHook) {
    try {
      context = await settings.preSpawnHook();
    } catch (error) {
      throw new MobKitError('PreSpawnHookFailed', `pre-spawn hook failed: ${toMobKitError(error).message}`, {
        cause: error,
      });
    }
  }
  if (!settings.discovery) return;
  let found: DiscoveredMember[];
  try {
    found = await settings.discovery.discover(context);
  } catch (error) {
    throw new MobKitError('DiscoveryFailed', `agent discovery failed: ${toMobKitError(error).message}`, {
      cause: error,
    });
  }
  const specs = found.map((member, i) => discoverySpecToSpawnSpec(member, `discovered[${i}]`));
  // After a restore the members discovery finds are already in the roster: retained, as if the process had never stopped.
  const present = new Set((await runtime.listMembers()).map((m) => m.meerkatId));
  const missing = specs.filter((spec) => !present.has(spec.meerkatId));
  if (missing.length > 0) await runtime.spawnMany(missing);
}

function checkRetention(retention: Partial<EventRetention>): Partial<EventRetention> {
  for (const field of ['maxAgeMs', 'maxRows'] as const) {
    const value = retention[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new MobKitError(
        'InvalidInput',
        `eventRetention.${field}: expected a positive integer, got ${String(value)}`,
        { details: { field: `eventRetention.${field}` } },
      );
    }
  }
  return retention;
}

function missing(field: 'mobSpec' | 'moduleConfig' | 'timeout', hint: string): MobKitError {
  return new MobKitError('MissingRequiredField', `UnifiedRuntime builder: ${field} is required; ${hint}`, {
    details: { field },
  });
}
