import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MobKitError, type MobKitStore, type StoreJson } from '@mobkit/core';
import { openPostgresStore } from '@mobkit/store/postgres';
import { postgresOrSkip } from '@mobkit/test-utils';
import {
  DELIVERY_KEYS_NAMESPACE,
  DELIVERY_NAMESPACE,
  DeliveryService,
  type LedgerBeginEntry,
  MemorySink,
  StoreLedger,
  deliveryResolutionToWire,
} from '../src/index.js';
import { Issuer, codeOf } from './fixtures.js';
import { memoryFactory, sqliteFactory } from './store-factories.js';

interface Factory {
  open(): Promise<MobKitStore>;
  cleanup(): Promise<void>;
}

const server = await postgresOrSkip();
afterAll(() => server?.stop());

/** A fresh PostgreSQL database (`url()`); each `open` is another store (its own pool) on it. */
function postgresFactory(): Factory & { url(): Promise<string> } {
  const opened: MobKitStore[] = [];
  let url: Promise<string> | undefined;
  const urlOf = () => {
    if (server === undefined) throw new Error('no PostgreSQL server');
    url ??= server.createDatabase();
    return url;
  };
  return {
    url: urlOf,
    async open() {
      const store = await openPostgresStore({ url: await urlOf(), schema: 'ledger' });
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
    },
  };
}

const kinds: Array<[string, () => Factory]> = [
  ['memory', memoryFactory],
  ['sqlite', sqliteFactory],
  ...(server === undefined ? [] : [['postgres', postgresFactory] as [string, () => Factory]]),
];

const factories: Factory[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const f of factories.splice(0)) await f.cleanup();
});

/** `store` with its transactions counted, and optionally failed after `fn` ran (a lost commit). */
function counted(store: MobKitStore, failCommit = false): { store: MobKitStore; transactions: () => number } {
  let transactions = 0;
  const wrapped: MobKitStore = {
    ...store,
    transaction(fn) {
      transactions++;
      if (!failCommit) return store.transaction(fn);
      return store.transaction(async (tx) => {
        await fn(tx);
        throw new MobKitError('StoreWriteFailed', 'the commit failed (disk full)');
      });
    },
  };
  return { store: wrapped, transactions: () => transactions };
}

const issuer = new Issuer();
const resolution = deliveryResolutionToWire(issuer.issue({ recipient: 'a@example.com' }));

function begin(n: number, key: string | undefined = `k-${n}`): LedgerBeginEntry {
  return {
    kind: 'begin',
    delivery_id: `delivery-test-${String(n).padStart(4, '0')}`,
    resolution,
    payload: { n },
    ...(key === undefined ? {} : { idempotency_key: key }),
    at_ms: 1_000 + n,
  };
}

const scoped = (key: string) => `${resolution.route_id}:${key}`;

