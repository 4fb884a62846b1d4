import {
  type EventEnvelope,
  type LifecycleEvent,
  type MobKitConfig,
  MobKitError,
  type MobKitStore,
  type ModuleHealthTransition,
  type RuntimeOptions,
  type StoreInfo,
  type UnifiedEvent,
  toMobKitError,
  type StoreJson,
} from '@mobkit/core';
import type { McpHubEvent, PurgeOptions, PurgeReport, ToolsUnavailableNotice } from '@mobkit/mob-adapter';
import type { ModuleRuntime } from '@mobkit/supervisor';
import { type RoutingResolution, type RoutingResolveRequest, type RuntimeRoute, RoutingService } from '@mobkit/routing';
import type { PersistedEvent } from '../event-log/entries.js';
import type { EventQuery } from '../event-log/query.js';
import { type PersistedEventListener, RuntimeEventLog } from '../event-log/runtime-log.js';
import type { EventLogWriterStatus } from '../event-log/writer.js';
import { EventHub, type UnifiedEventListener } from '../events.js';
import type { MobBootstrapSpec } from '../spec.js';
import {
  type MobHandle,
  type MobReconcileReport,
  type MobStopResult,
  type ShutdownDrainReport,
  type SpawnSpecInput,
  type UnifiedRuntimeReconcileReport,
  type UnifiedRuntimeShutdownReport,
  agentEventToEnvelope,
} from '../mob.js';
import {
  DeliveryBridge,
  type DeliveryRecordView,
  type DeliverySendInput,
  type DeliveryHistoryQuery,
} from '../delivery.js';
import { SchedulingBridge, type RuntimeDispatchReport, type ScheduleInput } from '../scheduling.js';
import { type RuntimeParts, UnifiedRuntimeBuilder } from './builder.js';
import { MANAGED_ROUTE_PREFIX, reconcileManagedRoutes } from './managed-routes.js';
import { type RuntimeErrorEvent, type RuntimeSettings, fireAndForget } from './settings.js';
import type {
  RuntimeMemberSnapshot,
  RuntimeMessageContent,
  RuntimeMobStatus,
  RuntimeModuleCallRequest,
  RuntimeModuleCallResult,
  RuntimeScheduleEvaluation,
  RuntimeScheduler,
  RuntimeSchedulerOptions,
  RuntimeToolResult,
} from './types.js';

/** What {@link UnifiedRuntime.purgeMember} removed: the mob's report plus the event-log entries redacted. */
export interface RuntimePurgeReport extends PurgeReport {
  /** Event-log entries of the member whose payload is now `{redacted: true, reason: "purged"}`. */
  eventsRedacted: number;
}

/**
 * The mob and its modules as one runtime: a roster of LLM agents (any `MobRuntime`: the embedded
 * mob or an external rkat-rpc) plus supervised
 * module processes, one ordered event stream, roster-managed routes, trusted routing, delivery and
 * schedule dispatch with runtime injection into members, and an ordered shutdown. It speaks no
 * protocol itself: `createRpcHandler` serves it as JSON-RPC and `mobkit/http` over HTTP.
 */
export class UnifiedRuntime {
  /** The supervisor options in force. */
  readonly options: RuntimeOptions;
  private readonly settings: RuntimeSettings;
  private readonly hub = new EventHub();
  private readonly mob: MobHandle;
  private readonly modules: ModuleRuntime;
  private readonly routing: RoutingService;
  private readonly deliveryBridge: DeliveryBridge;
  private readonly schedulingBridge: SchedulingBridge;
  private readonly eventLog: RuntimeEventLog;
  private readonly store: MobKitStore;
  private readonly storeOwned: boolean;
  private readonly unsubscribers: Array<() => void> = [];
  private readonly shutdownController = new AbortController();
  private shutdownReport: Promise<UnifiedRuntimeShutdownReport> | undefined;
  private agentEventsSeen = 0;

  /** Starts the builder. */
  static builder(): UnifiedRuntimeBuilder {
    return new UnifiedRuntimeBuilder((parts) => new UnifiedRuntime(parts));
  }

