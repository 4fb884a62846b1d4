import {
  type Clock,
  type EventEnvelope,
  type LifecycleEvent,
  type MobKitConfig,
  MobKitError,
  type ModuleHealthTransition,
  type RuntimeOptions,
  type UnifiedEvent,
  defaultRuntimeOptions,
  isMobKitError,
  systemClock,
  toMobKitError,
} from '@mobkit/core';
import { type ModuleRuntime, startModuleRuntime } from '@mobkit/supervisor';
import { type RoutingResolution, type RoutingResolveRequest, type RuntimeRoute, RoutingService } from '@mobkit/routing';
import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import {
  type ReferenceAppRouterOptions,
  type ReferenceAppRuntimeSurface,
  buildReferenceAppRouter,
} from '@mobkit/reference-app';
import type { Router } from 'express';
import { createRpcHandler } from './rpc.js';
import { EventHub, type UnifiedEventListener } from './events.js';
import { referenceAppSurface } from './surface.js';
import { type MobBootstrapSpec } from './spec.js';
import {
  type DiscoveredMember,
  type Discovery,
  type ErrorEvent,
  type MobHandle,
  type MobMemberSnapshot,
  type MobReconcileReport,
  type MobStopResult,
  type ReconcileRoutingReport,
  type ShutdownDrainReport,
  type SpawnSpecInput,
  type UnifiedRuntimeReconcileReport,
  type UnifiedRuntimeShutdownReport,
  agentEventToEnvelope,
  bootMob,
  discoverySpecToSpawnSpec,
} from './mob.js';
import {
  DeliveryBridge,
  type DeliveryRecordView,
  type DeliverySendInput,
  type DeliveryHistoryQuery,
} from './delivery.js';
import { SchedulingBridge, type RuntimeDispatchReport, type ScheduleInput } from './scheduling.js';

/** Default bound on draining agent activity at shutdown. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5_000;
/** Per-operation timeout of calls into the core MCP modules (router, delivery, scheduling), as the original's 1 s. */
export const CORE_MODULE_MCP_TIMEOUT_MS = 1_000;
/** Route keys the runtime manages for roster members: `mob.member.<id>`. */
export const MANAGED_ROUTE_PREFIX = 'mob.member.';

/** Hooks and extras accepted by the builder. */
interface BuilderState {
  mobSpec?: MobBootstrapSpec;
  moduleConfig?: MobKitConfig;
  timeoutMs?: number;
  runtimeOptions: Partial<RuntimeOptions>;
  moduleAgentEvents: EventEnvelope<UnifiedEvent>[];
  postSpawnHook?: (memberIds: string[]) => unknown;
  postReconcileHook?: (report: UnifiedRuntimeReconcileReport) => unknown;
  onError?: (event: ErrorEvent) => unknown;
  discovery?: Discovery;
  preSpawnHook?: () => unknown;
  drainTimeoutMs: number;
  clock: Clock;
  coreModuleTimeoutMs: number;
}

/**
 * Builds a {@link UnifiedRuntime}: `UnifiedRuntime.builder().mobSpec(…).moduleConfig(…).timeout(ms).build()`.
 * The mob spec, module config and timeout are required (`MissingRequiredField`, checked in that order).
 */
export class UnifiedRuntimeBuilder {
  private readonly state: BuilderState = {
    runtimeOptions: {},
    moduleAgentEvents: [],
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    clock: systemClock,
    coreModuleTimeoutMs: CORE_MODULE_MCP_TIMEOUT_MS,
  };