describe.each(kinds)('store ledger group commit (%s)', (_kind, makeFactory) => {
  async function ledgerOn(failCommit = false) {
    const factory = makeFactory();
    factories.push(factory);
    const raw = await factory.open();
    const { store, transactions } = counted(raw, failCommit);
    const ledger = await StoreLedger.open(store);
    closers.push(() => ledger.close());
    return { raw, ledger, transactions };
  }

  it('concurrent begins (keyed and keyless) share ONE transaction, and every row is in the store after it', async () => {
    const { raw, ledger, transactions } = await ledgerOn();
    const entries = Array.from({ length: 64 }, (_, n) => begin(n, n % 4 === 0 ? undefined : `k-${n}`));
    await Promise.all(entries.map((e) => ledger.append(e)));
    expect(transactions()).toBe(1);
    for (const e of entries) {
      expect((await raw.records.get(DELIVERY_NAMESPACE, e.delivery_id))?.value).toEqual(e);
      if (e.idempotency_key !== undefined) {
        const key = await raw.records.get(DELIVERY_KEYS_NAMESPACE, scoped(e.idempotency_key));
        expect(key?.value).toEqual({ delivery_id: e.delivery_id, entry: e });
      }
    }
  });

  it('a key another writer holds fails only its own begin; the rest of the group commits in the same transaction', async () => {
    const { raw, ledger, transactions } = await ledgerOn();
    const foreign = { delivery_id: 'delivery-other-writer', entry: 'theirs' };
    await raw.records.put(DELIVERY_KEYS_NAMESPACE, scoped('k-3'), foreign);
    const entries = Array.from({ length: 8 }, (_, n) => begin(n));
    const results = await Promise.allSettled(entries.map((e) => ledger.append(e)));
    expect(results.map((r) => r.status)).toEqual(entries.map((_, n) => (n === 3 ? 'rejected' : 'fulfilled')));
    expect(await codeOf(Promise.reject((results[3] as PromiseRejectedResult).reason))).toBe('IdempotencyInFlight');
    expect(transactions()).toBe(1);
    const key = await raw.records.get<StoreJson>(DELIVERY_KEYS_NAMESPACE, scoped('k-3'));
    expect(key).toMatchObject({ version: 1, value: foreign });
    expect(await raw.records.get(DELIVERY_NAMESPACE, begin(3).delivery_id)).toBeUndefined();
    for (const n of [0, 1, 2, 4, 5, 6, 7]) {
      expect(await raw.records.get(DELIVERY_NAMESPACE, begin(n).delivery_id)).toBeDefined();
    }
  });

  it('two begins of one group claiming one new key: the first wins, the second is refused', async () => {
    const { raw, ledger, transactions } = await ledgerOn();
    const results = await Promise.allSettled([ledger.append(begin(0, 'same')), ledger.append(begin(1, 'same'))]);
    expect(results[0]?.status).toBe('fulfilled');
    expect(await codeOf(Promise.reject((results[1] as PromiseRejectedResult).reason))).toBe('IdempotencyInFlight');
    expect(transactions()).toBe(1);
    expect((await raw.records.get<StoreJson>(DELIVERY_KEYS_NAMESPACE, scoped('same')))?.value).toMatchObject({
      delivery_id: begin(0).delivery_id,
    });
    expect(await raw.records.get(DELIVERY_NAMESPACE, begin(1).delivery_id)).toBeUndefined();
  });

  it('an entry refused after its key was written is rolled back whole; the group commits again without it', async () => {
    const { raw, ledger, transactions } = await ledgerOn();
    // A delivery id already in the store: the key row goes in first, then the delivery row is refused.
    await raw.records.put(DELIVERY_NAMESPACE, begin(2).delivery_id, { someone: 'else' });
    const entries = Array.from({ length: 5 }, (_, n) => begin(n));
    const results = await Promise.allSettled(entries.map((e) => ledger.append(e)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const reason = (results[2] as PromiseRejectedResult).reason as MobKitError;
    expect(reason.code).toBe('LedgerWriteFailed');
    expect(reason.message).toContain(begin(2).delivery_id);
    expect(transactions()).toBe(2);
    expect(await raw.records.get(DELIVERY_KEYS_NAMESPACE, scoped('k-2'))).toBeUndefined();
    expect((await raw.records.get(DELIVERY_NAMESPACE, begin(2).delivery_id))?.value).toEqual({ someone: 'else' });
    for (const n of [0, 1, 3, 4]) {
      expect(await raw.records.get(DELIVERY_KEYS_NAMESPACE, scoped(`k-${n}`))).toBeDefined();
    }
  });

  it('a group whose commit fails acknowledges none of its entries, and none is in the store', async () => {
    const { raw, ledger } = await ledgerOn(true);
    const entries = Array.from({ length: 10 }, (_, n) => begin(n));
    const codes = await Promise.all(entries.map((e) => codeOf(ledger.append(e))));
    expect(codes).toEqual(entries.map(() => 'LedgerWriteFailed'));
    expect(await raw.records.list(DELIVERY_NAMESPACE)).toEqual([]);
    expect(await raw.records.list(DELIVERY_KEYS_NAMESPACE)).toEqual([]);
  });

  it('concurrent sends share transactions for their begins and their finished records, and replay after a restart', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const raw = await factory.open();
    const { store, transactions } = counted(raw);
    const sink = new MemorySink();
    const trusted = new Issuer();
    const delivery = new DeliveryService({ sinks: { memory: sink }, trusted, store });
    closers.push(() => delivery.close());
    const r = trusted.issue({ recipient: 'b@example.com', rateLimitPerMinute: 1_000_000 });
    const sends = 32;
    const records = await Promise.all(
      Array.from({ length: sends }, (_, n) => delivery.send({ resolution: r, payload: n, idempotencyKey: `s-${n}` })),
    );
    expect(records.map((x) => x.status)).toEqual(records.map(() => 'sent'));
    // Alone, each send would take two transactions (its begin, its finished record): 64. All begins
    // queue in one tick and all records in another, so a couple of groups hold them all.
    expect(transactions()).toBeLessThanOrEqual(4);
    const again = new DeliveryService({ sinks: { memory: sink }, trusted, store: await factory.open() });
    closers.push(() => again.close());
    const replayed = await again.send({ resolution: r, payload: 7, idempotencyKey: 's-7' });
    expect(replayed.deliveryId).toBe(records[7]?.deliveryId);
    expect(sink.messages).toHaveLength(sends);
  });

  it('a run that died before pruning left rows beyond the history window: the next run prunes them', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const store = await factory.open();
    const trusted = new Issuer();
    const r = trusted.issue({ recipient: 'c@example.com', rateLimitPerMinute: 1_000_000 });
    const first = new DeliveryService({
      sinks: { memory: new MemorySink() },
      trusted,
      ledger: await StoreLedger.open(store, { historyLimit: 5, pruneEvery: 1_000 }),
    });
    for (let n = 0; n < 20; n++) await first.send({ resolution: r, payload: n, idempotencyKey: `p-${n}` });
    await first.close();
    expect(await store.records.list(DELIVERY_NAMESPACE)).toHaveLength(20);
    const ledger = await StoreLedger.open(await factory.open(), { historyLimit: 5, pruneEvery: 1 });
    const second = new DeliveryService({ sinks: { memory: new MemorySink() }, trusted, ledger });
    closers.push(() => second.close());
    await second.send({ resolution: r, payload: 'after', idempotencyKey: 'p-after' });
    await ledger.close(); // waits for the prune the send started
    const rows = await store.records.list<StoreJson>(DELIVERY_NAMESPACE, { orderBy: 'range' });
    expect(rows.map((row) => (row.value as { record: { payload: unknown } }).record.payload)).toEqual([
      16,
      17,
      18,
      19,
      'after',
    ]);
  });
});