  /** Shortcut: `builder().mobSpec(mobSpec).moduleConfig(moduleConfig).timeout(timeoutMs).build()`. */
  static bootstrap(mobSpec: MobBootstrapSpec, moduleConfig: MobKitConfig, timeoutMs: number): Promise<UnifiedRuntime> {
    return UnifiedRuntime.builder().mobSpec(mobSpec).moduleConfig(moduleConfig).timeout(timeoutMs).build();
  }

  /** @internal use {@link UnifiedRuntime.builder}. */
  constructor(parts: RuntimeParts) {
    const { settings, options, mob, modules, store } = parts;
    const hub = this.hub;
    this.settings = settings;
    this.options = options;
    this.mob = mob;
    this.modules = modules;
    this.store = store.store;
    this.storeOwned = store.owned;
    this.eventLog = new RuntimeEventLog({
      store: store.store,
      clock: settings.clock,
      retention: store.retention,
      bounds: store.bounds,
      ...settings.eventLogWriter,
      onFailure: (what, error) => {
        if (what === 'flush') this.fireError({ category: 'event_log_flush_failure', error: error.message });
      },
    });
    const log = this.eventLog;
    this.unsubscribers.push(hub.subscribe((event, agentPayload) => log.record(event, agentPayload)));
    log.recordLifecycle(modules.lifecycleEvents());
    for (const event of modules.mergedEvents()) hub.publish(event);
    this.unsubscribers.push(modules.subscribe((event) => hub.publish(event)));
    this.unsubscribers.push(
      mob.subscribe((mobEvent) => {
        if (mobEvent.kind !== 'agent') return;
        this.agentEventsSeen += 1;
        if (mobEvent.event.type === 'run_failed') {
          this.fireError({ category: 'host_loop_crash', member_id: mobEvent.memberId, error: mobEvent.event.error });
        }
        hub.publish(agentEventToEnvelope(mobEvent), mobEvent.event);
      }),
    );
    const timeoutMs = settings.coreModuleTimeoutMs;
    this.routing = new RoutingService({
      loadedModules: () => modules.loadedModules(),
      router: async (request) =>
        (await modules.callTool('router', 'routing.resolve', { ...request }, timeoutMs)).payload,
      emit: (event) => hub.publish(event as EventEnvelope<UnifiedEvent>),
      clock: settings.clock,
      latestEventMs: () => hub.latestTimestampMs(),
      trusted: store.trusted,
    });
    this.deliveryBridge = new DeliveryBridge({
      trusted: this.routing.trusted,
      modules,
      mob,
      hub,
      clock: settings.clock,
      timeoutMs,
      store: store.store,
    });
    this.schedulingBridge = new SchedulingBridge({
      modules,
      mob,
      hub,
      clock: settings.clock,
      timeoutMs,
      store: store.store,
    });
  }

  // ---------------------------------------------------------------- mob

  /**
   * The mob's handle (roster, comms, turns): the `MobRuntime` port. The runtime owns it and closes
   * it at shutdown; narrow it yourself (`kind`) for what only one adapter has.
   */
  mobHandle(): MobHandle {
    return this.mob;
  }

  /** The mob's state (`'Running'` after bootstrap). */
  status(): Promise<RuntimeMobStatus> {
    return this.mob.status();
  }

  /** Spawns one member; fires the post-spawn hook, or a `spawn_failure` error event. */
  async spawn(spec: SpawnSpecInput): Promise<RuntimeMemberSnapshot> {
    this.assertAccepting('spawn');
    try {
      const snapshot = await this.mob.spawn(spec);
      this.firePostSpawn([snapshot.meerkatId]);
      return snapshot;
    } catch (error) {
      this.fireSpawnFailure(spec, error);
      throw error;
    }
  }

  /** Spawns several members; the post-spawn hook gets the ids spawned (if any). */
  async spawnMany(specs: SpawnSpecInput[]): Promise<RuntimeMemberSnapshot[]> {
    this.assertAccepting('spawnMany');
    const snapshots: RuntimeMemberSnapshot[] = [];
    for (const spec of specs) {
      try {
        snapshots.push(await this.mob.spawn(spec));
      } catch (error) {
        this.fireSpawnFailure(spec, error);
        throw error;
      }
    }
    if (snapshots.length > 0) this.firePostSpawn(snapshots.map((s) => s.meerkatId));
    return snapshots;
  }

