import { ManualClock, type StoreTransaction } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/index.js';

const ev = (id: string) => ({ id, timestampMs: 1, memberId: null, kind: 'runtime', eventType: 'tick', data: { id } });

describe('createMemoryStore (beyond the conformance suite)', () => {
  it('says what it is: memory, schema version 0', () => {
    expect(createMemoryStore().info).toEqual({ kind: 'memory', location: 'memory', schemaVersion: 0 });
  });

  it('stamps records and claims with its clock', async () => {
    const clock = new ManualClock(5000);
    const store = createMemoryStore({ clock });
    expect((await store.records.put('ns', 'k', 1)).updatedAtMs).toBe(5000);
    clock.advance(10);
    expect((await store.claims.claim('ns', 'k', 'me', { ttlMs: 100 })).holder).toEqual({
      key: 'k',
      owner: 'me',
      claimedAtMs: 5010,
      expiresAtMs: 5110,
    });
    expect(await store.events.prune({ maxAgeMs: 4000 })).toBe(0);
    await store.events.append([{ ...ev('old'), timestampMs: 1000 }]);
    expect(await store.events.prune({ maxAgeMs: 4000 })).toBe(1);
  });

  it('shows readers outside a running transaction only committed state', async () => {
    const store = createMemoryStore();
    let seenDuring: unknown;
    await store.transaction(async (tx) => {
      await tx.events.append([ev('pending')]);
      await tx.records.put('ns', 'k', 'pending');
      seenDuring = {
        bounds: await store.events.bounds(),
        record: await store.records.get('ns', 'k'),
        namespaces: await store.records.namespaces(),
      };
    });
    expect(seenDuring).toEqual({ bounds: { firstSeq: 0, lastSeq: 0, count: 0 }, record: undefined, namespaces: [] });
    expect((await store.events.bounds()).lastSeq).toBe(1);
  });

  it('refuses a transaction’s ports once it has ended', async () => {
    const store = createMemoryStore();
    let kept: StoreTransaction | undefined;
    await store.transaction(async (tx) => {
      kept = tx;
    });
    const error = await expectMobKitError(() => (kept as StoreTransaction).records.put('ns', 'k', 1), 'StoreClosed');
    expect(error.message).toContain('transaction has ended');
    expect(await store.records.get('ns', 'k')).toBeUndefined();
  });

  it('names the namespace, key and both versions in a VersionConflict', async () => {
    const store = createMemoryStore();
    await store.records.put('orders', 'o-1', 1);
    const error = await expectMobKitError(
      () => store.records.put('orders', 'o-1', 2, { expectedVersion: 7 }),
      'VersionConflict',
    );
    expect(error.details).toEqual({ namespace: 'orders', key: 'o-1', expectedVersion: 7, actualVersion: 1 });
    expect(error.message).toMatch(/"o-1".*"orders".*version 1.*expected 7/);
  });

  it('refuses what is not JSON or a blank name with InvalidInput naming the field, and writes nothing', async () => {
    const store = createMemoryStore();
    await expectMobKitError(() => store.records.put('ns', '', 1), 'InvalidInput');
    await expectMobKitError(() => store.records.put('ns', 'k', undefined as never), 'InvalidInput');
    const bad = await expectMobKitError(
      () => store.events.append([ev('fine'), { ...ev('bad'), timestampMs: Number.NaN }]),
      'InvalidInput',
    );
    expect(bad.message).toContain('events[1].timestampMs');
    expect(await store.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 0, count: 0 });
    await expectMobKitError(() => store.leases.acquire('l', 'me', 0), 'InvalidInput');
    await expectMobKitError(() => store.events.query({ limit: -1 }), 'InvalidInput');
  });

  it('keeps a fencing token rising after a release, even for the same owner', async () => {
    const store = createMemoryStore();
    const first = await store.leases.acquire('l', 'me', 1000);
    await store.leases.release('l', 'me');
    expect((await store.leases.acquire('l', 'me', 1000))?.token).toBe((first?.token ?? 0) + 1);
  });
});
