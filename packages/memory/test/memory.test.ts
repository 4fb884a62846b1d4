// The memory engine on every backend: volatile (no store), the in-memory store and SQLite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type MobKitStore, isMobKitError } from '@mobkit/core';
import { openStore } from '@mobkit/store';
import { expectMobKitError, postgresOrSkip } from '@mobkit/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MEMORY_STORES, MemoryStore, createMemory, memoryCapabilities } from '../src/index.js';

// PostgreSQL joins the matrix when a server can be started (or MOBKIT_TEST_DATABASE_URL is set).
const pgServer = await postgresOrSkip();
afterAll(() => pgServer?.stop());

const dirs: string[] = [];
const stores: MobKitStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Backend = 'volatile' | 'memory-store' | 'sqlite' | 'postgres';
async function openBackend(kind: Backend): Promise<MobKitStore | undefined> {
  if (kind === 'volatile') return undefined;
  if (kind === 'postgres') {
    const s = await openStore({
      kind: 'postgres',
      url: await (pgServer as NonNullable<typeof pgServer>).createDatabase(),
    });
    stores.push(s);
    return s;
  }
  if (kind === 'memory-store') {
    const s = await openStore({ kind: 'memory' });
    stores.push(s);
    return s;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-memory-'));
  dirs.push(dir);
  const s = await openStore({ kind: 'sqlite', path: join(dir, 'state.db') });
  stores.push(s);
  return s;
}

describe.each<Backend>(['volatile', 'memory-store', 'sqlite', ...(pgServer ? (['postgres'] as const) : [])])(
  'memory on %s',
  (kind) => {
    async function make(options: { singleValuedTopics?: string[]; clock?: ManualClock } = {}) {
      const clock = options.clock ?? new ManualClock(1_000);
      const store = await openBackend(kind);
      return { clock, memory: new MemoryStore({ ...(store ? { store } : {}), clock, ...options }) };
    }

    it('indexes canonical assertions and conflicts, queries them and counts the five stores', async () => {
      const { memory } = await make();
      const first = await memory.index({
        entity: '  Alice ',
        topic: 'Employer',
        fact: 'Works at Acme',
        metadata: { n: 1 },
      });
      expect(first).toEqual({
        entity: 'alice',
        topic: 'employer',
        store: 'knowledge_graph',
        assertion_id: 'memory-assert-000000',
        conflict_active: false,
      });
      const second = await memory.index({ entity: 'bob', topic: 'todo', store: ' TODO ', fact: 'ship it' });
      expect(second.assertion_id).toBe('memory-assert-000001');
      const flagged = await memory.index({
        entity: 'ALICE',
        topic: 'employer',
        conflict: true,
        conflict_reason: 'hr says no',
      });
      expect(flagged).toEqual({ entity: 'alice', topic: 'employer', store: 'knowledge_graph', conflict_active: true });
      const q = await memory.query({ entity: 'Alice' });
      expect(q.assertions).toEqual([
        {
          assertion_id: 'memory-assert-000000',
          entity: 'alice',
          topic: 'employer',
          store: 'knowledge_graph',
          fact: 'Works at Acme',
          metadata: { n: 1 },
          indexed_at_ms: 1_000,
          valid_from_ms: 1_000,
          version: 1,
        },
      ]);
      expect(q.conflicts).toEqual([
        { entity: 'alice', topic: 'employer', store: 'knowledge_graph', reason: 'hr says no', updated_at_ms: 1_000 },
      ]);
      // A later fact on the slot reports the conflict as still active.
      expect((await memory.index({ entity: 'alice', topic: 'employer', fact: 'x' })).conflict_active).toBe(true);
      expect((await memory.query({ store: 'todo' })).assertions.map((a) => a.fact)).toEqual(['ship it']);
      expect((await memory.query({ topic: 'EMPLOYER' })).assertions).toHaveLength(2);
      expect(await memory.stores()).toEqual({
        stores: MEMORY_STORES.map((store) => ({
          store,
          record_count: store === 'knowledge_graph' ? 3 : store === 'todo' ? 1 : 0,
        })),
      });
    });

    it('answers the spec errors and names mistyped fields', async () => {
      const { memory } = await make();
      await expectMobKitError(memory.index({ topic: 't', fact: 'f' }), 'EntityRequired');
      await expectMobKitError(memory.index({ entity: '  ', topic: 't', fact: 'f' }), 'EntityRequired');
      await expectMobKitError(memory.index({ entity: 'e', topic: '', fact: 'f' }), 'TopicRequired');
      await expectMobKitError(memory.index({ entity: 'e', topic: 't', store: 'graph', fact: 'f' }), 'UnsupportedStore');
      await expectMobKitError(memory.index({ entity: 'e', topic: 't' }), 'FactRequiredWhenConflictUnset');
      await expectMobKitError(
        memory.index({ entity: 'e', topic: 't', conflict: false }),
        'FactRequiredWhenConflictUnset',
      );
      for (const [field, bad] of [
        ['entity', 5],
        ['fact', 1],
        ['metadata', [1]],
        ['conflict', 'yes'],
        ['single_valued', 1],
        ['expected_version', -1],
      ] as const) {
        const error = await expectMobKitError(
          memory.index({ entity: 'e', topic: 't', fact: 'f', [field]: bad }),
          'InvalidInput',
        );
        expect(error.details?.field).toBe(field);
        expect(error.message).toContain(field);
      }
      await expectMobKitError(memory.query({ as_of_ms: 'now' }), 'InvalidInput');
      await expectMobKitError(memory.search({ text: '' }), 'InvalidInput');
      await expectMobKitError(memory.search({ text: 'a', limit: 0 }), 'InvalidInput');
      expect(await memory.query({})).toEqual({ assertions: [], conflicts: [] });
    });

    it('supersedes on single-valued topics and answers as_of queries from history', async () => {
      const { memory, clock } = await make({ singleValuedTopics: ['Employer'] });
      const a = await memory.index({ entity: 'alice', topic: 'employer', fact: 'Acme', metadata: { source: 'crm' } });
      clock.set(2_000);
      const b = await memory.index({ entity: 'alice', topic: 'employer', fact: 'Globex', metadata: { source: 'crm' } });
      clock.set(3_000);
      // Not single-valued: both stay current.
      await memory.index({ entity: 'alice', topic: 'hobby', fact: 'chess' });
      await memory.index({ entity: 'alice', topic: 'hobby', fact: 'go' });
      const now = await memory.query({ entity: 'alice', topic: 'employer' });
      expect(now.assertions.map((x) => [x.fact, x.version, x.source])).toEqual([['Globex', 2, 'crm']]);
      expect(now.conflicts).toEqual([]);
      expect((await memory.query({ entity: 'alice', topic: 'hobby' })).assertions).toHaveLength(2);
      const then = await memory.query({ entity: 'alice', topic: 'employer', as_of_ms: 1_500 });
      expect(then.assertions).toEqual([
        expect.objectContaining({
          assertion_id: a.assertion_id,
          fact: 'Acme',
          valid_from_ms: 1_000,
          valid_to_ms: 2_000,
          superseded_by: b.assertion_id,
        }),
      ]);
      expect((await memory.query({ entity: 'alice', as_of_ms: 999 })).assertions).toEqual([]);
      expect((await memory.query({ entity: 'alice', as_of_ms: 2_000 })).assertions.map((x) => x.fact)).toEqual([
        'Globex',
      ]);
      // Per call: single_valued on a topic that is not configured.
      await memory.index({ entity: 'bob', topic: 'city', fact: 'Paris' });
      await memory.index({ entity: 'bob', topic: 'city', fact: 'Rome', single_valued: true });
      expect((await memory.query({ entity: 'bob' })).assertions.map((x) => x.fact)).toEqual(['Rome']);
      // Superseded facts leave the store counts and the search.
      expect((await memory.search({ text: 'paris' })).assertions).toEqual([]);
    });

    it('raises a conflict naming both sources when different sources disagree on a single-valued topic', async () => {
      const { memory } = await make({ singleValuedTopics: ['employer'] });
      await memory.index({ entity: 'alice', topic: 'employer', fact: 'Acme', metadata: { source: 'crm' } });
      const r = await memory.index({
        entity: 'alice',
        topic: 'employer',
        fact: 'Globex',
        metadata: { source: 'linkedin' },
      });
      expect(r.conflict_active).toBe(true);
      const q = await memory.query({ entity: 'alice' });
      expect(q.assertions.map((x) => x.fact)).toEqual(['Acme', 'Globex']);
      expect(q.conflicts).toHaveLength(1);
      expect(q.conflicts[0]?.reason).toContain('"crm"');
      expect(q.conflicts[0]?.reason).toContain('"linkedin"');
      expect(await memory.lookup({ entity: ' ALICE', topic: 'employer' })).toBe(true);
      expect(await memory.lookup({ entity: 'alice', topic: 'hobby' })).toBe(false);
      expect(await memory.any()).toBe(true);
      expect(await memory.hasConflict({ entity: 'alice' })).toBe(true);
      expect((await memory.conflictRead({ entity: 'alice', topic: 'employer' })).conflict?.store).toBe(
        'knowledge_graph',
      );
      // Agreement (same fact) closes both; clearing the signal resolves the guard.
      await memory.index({ entity: 'alice', topic: 'employer', fact: 'Globex', metadata: { source: 'crm' } });
      expect((await memory.query({ entity: 'alice' })).assertions.map((x) => [x.fact, x.source])).toEqual([
        ['Globex', 'crm'],
      ]);
      expect(await memory.clearConflict({ entity: 'alice', topic: 'employer' })).toBe(true);
      expect(await memory.any()).toBe(false);
      expect((await memory.conflictRead({ entity: 'alice', topic: 'employer' })).conflict).toBeNull();
    });

    it('compare-and-set: 50 concurrent writers with expected_version 0 → one lands, 49 VersionConflict; without it all 50 land', async () => {
      const { memory } = await make();
      const settled = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          memory.index({ entity: 'slot', topic: 'cas', fact: `w${i}`, expected_version: 0 }),
        ),
      );
      const landed = settled.filter((s) => s.status === 'fulfilled');
      const refused = settled.filter((s) => s.status === 'rejected');
      expect(landed).toHaveLength(1);
      for (const r of refused) expect(isMobKitError((r as PromiseRejectedResult).reason, 'VersionConflict')).toBe(true);
      const q = await memory.query({ entity: 'slot' });
      expect(q.assertions).toHaveLength(1);
      expect(q.assertions[0]?.assertion_id).toBe(
        (landed[0] as PromiseFulfilledResult<{ assertion_id: string }>).value.assertion_id,
      );
      expect(await memory.slotVersion({ entity: 'slot', topic: 'cas' })).toBe(1);
      const ok = await memory.index({ entity: 'slot', topic: 'cas', fact: 'next', expected_version: 1 });
      expect(ok.assertion_id).toBeDefined();
      const stale = await expectMobKitError(
        memory.index({ entity: 'slot', topic: 'cas', fact: 'late', expected_version: 1 }),
        'VersionConflict',
      );
      expect(stale.details).toMatchObject({ field: 'expected_version', expected: 1, actual: 2 });

      // Read-modify-write with retries: 50 writers on one slot, every one lands exactly once.
      const retried = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          for (;;) {
            const version = await memory.slotVersion({ entity: 'rmw', topic: 'count' });
            try {
              return await memory.index({ entity: 'rmw', topic: 'count', fact: `r${i}`, expected_version: version });
            } catch (error) {
              if (!isMobKitError(error, 'VersionConflict')) throw error;
            }
          }
        }),
      );
      const rmw = (await memory.query({ entity: 'rmw' })).assertions;
      expect(rmw.map((a) => a.fact).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `r${i}`).sort());
      expect(rmw.map((a) => a.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(retried.map((r) => r.assertion_id)).size).toBe(50);

      const free = await Promise.all(
        Array.from({ length: 50 }, (_, i) => memory.index({ entity: 'many', topic: 't', fact: `w${i}` })),
      );
      const ids = free.map((r) => r.assertion_id);
      expect(new Set(ids).size).toBe(50);
      const stored = (await memory.query({ entity: 'many' })).assertions;
      expect(stored.map((a) => a.assertion_id).sort()).toEqual([...ids].sort());
      expect(new Set(stored.map((a) => a.version)).size).toBe(50);
    });

    it('searches current facts by keywords, best first, narrowed by entity and store', async () => {
      const { memory } = await make();
      await memory.index({ entity: 'alice', topic: 'bio', fact: 'green tea, green tea' });
      await memory.index({
        entity: 'bob',
        topic: 'bio',
        fact: 'Bob likes green tea with milk and honey every single morning',
      });
      await memory.index({ entity: 'bob', topic: 'note', store: 'timeline', fact: 'Bob drank tea on Monday' });
      await memory.index({ entity: 'carol', topic: 'bio', fact: 'Carol likes coffee' });
      const all = await memory.search({ text: 'green tea' });
      expect(all.assertions.map((a) => a.entity)).toEqual(['alice', 'bob']);
      expect((await memory.search({ text: 'tea', entity: 'BOB' })).assertions.map((a) => a.topic).sort()).toEqual([
        'bio',
        'note',
      ]);
      expect((await memory.search({ text: 'tea', store: 'timeline' })).assertions.map((a) => a.fact)).toEqual([
        'Bob drank tea on Monday',
      ]);
      expect((await memory.search({ text: 'tea', limit: 1 })).assertions).toHaveLength(1);
      expect((await memory.search({ text: 'tea whisky' })).assertions).toEqual([]);
      expect(memoryCapabilities.semantic_search).toBe(false);
    });
  },
);

