import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type MobKitStore, type StoreJson } from '@mobkit/core';
import {
  DELIVERY_ID_PATTERN,
  DELIVERY_KEYS_NAMESPACE,
  DELIVERY_NAMESPACE,
  DeliveryService,
  IN_DOUBT_ERROR,
  MemorySink,
  type SinkAdapter,
  type SinkMessage,
} from '../src/index.js';
import { Issuer, codeOf } from './fixtures.js';
import { type StoreFactory, memoryFactory, sqliteFactory } from './store-factories.js';

const factories: StoreFactory[] = [];
const services: DeliveryService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  for (const f of factories.splice(0)) await f.cleanup();
});

function service(store: MobKitStore, issuer: Issuer, sink: SinkAdapter, extra: { clock?: ManualClock } = {}) {
  const s = new DeliveryService({ sinks: { memory: sink, hook: sink }, trusted: issuer, store, ...extra });
  services.push(s);
  return s;
}

/** A sink whose attempts never end: the process "dies" mid-attempt (the service is abandoned). */
class HangingSink implements SinkAdapter {
  readonly adapter = 'hanging';
  readonly attempts: SinkMessage[] = [];
  send(message: SinkMessage): Promise<never> {
    this.attempts.push(message);
    return new Promise<never>(() => undefined);
  }
}

