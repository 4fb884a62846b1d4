import { ManualClock, type MobKitStore } from '@mobkit/core';
import { expectMobKitError, postgresOrSkip, startTestPostgres } from '@mobkit/test-utils';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SCHEMA_VERSION, openPostgresStore } from '../src/postgres/index.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** `value`, or a thrown error when it is missing (instead of a non-null assertion). */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

const newDatabase = () => must(server).createDatabase();

const event = (id: string, extra: Partial<{ memberId: string | null; kind: string; eventType: string }> = {}) => ({
  id,
  timestampMs: 1_000,
  memberId: extra.memberId ?? null,
  kind: extra.kind ?? 'runtime',
  eventType: extra.eventType ?? 'tick',
  data: { id, nested: [1, 'two', null] },
});

describe.skipIf(!server)('openPostgresStore: opening', () => {
  const stores: MobKitStore[] = [];
  afterAll(() => Promise.all(stores.map((s) => s.close())));
  const open = async (options: Parameters<typeof openPostgresStore>[0]) => {
    const store = await openPostgresStore(options);
    stores.push(store);
    return store;
  };

  it('migrates a fresh database once, whether opened twice in a row or by two pools at once', async () => {
    const url = await newDatabase();
    const [a, b] = await Promise.all([open({ url }), open({ url })]);
    const c = await open({ url });
    for (const store of [a, b, c]) expect(store.info.schemaVersion).toBe(POSTGRES_SCHEMA_VERSION);
    const versions = await sql(url, 'select version from mobkit.schema_version');
    expect(versions.rows).toEqual([{ version: POSTGRES_SCHEMA_VERSION }]);
    await a.events.append([event('e1')]);
    expect((await c.events.query()).map((e) => e.id)).toEqual(['e1']);
  });

  it('names host, port and database in info.location, never the user or password', async () => {
    const url = await newDatabase();
    const parsed = new URL(url);
    parsed.password = 'sekret';
    const store = await open({ url: url.replace('postgres@', 'postgres:sekret@') });
    expect(store.info).toEqual({
      kind: 'postgres',
      location: `postgres://127.0.0.1:${parsed.port}${parsed.pathname}`,
      schemaVersion: POSTGRES_SCHEMA_VERSION,
    });
  });

  it('refuses a schema written by a newer MobKit, naming both versions, and writes nothing', async () => {
    const url = await newDatabase();
    await sql(url, 'create schema mobkit');
    await sql(url, 'create table mobkit.schema_version (id int primary key, version int not null)');
    await sql(url, 'insert into mobkit.schema_version values (1, $1)', [POSTGRES_SCHEMA_VERSION + 7]);
    const error = await expectMobKitError(openPostgresStore({ url }), 'StoreSchemaTooNew');
    expect(error.message).toContain(`schema version ${POSTGRES_SCHEMA_VERSION + 7}`);
    expect(error.message).toContain(`up to ${POSTGRES_SCHEMA_VERSION}`);
    const tables = await sql(url, "select table_name from information_schema.tables where table_schema = 'mobkit'");
    expect(tables.rows).toEqual([{ table_name: 'schema_version' }]);
  });

  it('refuses a malformed URL with InvalidConfig naming store.url and a valid shape, without the password', async () => {
    for (const url of ['', 'not a url', 'mysql://u:sekret@h/db', 'postgres://u:sekret@/db', 'postgres://h/a/b']) {
      const error = await expectMobKitError(openPostgresStore({ url }), 'InvalidConfig');
      expect(error.message).toContain('store.url');
      expect(error.message).toContain('postgres://user:password@host:5432/database');
      expect(error.message).not.toContain('sekret');
      expect(error.details).toMatchObject({ field: 'store.url' });
    }
    await expectMobKitError(openPostgresStore({ url: 'postgres://h/db', schema: 'Bad-Name' }), 'InvalidConfig');
  });

  it('answers a server that is down with StoreUnavailable naming host:port/db, not the password', async () => {
    const down = await startTestPostgres();
    const url = await down.createDatabase('gone');
    await down.stop();
    const port = new URL(url).port;
    const error = await expectMobKitError(
      openPostgresStore({ url: url.replace('postgres@', 'postgres:sekret@'), connectTimeoutMs: 2_000 }),
      'StoreUnavailable',
    );
    expect(error.message).toContain(`postgres://127.0.0.1:${port}/gone`);
    expect(error.message).not.toContain('sekret');
  });

  it('answers a database that does not exist with StoreUnavailable', async () => {
    const url = new URL(must(server).url);
    url.pathname = '/no_such_db';
    const error = await expectMobKitError(openPostgresStore({ url: url.toString() }), 'StoreUnavailable');
    expect(error.message).toContain('/no_such_db');
    expect(error.message).toContain('does not exist');
  });
});

