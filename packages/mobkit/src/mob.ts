import {
  type AgentDiscoverySpec,
  type EventEnvelope,
  MobKitError,
  type MobKitStore,
  type SpawnSpec,
  type UnifiedEvent,
  normalizeSpawnSpec,
  parseSpawnSpec,
} from '@mobkit/core';
import {
  type McpHubEvent,
  type McpToolHost,
  type MemberSnapshot,
  type ToolsUnavailableNotice,
  type MobEvent,
  type MobRuntime,
  type ReconcileReport,
  TestClient,
  createEmbeddedMob,
} from '@mobkit/mob-adapter';
import type { MobBootstrapSpec } from './spec.js';

export type { AgentDiscoverySpec };

/**
 * The mob the runtime composes: the `MobRuntime` port, so the runtime runs on the embedded mob
 * (`createEmbeddedMob`) and on an external `rkat-rpc` (`createRkatRpcMob`) alike. What the
 * runtime needs of it (the definition, `waitForIdle` to drain, `close` at shutdown) is in the port.
 */
export type MobHandle = MobRuntime;
/**
 * A member spawn request: the port's `SpawnMemberSpec` (core's `SpawnSpec`). Build one with
 * `SpawnMemberSpec.fromWire(profile, memberId, …)`.
 */
export type SpawnSpecInput = SpawnSpec;
/** The mob half of a reconcile report: `{ desired, retained, spawned, retired }`. */
export type MobReconcileReport = ReconcileReport;
/** A member snapshot. */
export type MobMemberSnapshot = MemberSnapshot;

/** A member discovery says should exist (the camelCase {@link AgentDiscoverySpec}; optional fields may be left out). */
export interface DiscoveredMember {
  profile: string;
  meerkatId: string;
  labels?: Record<string, string>;
  context?: unknown;
  additionalInstructions?: string[];
  resumeSessionId?: string;
}

/** Finds the members that should exist (e.g. from a sessions table); run once at build. */
export interface Discovery {
  /** Returns the members to spawn; `context` is what the pre-spawn hook returned (or null). */
  discover(context: unknown): DiscoveredMember[] | Promise<DiscoveredMember[]>;
}

/** An error event given to the `onError` hook (wire names as the original, tag `category`). */
export type ErrorEvent =
  | { category: 'spawn_failure'; member_id: string; profile: string; error: string }
  | { category: 'host_loop_crash'; member_id: string; error: string }
  | { category: 'reconcile_incomplete'; failures: unknown[]; skipped: unknown[] }
  | { category: 'rediscover_failure'; error: string };

/** Routes the runtime keeps in step with the roster. */
export interface ReconcileRoutingReport {
  /** Whether the `router` module is loaded (routes are only managed then). */
  routerModuleLoaded: boolean;
  /** Active member ids, sorted. */
  activeMembers: string[];
  /** Route keys added (`mob.member.<id>`), sorted. */
  addedRouteKeys: string[];
  /** Route keys removed because their member is gone, sorted. */
  removedRouteKeys: string[];
}

/** What `UnifiedRuntime.reconcile` did. */
export interface UnifiedRuntimeReconcileReport {
  mob: MobReconcileReport;
  routing: ReconcileRoutingReport;
}

/** How draining agent activity went at shutdown. */
export interface ShutdownDrainReport {
  /** Agent events received while draining. */
  drainedCount: number;
  /** True when runs were still active at the drain timeout. */
  timedOut: boolean;
  drainDurationMs: number;
}

/** Whether the mob stopped cleanly. */
export type MobStopResult = { ok: true } | { ok: false; error: MobKitError };

/** What `UnifiedRuntime.shutdown` did, in order. */
export interface UnifiedRuntimeShutdownReport {
  drain: ShutdownDrainReport;
  moduleShutdown: { terminatedModules: string[]; orphanProcesses: number };
  mobStop: MobStopResult;
}

/**
 * The module ids the definition's profiles use as member tools (`tools.modules`), checked against
 * the runtime's modules: an id that is not a configured module is `DefinitionError` naming the
 * profile's field and the modules there are.
 */
