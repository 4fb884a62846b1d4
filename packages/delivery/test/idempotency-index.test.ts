import { describe, expect, it } from 'vitest';
import { IdempotencyIndex } from '../src/idempotency.js';
import type { DeliveryRecord, DeliveryResolution } from '../src/schema.js';

const resolution: DeliveryResolution = {
  routeId: 'route-000000',
  recipient: 'a',
  channel: 'c',
  sink: 'memory',
  targetModule: 'delivery',
  retryMax: 0,
  backoffMs: 0,
  rateLimitPerMinute: 1,
};

/** The retention rule, stated plainly: keys in remember order; drop the oldest while over the limit or past the ttl. */
class ReferenceIndex {
  readonly keys = new Map<string, number>();
  constructor(
    readonly limit: number,
    readonly ttlMs: number,
  ) {}
  remember(key: string, atMs: number): void {
    this.keys.delete(key);
    this.keys.set(key, atMs);
    for (const [k, at] of this.keys) {
      if (this.keys.size <= this.limit && atMs - at <= this.ttlMs) break;
      this.keys.delete(k);
    }
  }
}

describe('IdempotencyIndex retention', () => {
  // Over the limit often (evicting from the front); and never over it with a long ttl (only stale entries pile up).
  it.each([
    { limit: 50, ttlMs: 400, distinct: 120 },
    { limit: 1_000, ttlMs: 1e9, distinct: 40 },
  ])(
    'forgets exactly the keys the retention rule forgets (%o), across keys remembered again and expired lookups',
    ({ limit, ttlMs, distinct }) => {
      const index = new IdempotencyIndex('wait', { limit, ttlMs });
      const reference = new ReferenceIndex(limit, ttlMs);
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed % n;
      };
      let now = 0;
      for (let step = 0; step < 20_000; step++) {
        // Mostly forward, sometimes standing still or stepping back (a record's time is its last attempt's).
        now = Math.max(0, now + random(7) - 2);
        const key = `k-${random(distinct)}`;
        if (random(4) === 0) {
          // A lookup of an expired key forgets it, in both.
          const known = index.known(key, resolution, now);
          const at = reference.keys.get(key);
          if (at !== undefined && now - at > ttlMs) reference.keys.delete(key);
          expect(known === undefined).toBe(!reference.keys.has(key));
          continue;
        }
        const record = { deliveryId: `d-${step}` } as DeliveryRecord;
        index.remember(key, { record, resolution, payloadJson: '""', atMs: now });
        reference.remember(key, now);
        expect(index.size).toBe(reference.keys.size);
      }
      for (const key of Array.from({ length: distinct }, (_, i) => `k-${i}`)) {
        const at = reference.keys.get(key);
        const honoured = at !== undefined && now - at <= ttlMs;
        expect(index.known(key, resolution, now) !== undefined).toBe(honoured);
      }
    },
  );
});
