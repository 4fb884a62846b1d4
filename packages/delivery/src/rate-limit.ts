import { MobKitError } from '@mobkit/core';
import { type DeliveryResolution, RATE_WINDOW_MS } from './schema.js';

/** A rate-limit slot held by one in-flight send; settle it exactly once when the send ends. */
interface RateReservation {
  /** Releases the slot; a `sent` delivery is charged to its window, a failed one is not. */
  settle(sent: boolean): void;
}

/**
 * The per-minute rate limit of `(route, recipient, sink)` (spec §8): windows of
 * {@link RATE_WINDOW_MS} counted from the service's start; only successful sends count, and
 * in-flight sends hold a reservation so concurrent sends cannot overshoot the limit. At most two
 * windows of counters are kept, as in the original.
 */
export class RateLimiter {
  private readonly used = new Map<string, { windowStart: number; count: number }>();
  private readonly pending = new Map<string, number>();
  private lastPrunedWindow = -1;

  /** @param startedAtMs the clock time windows are counted from. */
  constructor(private readonly startedAtMs: number) {}

  /** Number of `(route, recipient, sink)` counters held (for diagnostics and tests). */
  get counterCount(): number {
    return this.used.size;
  }

  /** Reserves one send of `issued` at `nowMs`, or throws `RateLimited` (with `retry_after_ms`). */
  reserve(issued: DeliveryResolution, nowMs: number): RateReservation {
    const elapsed = Math.max(0, nowMs - this.startedAtMs);
    const windowStart = elapsed - (elapsed % RATE_WINDOW_MS);
    this.prune(windowStart);
    const rateKey = `${issued.routeId}\u0000${issued.recipient}\u0000${issued.sink}`;
    const pendingKey = `${rateKey}\u0000${windowStart}`;
    const usedEntry = this.used.get(rateKey);
    const used = (usedEntry?.windowStart === windowStart ? usedEntry.count : 0) + (this.pending.get(pendingKey) ?? 0);
    if (used >= issued.rateLimitPerMinute) {
      throw new MobKitError(
        'RateLimited',
        `rate limit exceeded for sink '${issued.sink}' at window ${windowStart} (limit=${issued.rateLimitPerMinute})`,
        {
          details: {
            sink: issued.sink,
            window_start_ms: windowStart,
            limit: issued.rateLimitPerMinute,
            route_id: issued.routeId,
            recipient: issued.recipient,
            retry_after_ms: windowStart + RATE_WINDOW_MS - elapsed,
          },
        },
      );
    }
    this.pending.set(pendingKey, (this.pending.get(pendingKey) ?? 0) + 1);
    let settled = false;
    return {
      settle: (sent) => {
        if (settled) return;
        settled = true;
        const left = (this.pending.get(pendingKey) ?? 1) - 1;
        if (left <= 0) this.pending.delete(pendingKey);
        else this.pending.set(pendingKey, left);
        if (sent) this.charge(rateKey, windowStart);
      },
    };
  }

  /** Forgets counters older than the previous window. */
  private prune(windowStart: number): void {
    if (windowStart === this.lastPrunedWindow) return;
    this.lastPrunedWindow = windowStart;
    for (const [key, entry] of this.used) if (entry.windowStart < windowStart - RATE_WINDOW_MS) this.used.delete(key);
  }

  private charge(rateKey: string, windowStart: number): void {
    const entry = this.used.get(rateKey);
    if (entry === undefined || entry.windowStart < windowStart) this.used.set(rateKey, { windowStart, count: 1 });
    else if (entry.windowStart === windowStart) entry.count += 1;
  }
}