describe.skipIf(server === undefined)('store ledger group commit (postgres, a statement the server refuses)', () => {
  it('fails the whole group (the server aborted its transaction), acknowledges none of it, and the next group commits', async () => {
    const factory = postgresFactory();
    factories.push(factory);
    const store = await factory.open();
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: await factory.url() });
    await admin.connect();
    try {
      // A refusal no input check can foresee (as a full disk or a constraint would be).
      await admin.query(`create function ledger.refuse_poison() returns trigger language plpgsql as $$
        begin if new.key like '%poison%' then raise exception 'poisoned key %', new.key; end if; return new; end $$`);
      await admin.query(`create trigger refuse_poison before insert or update on ledger.records
        for each row execute function ledger.refuse_poison()`);
    } finally {
      await admin.end();
    }
    const ledger = await StoreLedger.open(store);
    closers.push(() => ledger.close());
    const entries = [begin(0), begin(1, 'poison'), begin(2)];
    const codes = await Promise.all(entries.map((e) => codeOf(ledger.append(e))));
    expect(codes).toEqual(['LedgerWriteFailed', 'LedgerWriteFailed', 'LedgerWriteFailed']);
    expect(await store.records.list(DELIVERY_NAMESPACE)).toEqual([]);
    expect(await store.records.list(DELIVERY_KEYS_NAMESPACE)).toEqual([]);
    await Promise.all([ledger.append(begin(3)), ledger.append(begin(4))]);
    expect((await store.records.list(DELIVERY_NAMESPACE)).map((r) => r.key)).toEqual([
      begin(3).delivery_id,
      begin(4).delivery_id,
    ]);
  });
});

describe('store ledger close', () => {
  it('waits for appends made in the same tick, and refuses appends after it', async () => {
    const factory = memoryFactory();
    factories.push(factory);
    const store = await factory.open();
    const ledger = await StoreLedger.open(store);
    const appended = [ledger.append(begin(0)), ledger.append(begin(1))];
    await ledger.close();
    expect((await store.records.list(DELIVERY_NAMESPACE)).map((r) => r.key)).toEqual([
      begin(0).delivery_id,
      begin(1).delivery_id,
    ]);
    await Promise.all(appended);
    expect(await codeOf(ledger.append(begin(2)))).toBe('LedgerWriteFailed');
  });
});
