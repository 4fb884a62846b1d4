import type { ModuleHealthState, ModuleHealthTransition, RestartPolicy } from '@mobkit/core';
import { toMobKitError, type MobKitError } from '@mobkit/core';

/** How many restarts a restart policy allows: `never` none, `on_failure` and `always` their budget. */
export function restartBudget(
  policy: RestartPolicy,
  budgets: { onFailureRetryBudget: number; alwaysRestartBudget: number },
): number {
  return policy === 'always' ? budgets.alwaysRestartBudget : policy === 'on_failure' ? budgets.onFailureRetryBudget : 0;
}

/** The budgets and backoff the start algorithm needs. */
export interface StartPolicy {
  restartPolicy: RestartPolicy;
  onFailureRetryBudget: number;
  alwaysRestartBudget: number;
  backoffMs: number;
  /** `always` restarts a healthy module eagerly at start, up to its budget (spec §3.3); off for MCP modules. */
  eagerAlwaysRestart: boolean;
}

/** The side effects the start algorithm drives. */
export interface StartDriver<T> {
  /** One start attempt (`attempt` counts from 1); throws on failure. */
  attempt(attempt: number): Promise<T>;
  /** Stops a started instance during an eager `always` restart; throws when it cannot. */
  terminate(instance: T): Promise<void>;
  /** Waits between attempts (may return early when the runtime is stopping). */
  sleep(ms: number): Promise<void>;
  /** Records one health transition. */
  record(transition: ModuleHealthTransition): void;
  /** Told about every failed attempt, after its `Failed` transition; `willRetry` says whether another attempt follows. */
  failed?(attempt: number, error: MobKitError, willRetry: boolean): void;
}

/** How a supervised start ended. */
export type StartOutcome<T> =
  | { ok: true; instance: T; attempts: number; warning?: MobKitError }
  | { ok: false; error: MobKitError; attempts: number };

/**
 * The start algorithm of spec §3.3, transition for transition:
 * `Starting(0)`, then per attempt `→ Healthy(n)` or `→ Failed(n)`; a failure is retried
 * (`Failed → Restarting`) while `never: no | on_failure: n ≤ on_failure_retry_budget |
 * always: n ≤ always_restart_budget`, else `Failed → Stopped`; a healthy `always` module is
 * restarted eagerly (`Healthy → Restarting`) while `n ≤ always_restart_budget`. The fixed backoff is
 * slept before every retry.
 */
export async function superviseStart<T>(
  moduleId: string,
  policy: StartPolicy,
  driver: StartDriver<T>,
): Promise<StartOutcome<T>> {
  const push = (from: ModuleHealthState | null, to: ModuleHealthState, attempt: number) =>
    driver.record({ moduleId, from, to, attempt });
  push(null, 'Starting', 0);
  let state: ModuleHealthState = 'Starting';
  let attempts = 0;
  for (;;) {
    attempts += 1;
    let instance: T;
    try {
      instance = await driver.attempt(attempts);
    } catch (raw) {
      const error = toMobKitError(raw);
      push(state, 'Failed', attempts);
      const retry = attempts <= restartBudget(policy.restartPolicy, policy);
      driver.failed?.(attempts, error, retry);
      if (!retry) {
        push('Failed', 'Stopped', attempts);
        return { ok: false, error, attempts };
      }
      push('Failed', 'Restarting', attempts);
      await driver.sleep(policy.backoffMs);
      state = 'Restarting';
      continue;
    }
    push(state, 'Healthy', attempts);
    if (policy.eagerAlwaysRestart && policy.restartPolicy === 'always' && attempts <= policy.alwaysRestartBudget) {
      push('Healthy', 'Restarting', attempts);
      try {
        await driver.terminate(instance);
      } catch (raw) {
        push('Restarting', 'Failed', attempts);
        push('Failed', 'Healthy', attempts);
        return { ok: true, instance, attempts, warning: toMobKitError(raw) };
      }
      await driver.sleep(policy.backoffMs);
      state = 'Restarting';
      continue;
    }
    return { ok: true, instance, attempts };
  }
}

/** Growth of the delay between crash restarts after ready (pm2-style exponential backoff). */
export interface CrashBackoff {
  /** First delay (the fixed `supervisorRestartBackoffMs`). */
  baseMs: number;
  /** Delay a growing backoff starts from when `baseMs` is 0. */
  minMs: number;
  /** Growth factor per consecutive crash. */
  multiplier: number;
  /** Largest delay. */
  maxMs: number;
}

/**
 * Delay before restart number `n` (0-based) of a crash streak: `baseMs` for the first, then
 * `max(baseMs, minMs) × multiplier^n`, capped at `maxMs`.
 */
export function crashRestartDelay(n: number, backoff: CrashBackoff): number {
  if (n <= 0) return Math.min(backoff.baseMs, backoff.maxMs);
  const grown = Math.max(backoff.baseMs, backoff.minMs) * backoff.multiplier ** n;
  return Math.round(Math.min(grown, backoff.maxMs));
}