  /** Spawns the member unless it exists; returns its snapshot. */
  async ensureMember(spec: SpawnSpecInput): Promise<RuntimeMemberSnapshot> {
    this.assertAccepting('ensureMember');
    return this.mob.ensureMember(spec);
  }

  /** Every member's snapshot. */
  listMembers(): Promise<RuntimeMemberSnapshot[]> {
    return this.mob.listMembers();
  }

  /** One member's snapshot, or `undefined`. */
  getMember(memberId: string): Promise<RuntimeMemberSnapshot | undefined> {
    return this.mob.getMember(memberId);
  }

  /** Members whose label `labelKey` equals `labelValue`. */
  findMembers(labelKey: string, labelValue: string): Promise<RuntimeMemberSnapshot[]> {
    return this.mob.findMembers(labelKey, labelValue);
  }

  /** Retires a member (its managed route goes at the next reconcile). */
  retireMember(memberId: string): Promise<void> {
    return this.mob.retire(memberId);
  }

  /** Retires and spawns a member again with the same spec. */
  async respawnMember(memberId: string): Promise<RuntimeMemberSnapshot> {
    this.assertAccepting('respawnMember');
    return this.mob.respawn(memberId);
  }

  /**
   * Purges a member for a deletion request: the mob deletes its sessions, history and inbox
   * (retiring it first unless `retire: false`, which refuses an active member), its managed route
   * (`mob.member.<id>`) goes at once, and every event-log entry of the member — flushed first, so
   * nothing recorded before the purge escapes — has its payload replaced by `{redacted: true,
   * reason: "purged"}` (seqs and counts do not move). `UnsupportedForMode` when the mob cannot purge.
   */
  async purgeMember(memberId: string, options: PurgeOptions = {}): Promise<RuntimePurgeReport> {
    this.assertAccepting('purgeMember');
    const report = await this.mob.purgeMember(memberId, options);
    const routeKey = `${MANAGED_ROUTE_PREFIX}${memberId}`;
    if (this.routing.routes.get(routeKey)) this.routing.routes.delete(routeKey);
    const flushed = await this.eventLog.flush(this.settings.drainTimeoutMs);
    const eventsRedacted = await this.store.events.redact(memberId, 'purged');
    if (!flushed) {
      throw new MobKitError(
        'StoreWriteFailed',
        `purge of ${memberId}: its state is deleted and ${eventsRedacted} logged events are redacted, but the event log did not flush within ${this.settings.drainTimeoutMs} ms, so events still queued may keep their payloads; check the store and call purge_member again`,
        { details: { member_id: memberId, events_redacted: eventsRedacted } },
      );
    }
    return { ...report, eventsRedacted };
  }

