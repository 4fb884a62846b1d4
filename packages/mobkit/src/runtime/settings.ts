import type { Clock, EventEnvelope, MobKitConfig, RuntimeOptions, UnifiedEvent } from '@mobkit/core';
import type { EventRetention } from '../event-log/retention.js';

/** Bounds of the event log writer (see `EventLogWriter`): events per append, and events queued before one is dropped. */
export interface EventLogWriterBounds {
  /** Most events in one append (default 512). */
  batchSize?: number;
  /** Most events waiting for the writer (default 16,384); one more is dropped, counted and reported. */
  queueCapacity?: number;
}
import type { Discovery, ErrorEvent, UnifiedRuntimeReconcileReport } from '../mob.js';
import type { MobBootstrapSpec } from '../spec.js';
import type { StoreChoice } from './store-choice.js';

/**
 * What the builder's `onError` hook receives: the mob's error events, and `event_log_flush_failure`
 * (an append to the event log failed; it is retried with the same ids and nothing in it was
 * acknowledged) with the error's message.
 */
export type RuntimeErrorEvent = ErrorEvent | { category: 'event_log_flush_failure'; error: string };

/** Default bound on draining agent activity at shutdown. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5_000;
/** Per-operation timeout of calls into the core MCP modules (router, delivery, scheduling), as the original's 1 s. */
export const CORE_MODULE_MCP_TIMEOUT_MS = 1_000;

/** What the builder collected: the runtime reads its hooks and bounds from here. */
export interface RuntimeSettings {
  mobSpec?: MobBootstrapSpec;
  moduleConfig?: MobKitConfig;
  timeoutMs?: number;
  runtimeOptions: Partial<RuntimeOptions>;
  moduleAgentEvents: EventEnvelope<UnifiedEvent>[];
  postSpawnHook?: (memberIds: string[]) => unknown;
  postReconcileHook?: (report: UnifiedRuntimeReconcileReport) => unknown;
  onError?: (event: RuntimeErrorEvent) => unknown;
  onModuleEvent?: (event: EventEnvelope) => void;
  discovery?: Discovery;
  preSpawnHook?: () => unknown;
  drainTimeoutMs: number;
  clock: Clock;
  coreModuleTimeoutMs: number;
  /** The store the runtime keeps its state in (default: a new in-memory store). */
  store: StoreChoice;
  /** Event log retention over the defaults. */
  eventRetention: Partial<EventRetention>;
  /** Event log writer bounds over the defaults. */
  eventLogWriter: EventLogWriterBounds;
}

/** Runs a user hook so that neither a throw nor a rejection can reach the runtime. */
export function fireAndForget(fn: () => unknown): void {
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
