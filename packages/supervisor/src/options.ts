import { type Clock, type EventEnvelope, type RuntimeOptions, defaultRuntimeOptions } from '@mobkit/core';
import { SupervisorError } from './errors.js';
import type { ModuleEventListener } from './module-runtime.js';
import type { ProcessSpawner } from './spawner.js';

/** Defaults of the optional MobKit-TS runtime options. */
export const SUPERVISOR_DEFAULTS = Object.freeze({
  shutdownGraceMs: 1600,
  restartBackoffMultiplier: 1.5,
  restartBackoffMinMs: 100,
  restartBackoffMaxMs: 30_000,
  restartStableMs: 30_000,
  maxMergedEvents: 10_000,
});

/** Options of `startModuleRuntime`. */
export interface StartModuleRuntimeOptions {
  /** Per-attempt bound on a module's ready handshake (and each MCP operation at start), in ms. */
  timeoutMs: number;
  /** Budgets, backoff, grace period… (defaults: {@link defaultRuntimeOptions} and {@link SUPERVISOR_DEFAULTS}). */
  options?: Partial<RuntimeOptions>;
  /** Agent events merged into the stream at start (stage `MergedStreamStarted`). */
  agentEvents?: readonly EventEnvelope[];
  /**
   * The runtime's time (default: the system clock): timestamps of the supervisor's events, the
   * stable period, and the waits between restarts (the fixed backoff at start and the growing
   * crash backoff). Bounds on what a real process does — the ready timeout, the MCP request
   * timeouts, the shutdown grace — always run on the system clock.
   */
  clock?: Clock;
  /**
   * Starts the module processes (default: `execaSpawner`, real processes in process groups
   * of their own). Inject a fake to test restart policies without processes.
   */
  spawner?: ProcessSpawner;
  /**
   * Receives every event added to the merged stream from the very start, as it happens: the
   * start-up's `supervisor.start_failed` and `supervisor.warning` events too, which happen before
   * `startModuleRuntime` returns and `subscribe` could be called. A listener that throws is ignored.
   */
  onEvent?: ModuleEventListener;
  /** Most events kept by `ModuleRuntime.mergedEvents()`; the oldest fall out first (default 10000). */
  maxMergedEvents?: number;
  /**
   * How many modules start at once at start-up (default 1: one after another in discovery order,
   * as the original does, so a module may rely on the ones before it being ready). With more, the
   * recorded transitions and the shutdown order still follow the discovery order.
   */
  startConcurrency?: number;
}

/** Every runtime option, resolved. */
export type SupervisorOptions = RuntimeOptions & typeof SUPERVISOR_DEFAULTS;

/** `timeoutMs` when it is a positive finite number of milliseconds, else `InvalidInput` naming `name`. */
export function requireTimeout(timeoutMs: unknown, name = 'timeoutMs'): number {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new SupervisorError(
      'InvalidInput',
      `${name}: expected a positive number of milliseconds, got ${JSON.stringify(timeoutMs)}`,
      { details: { field: name } },
    );
  }
  return timeoutMs;
}

/** The options given, over core's {@link defaultRuntimeOptions} and {@link SUPERVISOR_DEFAULTS}. */
export function resolveOptions(
  options: Partial<RuntimeOptions> | undefined,
  maxMergedEvents: number | undefined,
): SupervisorOptions {
  const defined = Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined));
  return {
    ...SUPERVISOR_DEFAULTS,
    ...defaultRuntimeOptions(),
    ...defined,
    ...(maxMergedEvents === undefined ? {} : { maxMergedEvents }),
  } as SupervisorOptions;
}