describe('store failures', () => {
  it('a failing write is MemoryBackendUnavailable (-32010) and leaves nothing behind, the id included', async () => {
    const real = await openBackend('sqlite');
    const store = real as MobKitStore;
    let failOn: string | undefined;
    const flaky: MobKitStore = {
      ...store,
      info: store.info,
      events: store.events,
      records: store.records,
      claims: store.claims,
      leases: store.leases,
      close: () => store.close(),
      transaction: (fn) =>
        store.transaction((tx) =>
          fn({
            ...tx,
            events: tx.events,
            claims: tx.claims,
            records: {
              ...tx.records,
              get: tx.records.get.bind(tx.records),
              list: tx.records.list.bind(tx.records),
              search: tx.records.search.bind(tx.records),
              delete: tx.records.delete.bind(tx.records),
              namespaces: tx.records.namespaces.bind(tx.records),
              put: (ns, key, value, options) => {
                if (ns === failOn) return Promise.reject(new Error('disk full'));
                return tx.records.put(ns, key, value, options);
              },
            },
          }),
        ),
    };
    const memory = createMemory({ store: flaky, clock: new ManualClock(5), singleValuedTopics: ['employer'] });
    await memory.index({ entity: 'alice', topic: 'employer', fact: 'Acme' });
    const before = await memory.query({});
    failOn = 'memory.current'; // after the counter, the slot and the history move were written
    const error = await expectMobKitError(
      memory.index({ entity: 'alice', topic: 'employer', fact: 'Globex' }),
      'MemoryBackendUnavailable',
    );
    expect(error.rpcCode).toBe(-32010);
    expect(error.message).toContain('disk full');
    expect(await memory.query({})).toEqual(before);
    expect((await memory.query({ as_of_ms: 10 })).assertions).toEqual(before.assertions);
    failOn = 'memory.conflicts';
    await expectMobKitError(
      memory.index({ entity: 'x', topic: 'y', fact: 'z', conflict: true }),
      'MemoryBackendUnavailable',
    );
    failOn = undefined;
    expect(await memory.slotVersion({ entity: 'alice', topic: 'employer' })).toBe(1);
    expect((await memory.index({ entity: 'x', topic: 'y', fact: 'z' })).assertion_id).toBe('memory-assert-000001');
    await store.close();
    await expectMobKitError(memory.query({}), 'MemoryBackendUnavailable');
    await expectMobKitError(memory.index({ entity: 'x', topic: 'y', fact: 'z' }), 'MemoryBackendUnavailable');
  });

  it('the volatile backend rolls back a failed write too', async () => {
    const memory = new MemoryStore({ clock: new ManualClock(0) });
    await memory.index({ entity: 'e', topic: 't', fact: 'one' });
    await expectMobKitError(
      memory.index({ entity: 'e', topic: 't', fact: 'two', metadata: { big: 1n as never } }),
      'InvalidInput',
    );
    expect((await memory.index({ entity: 'e', topic: 't', fact: 'two' })).assertion_id).toBe('memory-assert-000001');
  });
});