describe.skipIf(!server)('openPostgresStore: the event log', () => {
  let url: string;
  let a: MobKitStore;
  let b: MobKitStore;
  beforeAll(async () => {
    url = await newDatabase();
    a = await openPostgresStore({ url });
    b = await openPostgresStore({ url, max: 4 });
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  it('gives gapless seqs to concurrent appenders from two pools, each batch consecutive', async () => {
    const appends = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? a : b).events.append(Array.from({ length: 5 }, (_, j) => event(`c${i}-${j}`))),
    );
    const batches = await Promise.all(appends);
    for (const batch of batches) {
      const first = must(batch[0]).seq;
      expect(batch.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4].map((j) => first + j));
    }
    const all = await a.events.query({ limit: 1_000 });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await b.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 200, count: 200 });
  });

  it('skips ids already stored or repeated in the batch and returns the stored entry in their place', async () => {
    const [first] = await a.events.append([event('dup-1')]);
    const again = await b.events.append([event('dup-2'), { ...event('dup-1'), data: 'other' }, event('dup-2')]);
    expect(again[1]).toEqual(first);
    expect(again[2]).toEqual(again[0]);
    expect(must(again[0]).seq).toBe(must(first).seq + 1);
    expect((await a.events.bounds()).lastSeq).toBe(must(first).seq + 1);
  });

  it('filters by member, kinds, types, time and cursor, in either order', async () => {
    const base = (await a.events.bounds()).lastSeq;
    await a.events.append([
      { ...event('q1', { memberId: 'm1', kind: 'agent', eventType: 'run_started' }), timestampMs: 10 },
      { ...event('q2', { memberId: 'm2', kind: 'agent', eventType: 'run_completed' }), timestampMs: 20 },
      { ...event('q3', { memberId: 'm1', kind: 'module', eventType: 'dispatch' }), timestampMs: 30 },
    ]);
    const ids = async (query: Parameters<MobKitStore['events']['query']>[0]) =>
      (await b.events.query({ afterSeq: base, ...query })).map((e) => e.id);
    expect(await ids({ memberId: 'm1' })).toEqual(['q1', 'q3']);
    expect(await ids({ kinds: ['agent'], eventTypes: ['run_completed', 'dispatch'] })).toEqual(['q2']);
    expect(await ids({ sinceMs: 20, untilMs: 30 })).toEqual(['q2']);
    expect(await ids({ order: 'desc', limit: 2 })).toEqual(['q3', 'q2']);
    expect((await b.events.query({ afterSeq: base + 2 }))[0]).toMatchObject({ id: 'q3', seq: base + 3 });
  });

  it('prunes by row count without reusing seqs, and restores entries keeping their seqs', async () => {
    const before = await a.events.bounds();
    expect(await a.events.prune({ maxRows: 2 })).toBe(before.count - 2);
    expect(await a.events.bounds()).toEqual({ firstSeq: before.lastSeq - 1, lastSeq: before.lastSeq, count: 2 });
    const [next] = await b.events.append([event('after-prune')]);
    expect(must(next).seq).toBe(before.lastSeq + 1);
    const restored = { ...event('restored'), seq: before.lastSeq + 10 };
    await a.events.restore([restored]);
    expect(await b.events.query({ afterSeq: before.lastSeq + 1 })).toEqual([restored]);
    await expectMobKitError(a.events.restore([{ ...event('old'), seq: 3 }]), 'InvalidInput');
    expect(must((await a.events.append([event('after-restore')]))[0]).seq).toBe(before.lastSeq + 11);
  });
});

