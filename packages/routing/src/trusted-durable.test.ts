import { createMemoryStore } from '@mobkit/store';
import { describe, expect, it } from 'vitest';
import { RoutingService } from './resolve.js';
import type { RecordsPort } from '@mobkit/core';
import { TRUSTED_PRUNE_BATCH, TRUSTED_RESOLUTIONS_NAMESPACE, TrustedResolutions } from './trusted.js';

const request = (recipient: string) => ({ recipient, channel: 'webhook' });

describe('durable trusted resolutions', () => {
  it('a restarted service still trusts what it issued and never issues a route id twice', async () => {
    const store = createMemoryStore();
    const first = new RoutingService({ trusted: await TrustedResolutions.open(store.records) });
    const a = await first.resolve(request('https://a.example/hook'));
    const b = await first.resolve(request('https://b.example/hook'));
    expect([a.routeId, b.routeId]).toEqual(['route-000000', 'route-000001']);

    // A new process on the same store: the old resolutions are trusted, the counter continues.
    const second = new RoutingService({ trusted: await TrustedResolutions.open(store.records) });
    expect(second.trusted.get(a.routeId)).toEqual(a);
    expect(second.trusted.get(b.routeId)).toEqual(b);
    const c = await second.resolve(request('https://c.example/hook'));
    expect(c.routeId).toBe('route-000002');
    expect(second.trusted.get('route-000002')?.recipient).toBe('https://c.example/hook');
  });

  it('keeps only the newest `capacity` across a restart, in the store too', async () => {
    const store = createMemoryStore();
    const first = new RoutingService({ trusted: await TrustedResolutions.open(store.records, 2) });
    for (const r of ['a', 'b', 'c', 'd']) await first.resolve(request(`https://${r}.example/`));
    const reopened = await TrustedResolutions.open(store.records, 2);
    expect(reopened.get('route-000000')).toBeUndefined();
    expect(reopened.get('route-000001')).toBeUndefined();
    expect(reopened.get('route-000003')?.recipient).toBe('https://d.example/');
    expect(reopened.issuedCount).toBe(4);
    // Fewer than a prune batch fell out of the window, so the reopen deleted them.
    const kept = await store.records.list(TRUSTED_RESOLUTIONS_NAMESPACE);
    expect(kept.map((k) => k.key)).toEqual(['route-000002', 'route-000003']);
  });

  it('a resolution whose write fails is not answered', async () => {
    const store = createMemoryStore();
    const trusted = await TrustedResolutions.open(store.records);
    await store.close();
    const service = new RoutingService({ trusted });
    await expect(service.resolve(request('https://a.example/'))).rejects.toMatchObject({ code: 'StoreClosed' });
  });

  it('prunes a burst in bounded batches, one at a time, each deleting what fell out of the window together', async () => {
    const store = createMemoryStore();
    const deletes: string[][] = [];
    let inFlight = 0;
    const inFlightAtBatchStart: number[] = [];
    let batch: string[] | undefined;
    const records: RecordsPort = {
      ...store.records,
      delete: async (namespace, key, options) => {
        // Deletes issued in the same tick belong to one batch.
        if (batch === undefined) {
          const current: string[] = [];
          batch = current;
          deletes.push(current);
          inFlightAtBatchStart.push(inFlight);
          queueMicrotask(() => {
            batch = undefined;
          });
        }
        batch.push(key);
        inFlight++;
        try {
          return await store.records.delete(namespace, key, options);
        } finally {
          inFlight--;
        }
      },
    };
    const capacity = 8;
    const burst = 1000;
    const service = new RoutingService({ trusted: await TrustedResolutions.open(records, capacity) });
    await Promise.all(Array.from({ length: burst }, (_, i) => service.resolve(request(`https://${i}.example/`))));
    await service.trusted.settled();

    expect(deletes.length).toBeGreaterThan(0);
    for (const keys of deletes) expect(keys.length).toBeGreaterThanOrEqual(TRUSTED_PRUNE_BATCH);
    // One prune at a time: a batch starts only once the previous one's deletes have all settled.
    expect(inFlightAtBatchStart.every((n) => n === 0)).toBe(true);
    const deleted = deletes.flat();
    expect(new Set(deleted).size).toBe(deleted.length);
    const left = await store.records.list(TRUSTED_RESOLUTIONS_NAMESPACE);
    expect(left.length).toBe(burst - deleted.length);
    expect(left.length).toBeLessThan(capacity + TRUSTED_PRUNE_BATCH);
    const newest = Array.from({ length: capacity }, (_, i) => `route-${String(burst - capacity + i).padStart(6, '0')}`);
    expect(left.map((r) => r.key).slice(-capacity)).toEqual(newest);

    // Nothing is left pending to fail once the store closes; the next open deletes the rest beyond the window.
    await TrustedResolutions.open(store.records, capacity);
    expect((await store.records.list(TRUSTED_RESOLUTIONS_NAMESPACE)).map((r) => r.key)).toEqual(newest);
  });
});