  /** The mob to bootstrap (required). */
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
  onError(hook: (event: ErrorEvent) => unknown): this {
    this.state.onError = hook;
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
   * Boots the mob, then the modules; if the modules fail to start the mob is stopped again and the
   * start-up error returned (`ModuleStartupFailed`, or `ModuleStartupRollbackFailed` if stopping
   * failed too). Then runs the pre-spawn hook and discovery and spawns what discovery found.
   */
  async build(): Promise<UnifiedRuntime> {
    const s = this.state;
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
    const options: RuntimeOptions = { ...defaultRuntimeOptions(), ...s.runtimeOptions };
    const hub = new EventHub();
    const mob = await bootMob(s.mobSpec);

    let modules: ModuleRuntime;
    try {
      modules = await startModuleRuntime(s.moduleConfig, {
        timeoutMs: s.timeoutMs,
        options,
        agentEvents: s.moduleAgentEvents,
      });
    } catch (error) {
      const startupError = toMobKitError(error);
      try {
        await mob.stop();
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

    const runtime = new UnifiedRuntime(s, options, hub, mob, modules);
    try {
      await runtime.bootstrapDiscovery();
    } catch (error) {
      await runtime.shutdown().catch(() => undefined);
      throw error;
    }
    return runtime;
  }
}

function missing(field: 'mobSpec' | 'moduleConfig' | 'timeout', hint: string): MobKitError {
  return new MobKitError('MissingRequiredField', `UnifiedRuntime builder: ${field} is required; ${hint}`, {
    details: { field },
  });
}

/**
 * The mob and its modules as one runtime: a roster of LLM agents (embedded mob) plus supervised
 * module processes, one ordered event stream, roster-managed routes, trusted routing, delivery and
 * schedule dispatch with runtime injection into members, and an ordered shutdown.
 */
export class UnifiedRuntime {
  private readonly routing: RoutingService;
  private readonly deliveryBridge: DeliveryBridge;
  private readonly schedulingBridge: SchedulingBridge;
  private readonly unsubscribers: Array<() => void> = [];
  private shuttingDown = false;
  private readonly httpAbort = new AbortController();
  private shutdownReport: Promise<UnifiedRuntimeShutdownReport> | undefined;
  private agentEventsSeen = 0;

  /** Starts the builder. */
  static builder(): UnifiedRuntimeBuilder {
    return new UnifiedRuntimeBuilder();
  }

  /** Shortcut: `builder().mobSpec(mobSpec).moduleConfig(moduleConfig).timeout(timeoutMs).build()`. */
  static bootstrap(mobSpec: MobBootstrapSpec, moduleConfig: MobKitConfig, timeoutMs: number): Promise<UnifiedRuntime> {
    return UnifiedRuntime.builder().mobSpec(mobSpec).moduleConfig(moduleConfig).timeout(timeoutMs).build();
  }

  /** @internal use {@link UnifiedRuntime.builder}. */
  constructor(
    private readonly settings: BuilderState,
    /** The supervisor options in force. */
    readonly options: RuntimeOptions,
    private readonly hub: EventHub,
    private readonly mob: MobHandle,
    private readonly modules: ModuleRuntime,
  ) {
    for (const event of modules.mergedEvents()) hub.publish(event);
    this.unsubscribers.push(modules.subscribe((event) => hub.publish(event)));
    this.unsubscribers.push(
      mob.subscribe((mobEvent) => {
        if (mobEvent.kind !== 'agent') return;
        this.agentEventsSeen += 1;
        if (mobEvent.event.type === 'run_failed') {
          this.fireError({ category: 'host_loop_crash', member_id: mobEvent.memberId, error: mobEvent.event.error });
        }
        hub.publish(agentEventToEnvelope(mobEvent));
      }),
    );
    const timeoutMs = settings.coreModuleTimeoutMs;
    this.routing = new RoutingService({
      loadedModules: () => this.modules.loadedModules(),
      router: async (request) =>
        (await this.modules.callTool('router', 'routing.resolve', { ...request }, timeoutMs)).payload,
      emit: (event) => hub.publish(event as EventEnvelope<UnifiedEvent>),
      clock: settings.clock,
      latestEventMs: () => hub.latestTimestampMs(),
    });
    this.deliveryBridge = new DeliveryBridge({
      trusted: this.routing.trusted,
      modules: this.modules,
      mob: this.mob,
      hub,
      clock: settings.clock,
      timeoutMs,
    });
    this.schedulingBridge = new SchedulingBridge({
      modules: this.modules,
      mob: this.mob,
      hub,
      clock: settings.clock,
      timeoutMs,
    });
  }

  /** @internal runs the pre-spawn hook and discovery once, at build. */
  async bootstrapDiscovery(): Promise<void> {
    let context: unknown = null;
    if (this.settings.preSpawnHook) {
      try {
        context = await this.settings.preSpawnHook();
      } catch (error) {
        throw new MobKitError('PreSpawnHookFailed', `pre-spawn hook failed: ${toMobKitError(error).message}`, {
          cause: error,
        });
      }
    }
    if (!this.settings.discovery) return;
    let found: DiscoveredMember[];
    try {
      found = await this.settings.discovery.discover(context);
    } catch (error) {
      throw new MobKitError('DiscoveryFailed', `agent discovery failed: ${toMobKitError(error).message}`, {
        cause: error,
      });
    }
    if (found.length > 0) await this.spawnMany(found.map(discoverySpecToSpawnSpec));
  }

  // ---------------------------------------------------------------- mob

  /** The embedded mob's handle (roster, comms, turns). */
  mobHandle(): MobHandle {
    return this.mob;
  }

  /** The mob's state (`'Running'` after bootstrap). */
  status(): ReturnType<MobHandle['status']> {
    return this.mob.status();
  }

  /** Spawns one member; fires the post-spawn hook, or a `spawn_failure` error event. */
  async spawn(spec: SpawnSpecInput): Promise<MobMemberSnapshot> {
    this.assertAccepting('spawn');
    try {
      const snapshot = await this.mob.spawn(spec);
      this.firePostSpawn([snapshot.meerkatId]);
      return snapshot;
    } catch (error) {
      this.fireError({
        category: 'spawn_failure',
        member_id: spec.meerkatId,
        profile: spec.profile,
        error: toMobKitError(error).message,
      });
      throw error;
    }
  }

  /** Spawns several members; the post-spawn hook gets the ids spawned (if any). */
  async spawnMany(specs: SpawnSpecInput[]): Promise<MobMemberSnapshot[]> {
    this.assertAccepting('spawnMany');
    const snapshots: MobMemberSnapshot[] = [];
    for (const spec of specs) {
      try {
        snapshots.push(await this.mob.spawn(spec));
      } catch (error) {
        this.fireError({
          category: 'spawn_failure',
          member_id: spec.meerkatId,
          profile: spec.profile,
          error: toMobKitError(error).message,
        });
        throw error;
      }
    }
    if (snapshots.length > 0) this.firePostSpawn(snapshots.map((s) => s.meerkatId));
    return snapshots;
  }

  /** Spawns the member unless it exists; returns its snapshot. */
  async ensureMember(spec: SpawnSpecInput): Promise<Awaited<ReturnType<MobHandle['ensureMember']>>> {
    this.assertAccepting('ensureMember');
    return this.mob.ensureMember(spec);
  }

  /** Every member's snapshot. */
  listMembers(): ReturnType<MobHandle['listMembers']> {
    return this.mob.listMembers();
  }

  /** One member's snapshot, or `undefined`. */
  getMember(memberId: string): ReturnType<MobHandle['getMember']> {
    return this.mob.getMember(memberId);
  }

  /** Members whose label `labelKey` equals `labelValue`. */
  findMembers(labelKey: string, labelValue: string): ReturnType<MobHandle['findMembers']> {
    return this.mob.findMembers(labelKey, labelValue);
  }

  /** Retires a member (its managed route goes at the next reconcile). */
  retireMember(memberId: string): ReturnType<MobHandle['retire']> {
    return this.mob.retire(memberId);
  }

  /** Retires and spawns a member again with the same spec. */
  async respawnMember(memberId: string): Promise<Awaited<ReturnType<MobHandle['respawn']>>> {
    this.assertAccepting('respawnMember');
    return this.mob.respawn(memberId);
  }

  /** Sends a message to a member from the host; returns the accepting session id. */
  async sendMessage(memberId: string, content: Parameters<MobHandle['sendMessage']>[1]): Promise<string> {
    this.assertAccepting('sendMessage');
    return this.mob.sendMessage(memberId, content);
  }

  /**
   * Reconciles the roster to `specs` (retiring members not listed), then — when the `router` module is
   * loaded — keeps one managed route per active member (`mob.member.<id>`, sink `mob_member`, target
   * `delivery`, channel `notification`) and removes the routes of members that are gone.
   */
  async reconcile(specs: SpawnSpecInput[]): Promise<UnifiedRuntimeReconcileReport> {
    this.assertAccepting('reconcile');
    const mobReport: MobReconcileReport = await this.mob.reconcile(specs, { retireStale: true });
    if (mobReport.spawned.length > 0) this.firePostSpawn([...mobReport.spawned]);
    const routing = await this.reconcileRoutes();
    const report: UnifiedRuntimeReconcileReport = { mob: mobReport, routing };
    if (this.settings.postReconcileHook) {
      fireAndForget(() => this.settings.postReconcileHook?.(report));
    }
    return report;
  }

  private async reconcileRoutes(): Promise<ReconcileRoutingReport> {
    const routerModuleLoaded = this.modules.loadedModules().includes('router');
    const members = await this.mob.listMembers();
    const activeMembers = [...new Set(members.filter((m) => m.state === 'active').map((m) => m.meerkatId))].sort();
    if (!routerModuleLoaded) return { routerModuleLoaded, activeMembers, addedRouteKeys: [], removedRouteKeys: [] };
    const active = new Set(activeMembers);
    const removedRouteKeys: string[] = [];
    for (const route of this.routing.routes.list()) {
      if (route.routeKey.startsWith(MANAGED_ROUTE_PREFIX) && !active.has(route.recipient)) {
        this.routing.routes.delete(route.routeKey);
        removedRouteKeys.push(route.routeKey);
      }
    }
    const addedRouteKeys: string[] = [];
    for (const id of activeMembers) {
      const routeKey = `${MANAGED_ROUTE_PREFIX}${id}`;
      if (this.routing.routes.get(routeKey)) continue;
      this.routing.routes.add({
        routeKey,
        recipient: id,
        channel: 'notification',
        sink: 'mob_member',
        targetModule: 'delivery',
      });
      addedRouteKeys.push(routeKey);
    }
    return {
      routerModuleLoaded,
      activeMembers,
      addedRouteKeys: addedRouteKeys.sort(),
      removedRouteKeys: removedRouteKeys.sort(),
    };
  }

  // ---------------------------------------------------------------- modules

  /** True until shutdown. */
  moduleIsRunning(): boolean {
    return this.modules.isRunning();
  }

  /** Loaded module ids, sorted. */
  loadedModules(): string[] {
    return this.modules.loadedModules();
  }

  /** Makes sure `ids` are running (starting the ones that are not); returns how many were started. */
  async reconcileModules(ids: string[], timeoutMs: number): Promise<number> {
    this.assertAccepting('reconcileModules');
    return this.modules.reconcileModules(ids, timeoutMs);
  }

  /** Starts or replaces one module. */
  async spawnModule(moduleId: string, timeoutMs: number): Promise<Awaited<ReturnType<ModuleRuntime['spawnMember']>>> {
    this.assertAccepting('spawnModule');
    return this.modules.spawnMember(moduleId, timeoutMs);
  }

  /** Calls a tool of an MCP module on its kept session. */
  callTool(
    moduleId: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
  ): ReturnType<ModuleRuntime['callTool']> {
    return this.modules.callTool(moduleId, tool, args, timeoutMs);
  }

  /** Routes `{ moduleId, method, params }` to a module (`<module>/<method>` over JSON-RPC). */
  routeModuleCall(
    request: Parameters<ModuleRuntime['routeModuleCall']>[0],
    timeoutMs: number,
  ): ReturnType<ModuleRuntime['routeModuleCall']> {
    return this.modules.routeModuleCall(request, timeoutMs);
  }

  /** Every module health transition so far. */
  moduleHealthTransitions(): ModuleHealthTransition[] {
    return this.modules.healthTransitions();
  }

  /** Lifecycle stages: `MobStarted, ModulesStarted, MergedStreamStarted` then, at shutdown, `ShutdownRequested, ShutdownComplete`. */
  moduleLifecycleEvents(): LifecycleEvent[] {
    return this.modules.lifecycleEvents();
  }

  /** The merged stream (agent and module events, in `(timestamp_ms, event_id, source)` order; bounded). */
  moduleEvents(): EventEnvelope<UnifiedEvent>[] {
    return this.hub.events();
  }

  /** Live agent and module events; returns the unsubscribe function. */
  subscribe(listener: UnifiedEventListener): () => void {
    return this.hub.subscribe(listener);
  }

  // ---------------------------------------------------------------- routing & delivery

  /** Resolves a recipient through the router module and the route table into a trusted resolution. */
  async resolveRouting(request: RoutingResolveRequest): Promise<RoutingResolution> {
    this.assertAccepting('resolveRouting');
    return this.routing.resolve(request);
  }

  /** Operator-managed routes, sorted by key. */
  listRuntimeRoutes(): RuntimeRoute[] {
    return this.routing.routes.list();
  }

  /** Adds or replaces a route (validated). */
  addRuntimeRoute(route: RuntimeRoute | Record<string, unknown>): RuntimeRoute {
    return this.routing.routes.add(route);
  }

  /** Deletes a route by key (`RouteNotFound`). */
  deleteRuntimeRoute(routeKey: string): RuntimeRoute {
    return this.routing.routes.delete(routeKey);
  }

  /** Sends a payload along an issued resolution: checks, idempotency, rate limit, attempts. `mob_member` goes to the member. */
  async sendDelivery(request: DeliverySendInput): Promise<DeliveryRecordView> {
    this.assertAccepting('sendDelivery');
    return this.deliveryBridge.send(request);
  }

  /** Newest deliveries, in order. */
  deliveryHistory(query: DeliveryHistoryQuery = {}): DeliveryRecordView[] {
    return this.deliveryBridge.history(query);
  }

  // ---------------------------------------------------------------- scheduling

  /** Which schedules are due at `tickMs` (pure). */
  evaluateScheduleTick(schedules: ScheduleInput[], tickMs: number): ReturnType<SchedulingBridge['evaluate']> {
    return this.schedulingBridge.evaluate(schedules, tickMs);
  }

  /**
   * Dispatches the schedules due at `tickMs`, once each; a `runtime_injection` the scheduling module
   * returns is sent to the member and recorded as `runtime/runtime.injection.executed` (or `…failed`).
   */
  async dispatchScheduleTick(schedules: ScheduleInput[], tickMs: number): Promise<RuntimeDispatchReport> {
    if (this.shuttingDown) {
      throw new MobKitError(
        'RuntimeShuttingDown',
        'dispatchScheduleTick: the runtime is shutting down and accepts no new work',
      );
    }
    return this.schedulingBridge.dispatch(schedules, tickMs);
  }

  /**
   * Starts a live scheduler over `schedules` (e.g. from `schedules.toml`) that fires through this
   * runtime: each due tick is dispatched once, and injections go to the members. It stops at shutdown.
   */
  startScheduler(
    schedules: readonly ScheduleInput[],
    options: Parameters<SchedulingBridge['startScheduler']>[1] = {},
  ): ReturnType<SchedulingBridge['startScheduler']> {
    this.assertAccepting('startScheduler');
    return this.schedulingBridge.startScheduler(schedules, options);
  }

  /**
   * The reference app's Express router over this runtime (`/healthz`, the console and its JSON,
   * SSE streams, interactions, `POST /rpc` with {@link createRpcHandler}), behind the console auth of
   * `decisionState`. Its event streams close when the runtime shuts down.
   */
  buildReferenceAppRouter(
    decisionState: RuntimeDecisionState,
    options: Omit<ReferenceAppRouterOptions, 'rpcHandler'> &
      Partial<Pick<ReferenceAppRouterOptions, 'rpcHandler'>> = {},
  ): Router {
    const signal = options.signal ? AbortSignal.any([options.signal, this.httpAbort.signal]) : this.httpAbort.signal;
    return buildReferenceAppRouter(this.referenceAppSurface(), decisionState, {
      ...options,
      rpcHandler: options.rpcHandler ?? createRpcHandler(this),
      signal,
    });
  }

  /** What the reference app (`@mobkit/reference-app`) needs of this runtime. */
  referenceAppSurface(): ReferenceAppRuntimeSurface {
    return referenceAppSurface(this);
  }

  // ---------------------------------------------------------------- shutdown

  /** True once shutdown has begun. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Stops accepting work, drains agent activity (bounded), stops the modules (reverse start order,
   * SIGTERM, grace, SIGKILL of the process group), then stops the mob. Idempotent: later calls
   * return the first report.
   */
  shutdown(): Promise<UnifiedRuntimeShutdownReport> {
    this.shutdownReport ??= this.runShutdown();
    return this.shutdownReport;
  }

  private async runShutdown(): Promise<UnifiedRuntimeShutdownReport> {
    this.shuttingDown = true;
    this.httpAbort.abort();
    const drain = await this.drainAgentEvents();
    const moduleShutdown = await this.modules.shutdown();
    let mobStop: MobStopResult;
    try {
      await this.mob.stop();
      mobStop = { ok: true };
    } catch (error) {
      mobStop = { ok: false, error: toMobKitError(error) };
    }
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.deliveryBridge.close();
    await this.schedulingBridge.close();
    this.hub.close();
    return { drain, moduleShutdown, mobStop };
  }

  private async drainAgentEvents(): Promise<ShutdownDrainReport> {
    const started = Date.now();
    const seenBefore = this.agentEventsSeen;
    let timedOut = false;
    try {
      await this.mob.waitForIdle(this.settings.drainTimeoutMs);
    } catch {
      timedOut = true;
    }
    return { drainedCount: this.agentEventsSeen - seenBefore, timedOut, drainDurationMs: Date.now() - started };
  }

  private assertAccepting(operation: string): void {
    if (this.shuttingDown)
      throw new MobKitError(
        'RuntimeShuttingDown',
        `${operation}: the runtime is shutting down and accepts no new work`,
      );
  }

  private firePostSpawn(ids: string[]): void {
    const hook = this.settings.postSpawnHook;
    if (hook) fireAndForget(() => hook(ids));
  }

  private fireError(event: ErrorEvent): void {
    const hook = this.settings.onError;
    if (hook) fireAndForget(() => hook(event));
  }
}

/** Runs a user hook so that neither a throw nor a rejection can reach the runtime. */
function fireAndForget(fn: () => unknown): void {
  queueMicrotask(() => {
    try {
      const result = fn();
      if (result && typeof (result as Promise<unknown>).then === 'function')
        (result as Promise<unknown>).then(undefined, () => undefined);
    } catch {
      // Hooks are fire-and-forget; their failures never break the runtime.
    }
  });
}
