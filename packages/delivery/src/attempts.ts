import type { Clock } from '@mobkit/core';
import type { DeliveryAttempt, DeliveryStatus } from './schema.js';
import type { SinkAdapter, SinkMessage, SinkOutcome } from './sinks/types.js';

/** How often and how patiently to try: from the resolution, capped by the service. */
interface RetryPolicy {
  /** Retries after the first attempt. */
  retryMax: number;
  /** Wait after the first failed attempt; doubles per attempt. */
  backoffMs: number;
  /** Longest single wait. */
  maxBackoffMs: number;
}

/** What the attempts of one delivery came to. */
interface AttemptsOutcome {
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
}

/** One attempt through `adapter`; a thrown error is an outcome too (retryable unless a `SinkError` says not). */
export async function attemptOnce(adapter: SinkAdapter, message: SinkMessage): Promise<SinkOutcome> {
  try {
    return await adapter.send(message);
  } catch (error) {
    // A thrown error is retryable unless it says otherwise (a `SinkError` with `retryable: false`).
    const retryable = (error as { retryable?: unknown })?.retryable;
    return { ok: false, retryable: retryable !== false, error: (error as Error)?.message ?? String(error) };
  }
}

/**
 * Makes real attempts through `adapter` until one succeeds, one fails for good, or the retries are
 * spent, waiting `backoffMs · 2^(n−1)` (capped) on `clock` between attempts. Every attempt is
 * recorded with its start time and error.
 */
export async function attemptDelivery(
  adapter: SinkAdapter,
  message: Omit<SinkMessage, 'attempt'>,
  policy: RetryPolicy,
  clock: Clock,
): Promise<AttemptsOutcome> {
  const attempts: DeliveryAttempt[] = [];
  const total = policy.retryMax + 1;
  for (let n = 1; n <= total; n++) {
    const atMs = clock.nowMs();
    const outcome = await attemptOnce(adapter, { ...message, attempt: n });
    if (outcome.ok) {
      attempts.push({ attempt: n, status: 'sent', atMs, backoffMs: 0 });
      return { status: 'sent', attempts };
    }
    if (!outcome.retryable || n === total) {
      attempts.push({ attempt: n, status: 'failed', atMs, backoffMs: 0, error: outcome.error });
      break;
    }
    const wait = Math.min(policy.backoffMs * 2 ** (n - 1), policy.maxBackoffMs);
    attempts.push({ attempt: n, status: 'transient_failure', atMs, backoffMs: wait, error: outcome.error });
    if (wait > 0) await clock.sleep(wait);
  }
  return { status: 'failed', attempts };
}
