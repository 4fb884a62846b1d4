import { MobKitError, toMobKitError } from '@mobkit/core';
import type { BigQuerySessionStore } from './store.js';

/** The default interval of {@link runPeriodicGc} (6 h). */
export const DEFAULT_BIGQUERY_GC_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** Options of {@link runPeriodicGc}. */
export interface PeriodicGcOptions {
  /** Time between the end of one run and the start of the next (default 6 h). */
  intervalMs?: number;
  /** Called with each failed run's error (default: a line on stderr). Runs go on after a failure. */
  onError?: (error: MobKitError) => void;
  /** Called with how many rows each successful run deleted. */
  onCollected?: (deleted: number) => void;
}

/** Stops a periodic GC: no run starts after `stop()` (one in flight finishes). */
export interface PeriodicGcHandle {
  stop(): void;
}

/**
 * Runs `store.gcSupersededRows()` every `intervalMs` (first run after one interval), never two at
 * once, until stopped. The timer is unref'd: it never keeps the process alive.
 */
export function runPeriodicGc(
  store: Pick<BigQuerySessionStore, 'gcSupersededRows'>,
  options: PeriodicGcOptions = {},
): PeriodicGcHandle {
  const intervalMs = options.intervalMs ?? DEFAULT_BIGQUERY_GC_INTERVAL_MS;
  const onError =
    options.onError ??
    ((error: MobKitError) => process.stderr.write(`[mobkit-gc] gc_superseded_rows failed: ${error.message}\n`));
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0 || intervalMs > 2_147_483_647) {
    throw new MobKitError(
      'InvalidInput',
      `runPeriodicGc intervalMs must be a positive integer of milliseconds, got ${intervalMs}`,
      {
        details: { field: 'intervalMs' },
      },
    );
  }
  const report = (error: MobKitError) => {
    try {
      onError(error);
    } catch (thrown) {
      process.stderr.write(`[mobkit-gc] onError threw: ${(thrown as Error).message}\n`);
    }
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(run, intervalMs);
    timer.unref();
  };
  const run = async () => {
    try {
      const deleted = await store.gcSupersededRows();
      if (!stopped) options.onCollected?.(deleted);
    } catch (error) {
      if (!stopped) report(toMobKitError(error, 'BigQueryHttp'));
    }
    schedule();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