export function memberToolModules(spec: MobBootstrapSpec, configured: readonly string[]): string[] {
  if (spec.mob) return [];
  const used = new Set<string>();
  for (const profile of Object.values(spec.definition.profiles))
    profile.tools.modules.forEach((id, i) => {
      if (!configured.includes(id))
        throw new MobKitError(
          'DefinitionError',
          `profiles.${profile.name}.tools.modules[${i}]: module '${id}' is not a configured module (configured: ${configured.join(', ') || 'none'}); add it under [modules] or remove it`,
          { details: { field: `profiles.${profile.name}.tools.modules[${i}]`, module: id } },
        );
      used.add(id);
    });
  return [...used];
}

/**
 * The mob of a bootstrap spec: the one handed over with `MobBootstrapSpec.fromMob`, or a new
 * embedded mob of its definition kept in `store`, its `tools.modules` served by `tools.moduleTools` and
 * tool listing failures told to `tools.onToolsUnavailable` and its MCP servers' lifecycle to
 * `tools.onMcpEvent` (the runtime's store: roster, sessions, histories
 * and inboxes are durable when it is; a store that holds this mob's state is restored, not
 * re-spawned). `MobStorage.inMemory()` keeps the mob in memory whatever the store. Either way the
 * runtime owns what this returns and closes it at shutdown (or at once when the modules fail to
 * start); the store stays the runtime's.
 */
export async function bootMob(
  spec: MobBootstrapSpec,
  store?: MobKitStore,
  tools: {
    moduleTools?: McpToolHost;
    onToolsUnavailable?: (notice: ToolsUnavailableNotice) => void;
    onMcpEvent?: (event: McpHubEvent) => void;
  } = {},
): Promise<MobHandle> {
  if (spec.mob) return spec.mob;
  return createEmbeddedMob(spec.definition, {
    ...(tools.moduleTools ? { moduleTools: tools.moduleTools } : {}),
    ...(tools.onToolsUnavailable ? { onToolsUnavailable: tools.onToolsUnavailable } : {}),
    ...(tools.onMcpEvent ? { mcp: { onEvent: tools.onMcpEvent } } : {}),
    llm: spec.options.defaultLlmClient ?? new TestClient(),
    ...(store !== undefined && spec.storage.kind === 'runtime-store' ? { store } : {}),
    notifyOrchestratorOnResume: spec.options.notifyOrchestratorOnResume,
    // The runtime subscribes (event log, modules) before restored work starts: see releaseRestoredWork.
    holdRestoredWork: true,
  });
}

/**
 * Starts the work a restored embedded mob holds (interrupted-run reports, continued runs, queued
 * messages, the resume notice), once the runtime listens to the mob, so its event log records all of it.
 */
export function releaseRestoredWork(mob: MobHandle): void {
  if ('releaseRestoredWork' in mob && typeof mob.releaseRestoredWork === 'function') mob.releaseRestoredWork();
}

/** Maps an agent event of the mob onto the merged stream's envelope (`source: agent`). */
export function agentEventToEnvelope(event: Extract<MobEvent, { kind: 'agent' }>): EventEnvelope<UnifiedEvent> {
  return {
    eventId: `evt-agent-${event.memberId}-${String(event.seq).padStart(8, '0')}`,
    source: 'agent',
    timestampMs: event.timestampMs,
    event: { kind: 'agent', agentId: event.memberId, eventType: event.event.type },
  };
}

/**
 * Maps a discovered member onto a spawn spec with core's `normalizeSpawnSpec` (empty labels and
 * instruction lists become none). A blank id or profile is `InvalidInput` naming `field`'s key
 * (`discovered[1].meerkatId: must not be empty`).
 */
export function discoverySpecToSpawnSpec(
  spec: DiscoveredMember | AgentDiscoverySpec,
  field = 'discovered',
): SpawnSpecInput {
  const { profile, meerkatId, labels, context, additionalInstructions, resumeSessionId } = spec;
  return normalizeSpawnSpec(
    { profile, meerkatId, labels, context, additionalInstructions, resumeSessionId },
    { pathPrefix: field, what: 'discovered member' },
  );
}

/**
 * Builds a spawn spec from snake_case RPC params (`profile, meerkat_id, initial_message?, labels?, …`)
 * with core's `parseSpawnSpec` (`InvalidInput` naming `params.<key>`).
 */
export function spawnSpecFromParams(params: Record<string, unknown>): SpawnSpecInput {
  return parseSpawnSpec(params, { pathPrefix: 'params' });
}