  /** Sends a message to a member from the host; returns the accepting session id. */
  async sendMessage(memberId: string, content: RuntimeMessageContent): Promise<string> {
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
    const routing = reconcileManagedRoutes(
      this.routing.routes,
      await this.mob.listMembers(),
      this.modules.loadedModules().includes('router'),
    );
    const report: UnifiedRuntimeReconcileReport = { mob: mobReport, routing };
    const hook = this.settings.postReconcileHook;
    if (hook) fireAndForget(() => hook(report));
    return report;
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
  async spawnModule(moduleId: string, timeoutMs: number): Promise<void> {
    this.assertAccepting('spawnModule');
    return this.modules.spawnMember(moduleId, timeoutMs);
  }

  /** Calls a tool of an MCP module on its kept session. */
  callTool(
    moduleId: string,
    tool: string,
    args: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<RuntimeToolResult> {
    return this.modules.callTool(moduleId, tool, args, timeoutMs);
  }

  /** Routes `{ moduleId, method, params }` to a module (`<module>/<method>` over JSON-RPC). */
  routeModuleCall(request: RuntimeModuleCallRequest, timeoutMs: number): Promise<RuntimeModuleCallResult> {
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

  private toolNotices = 0;

  /**
   * @internal Records that a profile's members could not list an MCP server's or module's tools (the
   * embedded mob's `onToolsUnavailable`): a `runtime/member_tools.unavailable` event with `profile`,
   * `server` or `module`, and `error`, in the merged stream and the event log.
   */
  recordMemberToolsUnavailable(notice: ToolsUnavailableNotice): void {
    this.recordToolsEvent('member_tools.unavailable', {
      profile: notice.profile,
      ...(notice.server === undefined ? {} : { server: notice.server }),
      ...(notice.module === undefined ? {} : { module: notice.module }),
      error: notice.error,
    });
  }

  /**
   * @internal Records a lifecycle event of the mob's own MCP servers (`McpHub`'s `onEvent`) as
   * `runtime/mcp_server.<type>`: `connected` (transport, pid), `exited` (code, signal, stderr tail),
   * `restarting` (attempt, delay), `tools_changed` (tool names), `error` (message).
   */
  recordMcpServerEvent(event: McpHubEvent): void {
    const { type, server, ...rest } = event;
    const payload: { [key: string]: StoreJson } = { server };
    for (const [key, value] of Object.entries(rest)) {
      if (key === 'error' || value === undefined) continue; // the message says it; the object may not be JSON
      payload[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value as StoreJson;
    }
    this.recordToolsEvent(`mcp_server.${type}`, payload);
  }

  private recordToolsEvent(eventType: string, payload: { [key: string]: StoreJson }): void {
    this.toolNotices += 1;
    const now = this.settings.clock.nowMs();
    this.hub.publish({
      eventId: `evt-member-tools-${String(this.toolNotices).padStart(8, '0')}`,
      source: 'module',
      timestampMs: Math.max(now, this.hub.latestTimestampMs() ?? now),
      event: { kind: 'module', module: 'runtime', eventType, payload },
    });
  }

  /**
   * Live agent and module events as the merged stream sees them (at once, before they are in the
   * event log, without seqs); returns the unsubscribe function. For events with their log seq, after
   * they were appended, use {@link subscribeEventLog}.
   */
  subscribe(listener: UnifiedEventListener): () => void {
    return this.hub.subscribe((event) => listener(event));
  }

  // ---------------------------------------------------------------- event log

  /**
   * Events of the operational event log matching `query`, oldest first: every merged-stream event
   * (agent events with their payload), the lifecycle stages and the log's own `event_log.dropped`,
   * each with its gapless `seq`. `limit` is 1..1,000 (default 100); page on with `afterSeq`. A bad
   * field is a `MobKitError` naming it.
   */
  queryEvents(query: EventQuery = {}): Promise<PersistedEvent[]> {
    return this.eventLog.query(query);
  }

  /**
   * The newest events matching `query` (at most `limit`), newest first, e.g. for a replay window.
   * @internal for the runtime's RPC and HTTP surfaces.
   */
  newestEvents(query: Omit<EventQuery, 'limit'>, limit: number): Promise<PersistedEvent[]> {
    return this.eventLog.newest(query, limit);
  }

  /** The event log's first and last seq and its count, as the store has them. */
  eventLogBounds(): Promise<{ firstSeq: number; lastSeq: number; count: number }> {
    return this.eventLog.bounds();
  }

  /**
   * Live events of the event log, each after its append resolved (durable: its seq is never
   * reassigned, even after a crash), in seq order; returns the unsubscribe function.
   */
  subscribeEventLog(listener: PersistedEventListener): () => void {
    return this.eventLog.subscribe(listener);
  }

  /**
   * The store in use (`kind`, `location`, `schemaVersion`) and the event log writer's counters:
   * `lastSeq` acknowledged, events `pending` (queued or being appended), and events `dropped` because
   * the writer fell behind (each drop is also recorded as a `runtime`/`event_log.dropped` event).
   */
  storeStatus(): { store: StoreInfo; eventLog: EventLogWriterStatus } {
    return { store: this.eventLog.storeInfo, eventLog: this.eventLog.status() };
  }

  /** Resolves when every event recorded so far is in the log (or after `timeoutMs`); true when flushed. */
  flushEventLog(timeoutMs = this.settings.drainTimeoutMs): Promise<boolean> {
    return this.eventLog.flush(timeoutMs);
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

  /** Newest deliveries, in order: from the store (earlier runs included). */
  deliveryHistory(query: DeliveryHistoryQuery = {}): Promise<DeliveryRecordView[]> {
    return this.deliveryBridge.queryHistory(query);
  }

  // ---------------------------------------------------------------- scheduling

  /** Which schedules are due at `tickMs` (pure). */
  evaluateScheduleTick(schedules: ScheduleInput[], tickMs: number): RuntimeScheduleEvaluation {
    return this.schedulingBridge.evaluate(schedules, tickMs);
  }

  /**
   * Dispatches the schedules due at `tickMs`, once each; a `runtime_injection` the scheduling module
   * returns is sent to the member and recorded as `runtime/runtime.injection.executed` (or `…failed`).
   */
  async dispatchScheduleTick(schedules: ScheduleInput[], tickMs: number): Promise<RuntimeDispatchReport> {
    this.assertAccepting('dispatchScheduleTick');
    return this.schedulingBridge.dispatch(schedules, tickMs);
  }

  /**
   * Starts a live scheduler over `schedules` (e.g. from `schedules.toml`) that fires through this
   * runtime: each due tick is dispatched once, and injections go to the members. It stops at shutdown.
   */
  startScheduler(schedules: readonly ScheduleInput[], options: RuntimeSchedulerOptions = {}): RuntimeScheduler {
    this.assertAccepting('startScheduler');
    return this.schedulingBridge.startScheduler(schedules, options);
  }

  // ---------------------------------------------------------------- shutdown

  /** True once shutdown has begun. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Aborted when shutdown begins (before draining). Whatever serves this runtime — HTTP streams,
   * subscriptions, a gateway — ties its lifetime to it, e.g. `mobkit/http` closes its SSE streams.
   */
  get shutdownSignal(): AbortSignal {
    return this.shutdownController.signal;
  }

  /**
   * Stops accepting work, drains agent activity (bounded), stops the modules (reverse start order,
   * SIGTERM, grace, SIGKILL of the process group), then closes the mob it owns (stops it and releases
   * what it holds; for rkat-rpc, the child process ends). Idempotent: later calls return the first report.
   */
  shutdown(): Promise<UnifiedRuntimeShutdownReport> {
    this.shutdownReport ??= this.runShutdown();
    return this.shutdownReport;
  }

  private get shuttingDown(): boolean {
    return this.shutdownController.signal.aborted;
  }

  private async runShutdown(): Promise<UnifiedRuntimeShutdownReport> {
    this.shutdownController.abort();
    const drain = await this.drainAgentEvents();
    const moduleShutdown = await this.modules.shutdown();
    this.eventLog.recordLifecycle(this.modules.lifecycleEvents());
    let mobStop: MobStopResult;
    try {
      await this.mob.close();
      mobStop = { ok: true };
    } catch (error) {
      mobStop = { ok: false, error: toMobKitError(error) };
    }
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.deliveryBridge.close();
    await this.schedulingBridge.close();
    // A prune of old trusted resolutions may be in flight: let it land before the store closes.
    await this.routing.trusted.settled();
    await this.closeStore();
    this.hub.close();
    return { drain, moduleShutdown, mobStop };
  }

  /** Flushes the event log (bounded by the drain timeout), then closes the store if the runtime opened it. */
  private async closeStore(): Promise<void> {
    const unwritten = await this.eventLog.close(this.settings.drainTimeoutMs);
    if (unwritten > 0) {
      this.fireError({
        category: 'event_log_flush_failure',
        error: `shutdown: ${unwritten} event(s) could not be appended to the event log within ${this.settings.drainTimeoutMs} ms`,
      });
    }
    if (this.storeOwned) await this.store.close().catch(() => undefined);
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

  private fireSpawnFailure(spec: SpawnSpecInput, error: unknown): void {
    this.fireError({
      category: 'spawn_failure',
      member_id: spec.meerkatId,
      profile: spec.profile,
      error: toMobKitError(error).message,
    });
  }

  private fireError(event: RuntimeErrorEvent): void {
    const hook = this.settings.onError;
    if (hook) fireAndForget(() => hook(event));
  }
}
