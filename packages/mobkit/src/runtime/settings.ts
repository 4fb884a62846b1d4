import type { Clock, EventEnvelope, MobKitConfig, RuntimeOptions, UnifiedEvent } from '@mobkit/core';
import type { Discovery, ErrorEvent, UnifiedRuntimeReconcileReport } from '../mob.js';
import type { MobBootstrapSpec } from '../spec.js';

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
  onError?: (event: ErrorEvent) => unknown;
  onModuleEvent?: (event: EventEnvelope) => void;
  discovery?: Discovery;
  preSpawnHook?: () => unknown;
  drainTimeoutMs: number;
  clock: Clock;
  coreModuleTimeoutMs: number;
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