describe.skipIf(!server)('openPostgresStore: records, claims, leases, transactions', () => {
  let url: string;
  let a: MobKitStore;
  let b: MobKitStore;
  const clock = new ManualClock(1_000_000);
  beforeAll(async () => {
    url = await newDatabase();
    a = await openPostgresStore({ url, clock });
    b = await openPostgresStore({ url, clock });
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  it('compare-and-set: 0 means absent, n means exactly n, a mismatch writes nothing', async () => {
    const created = await a.records.put('ns', 'k', { n: 1 }, { expectedVersion: 0, index: 'i' });
    expect(created).toMatchObject({ version: 1, value: { n: 1 }, index: 'i', updatedAtMs: 1_000_000 });
    await expectMobKitError(b.records.put('ns', 'k', { n: 9 }, { expectedVersion: 0 }), 'VersionConflict');
    expect((await b.records.put('ns', 'k', { n: 2 }, { expectedVersion: 1 })).version).toBe(2);
    const stale = await expectMobKitError(
      a.records.put('ns', 'k', { n: 3 }, { expectedVersion: 1 }),
      'VersionConflict',
    );
    expect(stale.details).toMatchObject({ expectedVersion: 1, foundVersion: 2 });
    await expectMobKitError(a.records.delete('ns', 'k', { expectedVersion: 1 }), 'VersionConflict');
    expect(await a.records.get('ns', 'k')).toEqual({
      namespace: 'ns',
      key: 'k',
      value: { n: 2 },
      version: 2,
      updatedAtMs: 1_000_000,
    });
    expect(await a.records.delete('ns', 'k', { expectedVersion: 2 })).toBe(true);
    expect(await a.records.delete('ns', 'k')).toBe(false);
  });

  it('concurrent read-modify-write loops on two pools lose no increment', async () => {
    const bump = async (store: MobKitStore) => {
      for (;;) {
        const current = await store.records.get<number>('counters', 'c');
        try {
          await store.records.put('counters', 'c', (current?.value ?? 0) + 1, {
            expectedVersion: current?.version ?? 0,
          });
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== 'VersionConflict') throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    expect(await a.records.get('counters', 'c')).toMatchObject({ value: 20, version: 20 });
  });

  it('one conflicting write in a group fails alone; the others commit', async () => {
    await a.records.put('group', 'taken', 'x');
    const results = await Promise.allSettled([
      ...Array.from({ length: 30 }, (_, i) => a.records.put('group', `k${i}`, i)),
      a.records.put('group', 'taken', 'y', { expectedVersion: 0 }),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(await b.records.list('group', { prefix: 'k' })).toHaveLength(30);
  });

  it('lists by prefix (literal % and _), index and range, with keyset paging', async () => {
    for (const [key, range] of [
      ['a%1', 3],
      ['a_2', 1],
      ['ab3', 2],
      ['b4', 5],
    ] as const) {
      await a.records.put('list', key, key, { range, index: range % 2 === 0 ? 'even' : 'odd' });
    }
    const keys = (records: { key: string }[]) => records.map((r) => r.key);
    expect(keys(await b.records.list('list', { prefix: 'a%' }))).toEqual(['a%1']);
    expect(keys(await b.records.list('list', { prefix: 'a' }))).toEqual(['a%1', 'a_2', 'ab3']);
    expect(keys(await b.records.list('list', { index: 'even' }))).toEqual(['ab3']);
    expect(keys(await b.records.list('list', { rangeMin: 2, rangeMax: 5, orderBy: 'range' }))).toEqual(['ab3', 'a%1']);
    expect(keys(await b.records.list('list', { orderBy: 'range', afterKey: 'ab3', limit: 1 }))).toEqual(['a%1']);
    expect(keys(await b.records.list('list', { order: 'desc', afterKey: 'ab3' }))).toEqual(['a_2', 'a%1']);
    expect(await b.records.namespaces()).toEqual(expect.arrayContaining(['counters', 'group', 'list']));
  });

  it('full-text search matches every word (simple config, any case), best match first', async () => {
    await a.records.put('docs', 'd1', 1, { text: 'The quick brown fox' });
    await a.records.put('docs', 'd2', 2, { text: 'quick quick fox, quick fox' });
    await a.records.put('docs', 'd3', 3, { text: 'a slow brown dog' });
    await a.records.put('other', 'd4', 4, { text: 'quick fox' });
    expect((await b.records.search('docs', 'QUICK fox')).map((r) => r.key)).toEqual(['d2', 'd1']);
    expect((await b.records.search('docs', 'brown')).map((r) => r.key).sort()).toEqual(['d1', 'd3']);
    expect(await b.records.search('docs', 'quick dog')).toEqual([]);
    expect(await b.records.search('docs', '   ')).toEqual([]);
    expect(await b.records.search('docs', 'quick', { limit: 1 })).toHaveLength(1);
  });

  it('claims: one winner across two pools, held until expiry or release', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claims.claim('jobs', 'j1', `owner-${i}`, { ttlMs: 100 })),
    );
    const winners = results.filter((r) => r.claimed);
    expect(winners).toHaveLength(1);
    const owner = must(winners[0]).holder.owner;
    for (const r of results) expect(r.holder.owner).toBe(owner);
    expect(await a.claims.release('jobs', 'j1', 'someone-else')).toBe(false);
    clock.advance(100);
    expect(await b.claims.holder('jobs', 'j1')).toBeUndefined();
    expect((await b.claims.claim('jobs', 'j1', 'late')).claimed).toBe(true);
    expect(await a.claims.list('jobs')).toEqual([{ key: 'j1', owner: 'late', claimedAtMs: clock.nowMs() }]);
    expect(await a.claims.release('jobs', 'j1', 'late')).toBe(true);
    expect(await a.claims.holder('jobs', 'j1')).toBeUndefined();
  });

  it('leases: one holder, renewed by it, and a fencing token that rises when it changes hands', async () => {
    const first = await a.leases.acquire('leader', 'r1', 1_000);
    expect(first).toMatchObject({ owner: 'r1', token: 1 });
    expect(await b.leases.acquire('leader', 'r2', 1_000)).toBeUndefined();
    clock.advance(500);
    expect(await a.leases.renew('leader', 'r1', 1_000)).toMatchObject({ token: 1, expiresAtMs: clock.nowMs() + 1_000 });
    clock.advance(1_000);
    expect(await b.leases.current('leader')).toBeUndefined();
    const second = await b.leases.acquire('leader', 'r2', 1_000);
    expect(second).toMatchObject({ owner: 'r2', token: 2 });
    expect(await a.leases.renew('leader', 'r1', 1_000)).toBeUndefined();
    expect(await b.leases.release('leader', 'r2')).toBe(true);
    expect((await a.leases.acquire('leader', 'r1', 1_000))?.token).toBe(3);
  });

  it('a transaction commits its writes together and rolls them all back when fn throws', async () => {
    const committed = await a.transaction(async (tx) => {
      await tx.records.put('tx', 'begin', 1);
      const [entry] = await tx.events.append([event('tx-history')]);
      expect(await tx.records.get('tx', 'begin')).toMatchObject({ value: 1 });
      return must(entry).seq;
    });
    expect((await b.events.query({ afterSeq: committed - 1 }))[0]?.id).toBe('tx-history');
    const last = (await a.events.bounds()).lastSeq;
    const boom = new Error('boom');
    await expect(
      a.transaction(async (tx) => {
        await tx.records.put('tx', 'rolled-back', 1);
        await tx.events.append([event('tx-rolled-back')]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await b.records.get('tx', 'rolled-back')).toBeUndefined();
    expect(must((await b.events.append([event('tx-next')]))[0]).seq).toBe(last + 1);
  });

  it('refuses input PostgreSQL could not store exactly, before writing', async () => {
    await expectMobKitError(a.records.put('ns', 'nul\u0000key', 1), 'InvalidInput');
    await expectMobKitError(a.records.put('ns', 'k', 1, { text: '\ud800' }), 'InvalidInput');
    await expectMobKitError(a.events.append([{ ...event('bad'), timestampMs: 1.5 }]), 'InvalidInput');
    const odd = await a.records.put('ns', 'odd', { s: 'nul \u0000 and \ud800 inside JSON' });
    expect((await b.records.get('ns', 'odd'))?.value).toEqual(odd.value);
  });
});

describe.skipIf(!server)('openPostgresStore: failures after open', () => {
  it('a write after the server stopped rejects with StoreWriteFailed naming the location', async () => {
    const doomed = await startTestPostgres();
    const store = await openPostgresStore({ url: await doomed.createDatabase(), connectTimeoutMs: 1_000 });
    await store.records.put('ns', 'before', 1);
    await doomed.stop();
    const error = await expectMobKitError(store.records.put('ns', 'after', 1), 'StoreWriteFailed');
    expect(error.message).toContain(store.info.location);
    await expectMobKitError(store.records.get('ns', 'before'), 'StoreUnavailable');
    await store.close();
  });

  it('after its connections were killed the store reconnects, and a write is acknowledged once', async () => {
    const url = await newDatabase();
    const store = await openPostgresStore({ url });
    await store.records.put('ns', 'warm', 1);
    const killed = await sql(
      url,
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    const [entry] = await store.events.append([event('survivor')]);
    expect(must(entry).seq).toBe(1);
    expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 1, count: 1 });
    await store.close();
    await expectMobKitError(store.records.get('ns', 'warm'), 'StoreClosed');
    await store.close();
  });
});