describe.each([
  ['memory', memoryFactory],
  ['sqlite', sqliteFactory],
])('store-backed delivery ledger (%s)', (_kind, makeFactory) => {
  async function open(): Promise<{ factory: StoreFactory; store: MobKitStore }> {
    const factory = makeFactory();
    factories.push(factory);
    return { factory, store: await factory.open() };
  }

  it('writes the delivery row and the key row together, durable before the first attempt', async () => {
    const { store } = await open();
    const issuer = new Issuer();
    const seen: Array<{ row: unknown; key: unknown }> = [];
    const sink: SinkAdapter = {
      adapter: 'probe',
      async send(message) {
        const row = await store.records.get(DELIVERY_NAMESPACE, message.deliveryId);
        const key = await store.records.get(DELIVERY_KEYS_NAMESPACE, `${message.routeId}:k-1`);
        seen.push({ row: row?.value, key: key?.value });
        return { ok: true };
      },
    };
    const delivery = service(store, issuer, sink);
    const sent = await delivery.send({
      resolution: issuer.issue({ recipient: 'a' }),
      payload: { n: 1 },
      idempotencyKey: 'k-1',
    });
    expect(seen).toEqual([
      {
        row: expect.objectContaining({ kind: 'begin', delivery_id: sent.deliveryId, idempotency_key: 'k-1' }),
        key: { delivery_id: sent.deliveryId, entry: expect.objectContaining({ kind: 'begin' }) },
      },
    ]);
    const finished = await store.records.get(DELIVERY_NAMESPACE, sent.deliveryId);
    expect(finished?.value).toMatchObject({ kind: 'record', record: { status: 'sent', delivery_id: sent.deliveryId } });
    const key = await store.records.get<StoreJson>(DELIVERY_KEYS_NAMESPACE, 'route-000000:k-1');
    expect(key?.value).toMatchObject({ delivery_id: sent.deliveryId, entry: { kind: 'record' } });
  });

  it('a restarted service replays a known key from the store (same record, no attempt) and refuses another payload', async () => {
    const { factory, store } = await open();
    const issuer = new Issuer();
    const sink1 = new MemorySink();
    const run1 = service(store, issuer, sink1);
    const r = issuer.issue({ recipient: 'user@example.com' });
    const first = await run1.send({ resolution: r, payload: { text: 'once' }, idempotencyKey: 'order-42' });
    await run1.close();

    const sink2 = new MemorySink();
    const run2 = service(await factory.open(), issuer, sink2);
    const again = await run2.send({ resolution: r, payload: { text: 'once' }, idempotencyKey: 'order-42' });
    expect(again).toEqual(first);
    expect(sink2.attempts).toHaveLength(0);
    expect(await codeOf(run2.send({ resolution: r, payload: { text: 'other' }, idempotencyKey: 'order-42' }))).toBe(
      'IdempotencyPayloadMismatch',
    );
  });

  it('keyless sends never collide after a restart, and history is served from the store (newest N, filters, oldest first)', async () => {
    const { factory, store } = await open();
    const issuer = new Issuer();
    // Each send a millisecond apart: ids order by time (within one millisecond, only within one process).
    const clock = new ManualClock(1_000);
    const tick = new MemorySink();
    const sink: SinkAdapter = {
      adapter: 'memory',
      send: (m) => {
        clock.advance(1);
        return tick.send(m);
      },
    };
    const run1 = service(store, issuer, sink, { clock });
    const a = issuer.issue({ recipient: 'a' });
    const b = issuer.issue({ recipient: 'b', sink: 'hook' });
    const ids1 = [];
    for (let i = 0; i < 3; i++) ids1.push((await run1.send({ resolution: i === 1 ? b : a, payload: i })).deliveryId);
    await run1.close();

    const run2 = service(await factory.open(), issuer, sink, { clock });
    const ids2 = [];
    for (let i = 0; i < 3; i++)
      ids2.push((await run2.send({ resolution: i === 1 ? b : a, payload: 10 + i })).deliveryId);
    for (const id of [...ids1, ...ids2]) expect(id).toMatch(DELIVERY_ID_PATTERN);
    expect(new Set([...ids1, ...ids2]).size).toBe(6);

    const all = await run2.queryHistory({ limit: 200 });
    expect(all.map((r) => r.payload)).toEqual([0, 1, 2, 10, 11, 12]);
    expect((await run2.queryHistory({ limit: 2 })).map((r) => r.payload)).toEqual([11, 12]);
    expect((await run2.queryHistory({ recipient: 'a' })).map((r) => r.payload)).toEqual([0, 2, 10, 12]);
    expect((await run2.queryHistory({ sink: 'hook' })).map((r) => r.payload)).toEqual([1, 11]);
    expect((await run2.queryHistory({ recipient: 'a', sink: 'hook' })).length).toBe(0);
    expect(await codeOf(run2.queryHistory({ limit: 0 }))).toBe('InvalidInput');
    // The in-memory view agrees (it was warmed from the store at start).
    expect(run2.history({ limit: 200 }).map((r) => r.deliveryId)).toEqual(all.map((r) => r.deliveryId));
  });

  it('a delivery begun when its process died is in doubt: its key returns that outcome and it is never attempted again', async () => {
    const { factory, store } = await open();
    const issuer = new Issuer();
    const hanging = new HangingSink();
    const dead = new DeliveryService({ sinks: { memory: hanging }, trusted: issuer, store });
    const r = issuer.issue({ recipient: 'a' });
    void dead.send({ resolution: r, payload: { n: 1 }, idempotencyKey: 'k' });
    await expect.poll(() => hanging.attempts.length).toBe(1);

    const sink = new MemorySink();
    const restarted = service(await factory.open(), issuer, sink);
    const outcome = await restarted.send({ resolution: r, payload: { n: 1 }, idempotencyKey: 'k' });
    expect(outcome).toMatchObject({
      deliveryId: hanging.attempts[0]?.deliveryId,
      status: 'failed',
      idempotencyKey: 'k',
      attempts: [{ attempt: 1, status: 'failed', error: IN_DOUBT_ERROR }],
    });
    expect(sink.attempts).toHaveLength(0);
    // The in-doubt outcome was written back, so the next restart reads it as finished.
    await expect
      .poll(
        async () =>
          ((await store.records.get(DELIVERY_NAMESPACE, outcome.deliveryId))?.value as { kind?: string })?.kind,
      )
      .toBe('record');
    expect((await restarted.queryHistory()).map((x) => x.deliveryId)).toEqual([outcome.deliveryId]);
  });

  it('honours a key for its ttl only, then a repeat is a new delivery', async () => {
    const { store } = await open();
    const clock = new ManualClock(1_000);
    const issuer = new Issuer();
    const sink = new MemorySink();
    const delivery = new DeliveryService({
      sinks: { memory: sink },
      trusted: issuer,
      store,
      clock,
      idempotencyKeyTtlMs: 1_000,
    });
    services.push(delivery);
    const r = issuer.issue({ recipient: 'a' });
    const first = await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    clock.advance(500);
    expect((await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).deliveryId).toBe(first.deliveryId);
    clock.advance(1_000);
    const second = await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    expect(second.deliveryId).not.toBe(first.deliveryId);
    expect(sink.messages).toHaveLength(2);
    const key = await store.records.get<StoreJson>(DELIVERY_KEYS_NAMESPACE, 'route-000000:k');
    expect(key?.value).toMatchObject({ delivery_id: second.deliveryId });
  });

  it('two services on one store never both send under one key (the key is created by compare-and-set)', async () => {
    const { factory, store } = await open();
    const issuer = new Issuer();
    const sink = new MemorySink();
    const one = service(store, issuer, sink);
    const two = service(await factory.open(), issuer, sink);
    await Promise.all([one.ready(), two.ready()]);
    const r = issuer.issue({ recipient: 'a' });
    const results = await Promise.allSettled([
      one.send({ resolution: r, payload: 1, idempotencyKey: 'k' }),
      two.send({ resolution: r, payload: 1, idempotencyKey: 'k' }),
    ]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((x) => x.status === 'rejected') as PromiseRejectedResult;
    // The loser is refused, never acknowledged: by the compare-and-set (`IdempotencyInFlight`), or — two
    // connections to one SQLite file in one process — by the write lock it waited for in vain.
    expect(['IdempotencyInFlight', 'LedgerWriteFailed']).toContain((rejected.reason as { code: string }).code);
    expect(sink.attempts).toHaveLength(1);
  }, 20_000);

  it('prunes history beyond its limit (begun deliveries stay) as sends go on', async () => {
    const { store } = await open();
    const issuer = new Issuer();
    const delivery = new DeliveryService({
      sinks: { memory: new MemorySink() },
      trusted: issuer,
      store,
      historyLimit: 5,
    });
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1_000_000 });
    for (let i = 0; i < 130; i++) await delivery.send({ resolution: r, payload: i, idempotencyKey: `k-${i}` });
    await delivery.close();
    const rows = await store.records.list(DELIVERY_NAMESPACE);
    expect(rows.length).toBeLessThanOrEqual(5 + 4 * 64);
    expect(rows.length).toBeLessThan(130);
    expect((await store.records.list(DELIVERY_KEYS_NAMESPACE)).length).toBe(130);
    const reopened = new DeliveryService({
      sinks: { memory: new MemorySink() },
      trusted: issuer,
      store,
      historyLimit: 5,
    });
    services.push(reopened);
    expect((await reopened.queryHistory({ limit: 200 })).map((x) => x.payload)).toEqual([125, 126, 127, 128, 129]);
    // Keys outlive the history: an old key still replays.
    expect((await reopened.send({ resolution: r, payload: 3, idempotencyKey: 'k-3' })).payload).toBe(3);
  });

  it('refuses a store together with a ledger path', async () => {
    const { store } = await open();
    expect(
      await codeOf(DeliveryService.open({ sinks: {}, trusted: new Issuer(), store, ledgerPath: '/tmp/x.jsonl' })),
    ).toBe('InvalidConfig');
  });
});
