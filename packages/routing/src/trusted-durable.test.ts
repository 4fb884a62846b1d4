import { createMemoryStore } from '@mobkit/store';
import { describe, expect, it } from 'vitest';
import { RoutingService } from './resolve.js';
import { TRUSTED_RESOLUTIONS_NAMESPACE, TrustedResolutions } from './trusted.js';

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
    await new Promise((r) => setTimeout(r, 10));
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
});
