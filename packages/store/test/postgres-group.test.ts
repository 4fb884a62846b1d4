// The PostgreSQL group-commit writer: many callers' writes pipelined into one transaction, each caller
// told exactly what happened to its own write — and nothing acknowledged that the server did not commit.
import type { MobKitError, MobKitStore } from '@mobkit/core';
import { postgresOrSkip } from '@mobkit/test-utils';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/postgres/index.js';

const server = await postgresOrSkip();
afterAll(() => server?.stop());

const event = (id: string) => ({
  id,
  timestampMs: 1_000,
  memberId: null,
  kind: 'runtime',
  eventType: 'tick',
  data: {},
});

/** `value`, or a thrown error when it is missing (instead of a non-null assertion). */
function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

describe.skipIf(!server)('openPostgresStore: group commit', () => {
  let url: string;
  let admin: pg.Pool;
  let store: MobKitStore;
  let other: MobKitStore;
  beforeAll(async () => {
    url = await must(server ?? undefined).createDatabase();
    admin = new pg.Pool({ connectionString: url, max: 1 });
    store = await openPostgresStore({ url, schema: 'grouped' });
    other = await openPostgresStore({ url, schema: 'grouped', max: 4 });
    // A server-side refusal no input check can foresee (as a full disk or a constraint would be).
    await admin.query(`create function grouped.refuse_poison() returns trigger language plpgsql as $$
      begin if new.key like 'poison%' then raise exception 'poisoned key %', new.key; end if; return new; end $$`);
    await admin.query(`create trigger refuse_poison before insert or update on grouped.records
      for each row execute function grouped.refuse_poison()`);
  });
  afterAll(async () => {
    await Promise.all([store?.close(), other?.close()]);
    await admin?.end();
  });

  it('a write the server refuses fails alone: its group is rolled back, the others re-run and land', async () => {
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => store.records.put('poison', `ok${i}`, i)),
      store.records.put('poison', 'poison-1', 'x'),
      store.records.put('poison', 'fresh', 'y', { expectedVersion: 0 }),
    ]);
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(rejected).toEqual([20]);
    const refusal = (results[20] as PromiseRejectedResult).reason as MobKitError;
    expect(refusal.code).toBe('StoreWriteFailed');
    expect(refusal.message).toContain('poisoned key poison-1');
    // Every acknowledged write is there exactly once (version 1: re-run after the rollback, not twice).
    const stored = await other.records.list('poison');
    expect(stored.map((r) => r.key).sort()).toEqual(
      [...Array.from({ length: 20 }, (_, i) => `ok${i}`), 'fresh'].sort(),
    );
    expect(stored.every((r) => r.version === 1)).toBe(true);
  });

  it('compare-and-set pipelined behind a write to the same key sees that write and names its version', async () => {
    const [first, second, third] = await Promise.allSettled([
      store.records.put('cas', 'k', 'a'),
      store.records.put('cas', 'k', 'b', { expectedVersion: 0 }),
      store.records.put('cas', 'k', 'c', { expectedVersion: 1 }),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { version: 1 } });
    expect(second.status).toBe('rejected');
    const conflict = (second as PromiseRejectedResult).reason as MobKitError;
    expect(conflict.code).toBe('VersionConflict');
    expect(conflict.details).toMatchObject({ expectedVersion: 0, foundVersion: 1 });
    expect(third).toMatchObject({ status: 'fulfilled', value: { version: 2, value: 'c' } });
    expect(await other.records.get('cas', 'k')).toMatchObject({ value: 'c', version: 2 });
  });

  it('many compare-and-set puts of one group: each conflicting row fails its own caller, naming its version', async () => {
    await Promise.all(['k2', 'k5', 'k7'].map((key) => store.records.put('many', key, 'old')));
    await store.records.put('many', 'k5', 'older');
    const absent = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.records.put('many', `k${i}`, i, { expectedVersion: 0 })),
    );
    const conflicts = absent.flatMap((r, i) =>
      r.status === 'rejected' ? [[i, (r.reason as MobKitError).code, (r.reason as MobKitError).details]] : [],
    );
    expect(conflicts).toEqual([
      [2, 'VersionConflict', expect.objectContaining({ expectedVersion: 0, foundVersion: 1 })],
      [5, 'VersionConflict', expect.objectContaining({ expectedVersion: 0, foundVersion: 2 })],
      [7, 'VersionConflict', expect.objectContaining({ expectedVersion: 0, foundVersion: 1 })],
    ]);
    // Now k0..k9 are at version 1 except k5 (2): update them all expecting version 1.
    const at = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.records.put('many', `k${i}`, `v${i}`, { expectedVersion: 1 })),
    );
    expect(at.map((r) => r.status)).toEqual(Array.from({ length: 10 }, (_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    expect(((at[5] as PromiseRejectedResult).reason as MobKitError).details).toMatchObject({ foundVersion: 2 });
    const stored = await other.records.list('many');
    expect(stored.map((r) => [r.key, r.value, r.version])).toEqual(
      Array.from({ length: 10 }, (_, i) => (i === 5 ? ['k5', 'older', 2] : [`k${i}`, `v${i}`, 2])),
    );
  });

  it('puts issued together inside a transaction land together, and one conflict rolls them all back', async () => {
    await store.transaction((tx) =>
      Promise.all([tx.records.put('together', 'a', 1), tx.records.put('together', 'b', 1, { expectedVersion: 0 })]),
    );
    const failed = store.transaction((tx) =>
      Promise.all([
        tx.records.put('together', 'c', 1),
        tx.records.put('together', 'b', 2, { expectedVersion: 0 }),
        tx.records.put('together', 'a', 2),
      ]),
    );
    const conflict = (await failed.catch((error: unknown) => error)) as MobKitError;
    expect(conflict.code).toBe('VersionConflict');
    expect(conflict.details).toMatchObject({ key: 'b', foundVersion: 1 });
    const stored = await other.records.list('together');
    expect(stored.map((r) => [r.key, r.value])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });

  it('inside a transaction, puts and reads issued together run in the order they were issued', async () => {
    const [first, second, , seen, removed] = await store.transaction((tx) =>
      Promise.all([
        tx.records.put('order', 'x', 1),
        tx.records.put('order', 'x', 2),
        tx.records.put('order', 'y', 1, { expectedVersion: 0 }),
        tx.records.get('order', 'x'),
        tx.records.delete('order', 'y'),
      ]),
    );
    expect([first.version, second.version, seen?.value, removed]).toEqual([1, 2, 2, true]);
    expect((await other.records.list('order')).map((r) => [r.key, r.value, r.version])).toEqual([['x', 2, 2]]);
  });

  it('plain writes, event appends and transactions in one group each land as their caller was told', async () => {
    const boom = new Error('boom');
    const results = await Promise.allSettled([
      store.records.put('mixed', 'plain-1', 1),
      store.events.append([event('mixed-1'), event('mixed-2')]),
      store.transaction(async (tx) => {
        await tx.records.put('mixed', 'tx-ok', 1);
        await tx.events.append([event('mixed-tx')]);
        return 'committed';
      }),
      store.records.put('mixed', 'plain-2', 2),
      store.transaction(async (tx) => {
        await tx.records.put('mixed', 'tx-rolled-back', 1);
        await tx.events.append([event('mixed-rolled-back')]);
        throw boom;
      }),
      store.transaction(async (tx) => {
        await tx.records.put('mixed', 'poison-tx', 1);
      }),
      store.events.append([event('mixed-3')]),
      store.records.delete('mixed', 'plain-1', { expectedVersion: 1 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect((results[4] as PromiseRejectedResult).reason).toBe(boom);
    expect(((results[5] as PromiseRejectedResult).reason as MobKitError).code).toBe('StoreWriteFailed');
    expect((await other.records.list('mixed')).map((r) => r.key)).toEqual(['plain-2', 'tx-ok']);
    const ids = (await other.events.query({})).map((e) => [e.seq, e.id]);
    expect(ids.map(([, id]) => id).sort()).toEqual(['mixed-1', 'mixed-2', 'mixed-3', 'mixed-tx']);
    // Gapless: the rolled-back append took no seq.
    expect(ids.map(([seq]) => seq)).toEqual([1, 2, 3, 4]);
  });
});
