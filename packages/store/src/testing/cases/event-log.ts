import { describe, expect, it } from 'vitest';
import type { EventLogInput, StoreJson } from '@mobkit/core';
import { event, events, expectStoreError, type SuiteContext, seqs, span } from '../context.js';

/** The event log: ordering, gapless seqs, idempotency, concurrency, queries, bounds, retention, restore. */
export function eventLogCases(ctx: SuiteContext): void {
  describe('event log', () => {
    it('appends in order with seqs 1, 2, 3 and hands back the entries as stored', async () => {
      const store = await ctx.open();
      const input = [event('a'), event('b', { memberId: null }), event('c', { data: 'plain' })];
      const appended = await store.events.append(input);
      expect(appended).toEqual(input.map((e, i) => ({ ...e, seq: i + 1 })));
      expect(await store.events.query()).toEqual(appended);
    });

    it('gives a batch consecutive seqs and continues the sequence across batches, gapless', async () => {
      const store = await ctx.open();
      expect(seqs(await store.events.append(events('one', 3)))).toEqual([1, 2, 3]);
      expect(await store.events.append([])).toEqual([]);
      expect(seqs(await store.events.append(events('two', 4)))).toEqual([4, 5, 6, 7]);
      expect(seqs(await store.events.append([event('three')]))).toEqual([8]);
      expect(seqs(await store.events.query())).toEqual(span(1, 8));
    });

    it('skips ids already in the log, returning the stored entry and spending no seq', async () => {
      const store = await ctx.open();
      const [first] = await store.events.append([event('x', { data: { v: 'original' } })]);
      const again = await store.events.append([event('x', { data: { v: 'changed' } }), event('y')]);
      expect(again[0]).toEqual(first);
      expect(again[1]?.seq).toBe(2);
      expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 2, count: 2 });
    });

    it('refuses, by the same rules on every adapter, an event no engine can store exactly, and writes nothing of its batch', async () => {
      const store = await ctx.open();
      const bad: Array<[Partial<EventLogInput>, string]> = [
        [{ id: '' }, 'events[1].id'],
        [{ timestampMs: 1.5 }, 'events[1].timestampMs'],
        [{ memberId: '' }, 'events[1].memberId'],
        [{ kind: 'a\u0000b' }, 'events[1].kind'],
        [{ eventType: '\ud800' }, 'events[1].eventType'],
        [{ data: undefined as unknown as StoreJson }, 'events[1].data'],
      ];
      for (const [fields, field] of bad) {
        const error = await expectStoreError(store.events.append([event('ok'), event('bad', fields)]), 'InvalidInput');
        expect(error.message, field).toContain(field);
      }
      expect(await store.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 0, count: 0 });
    });

    it('skips an id repeated within one batch, without a gap', async () => {
      const store = await ctx.open();
      const out = await store.events.append([event('p'), event('q'), event('p', { data: 'second' }), event('r')]);
      expect(seqs(out)).toEqual([1, 2, 1, 3]);
      expect(out[2]).toEqual(out[0]);
      expect(seqs(await store.events.query())).toEqual([1, 2, 3]);
    });

    it('keeps seqs unique, gapless and each batch contiguous under 20 concurrent appenders', async () => {
      const store = await ctx.open();
      const batches = await Promise.all(span(0, 19).map((b) => store.events.append(events(`c${b}`, 5))));
      for (const [b, batch] of batches.entries()) {
        expect(batch.map((e) => e.id)).toEqual(span(0, 4).map((i) => `c${b}-${i}`));
        const first = batch[0]?.seq ?? 0;
        expect(seqs(batch)).toEqual(span(first, first + 4));
      }
      expect(batches.flatMap(seqs).sort((a, b) => a - b)).toEqual(span(1, 100));
      const stored = await store.events.query();
      expect(stored).toEqual(batches.flat().sort((a, b) => a.seq - b.seq));
    });

    it('filters queries by afterSeq, sinceMs/untilMs, memberId, kinds and eventTypes (AND; arrays OR)', async () => {
      const store = await ctx.open();
      await store.events.append([
        event('e1', { timestampMs: 1000, memberId: 'ann', kind: 'agent', eventType: 'run_started' }),
        event('e2', { timestampMs: 2000, memberId: 'bob', kind: 'agent', eventType: 'run_completed' }),
        event('e3', { timestampMs: 3000, memberId: null, kind: 'runtime', eventType: 'ready' }),
        event('e4', { timestampMs: 4000, memberId: 'ann', kind: 'module', eventType: 'dispatch' }),
        event('e5', { timestampMs: 5000, memberId: 'ann', kind: 'agent', eventType: 'run_completed' }),
      ]);
      const ids = async (q: Parameters<typeof store.events.query>[0]) => (await store.events.query(q)).map((e) => e.id);
      expect(await ids({ afterSeq: 3 })).toEqual(['e4', 'e5']);
      expect(await ids({ sinceMs: 2000 })).toEqual(['e2', 'e3', 'e4', 'e5']);
      expect(await ids({ untilMs: 3000 })).toEqual(['e1', 'e2']);
      expect(await ids({ sinceMs: 2000, untilMs: 4000 })).toEqual(['e2', 'e3']);
      expect(await ids({ memberId: 'ann' })).toEqual(['e1', 'e4', 'e5']);
      expect(await ids({ kinds: ['runtime', 'module'] })).toEqual(['e3', 'e4']);
      expect(await ids({ eventTypes: ['run_completed'] })).toEqual(['e2', 'e5']);
      expect(await ids({ memberId: 'ann', kinds: ['agent'], eventTypes: ['run_completed', 'dispatch'] })).toEqual([
        'e5',
      ]);
      expect(await ids({ memberId: 'nobody' })).toEqual([]);
      expect(await ids({ kinds: [] })).toEqual([]);
    });

    it('orders asc by default or desc, and limits after filtering', async () => {
      const store = await ctx.open();
      await store.events.append(span(1, 10).map((i) => event(`o${i}`, { memberId: i % 2 === 0 ? 'even' : 'odd' })));
      expect(seqs(await store.events.query({ order: 'desc' }))).toEqual(span(1, 10).reverse());
      expect(seqs(await store.events.query({ limit: 3 }))).toEqual([1, 2, 3]);
      expect(seqs(await store.events.query({ order: 'desc', limit: 3 }))).toEqual([10, 9, 8]);
      expect(seqs(await store.events.query({ afterSeq: 4, limit: 2 }))).toEqual([5, 6]);
      expect(seqs(await store.events.query({ afterSeq: 6, order: 'desc' }))).toEqual([10, 9, 8, 7]);
      expect(seqs(await store.events.query({ memberId: 'even', limit: 2 }))).toEqual([2, 4]);
      expect(seqs(await store.events.query({ memberId: 'odd', order: 'desc', limit: 2 }))).toEqual([9, 7]);
      expect(await store.events.query({ limit: 0 })).toEqual([]);
    });

    it('returns at most 1,000 entries when a query names no limit', async () => {
      const store = await ctx.open();
      for (let b = 0; b < 5; b++) await store.events.append(events(`big${b}`, 201));
      const page = await store.events.query();
      expect(page).toHaveLength(1000);
      expect(page[999]?.seq).toBe(1000);
      expect(seqs(await store.events.query({ afterSeq: 1000 }))).toEqual(span(1001, 1005));
    });

    it('reports bounds: 0/0/0 when empty, then first, last and count', async () => {
      const store = await ctx.open();
      expect(await store.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 0, count: 0 });
      await store.events.append(events('b', 4));
      expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 4, count: 4 });
    });

    it('prunes by rows, keeping the newest; the next append continues the sequence', async () => {
      const store = await ctx.open();
      await store.events.append(events('r', 10));
      expect(await store.events.prune({ maxRows: 3 })).toBe(7);
      expect(await store.events.bounds()).toEqual({ firstSeq: 8, lastSeq: 10, count: 3 });
      expect(seqs(await store.events.query())).toEqual([8, 9, 10]);
      expect(seqs(await store.events.append([event('r-next')]))).toEqual([11]);
      expect(await store.events.prune({ maxRows: 10 })).toBe(0);
    });

    it('prunes by age against nowMs, by timestamp', async () => {
      const store = await ctx.open();
      await store.events.append([
        event('t1', { timestampMs: 1000 }),
        event('t2', { timestampMs: 9000 }),
        event('t3', { timestampMs: 2000 }),
        event('t4', { timestampMs: 8000 }),
      ]);
      expect(await store.events.prune({ maxAgeMs: 5000, nowMs: 10_000 })).toBe(2);
      expect((await store.events.query()).map((e) => e.id)).toEqual(['t2', 't4']);
      expect(await store.events.prune({ maxAgeMs: 1500, maxRows: 5, nowMs: 10_000 })).toBe(1);
      expect(await store.events.bounds()).toEqual({ firstSeq: 2, lastSeq: 4, count: 1 });
    });

    it('redacts one member’s payloads in place: seqs, ids, kinds and counts stay; other members are untouched', async () => {
      const store = await ctx.open();
      await store.events.append([
        event('m1', { memberId: 'alice', data: { text: 'secret one' } }),
        event('m2', { memberId: 'bob', data: { text: 'keep' } }),
        event('m3', { memberId: 'alice', data: { text: 'secret two' } }),
      ]);
      const before = await store.events.bounds();
      expect(await store.events.redact('alice', 'purged')).toBe(2);
      expect(await store.events.bounds()).toEqual(before);
      const after = await store.events.query();
      expect(after.map((e) => [e.seq, e.id, e.memberId, e.kind, e.eventType])).toEqual([
        [1, 'm1', 'alice', 'agent', 'run_started'],
        [2, 'm2', 'bob', 'agent', 'run_started'],
        [3, 'm3', 'alice', 'agent', 'run_started'],
      ]);
      expect(after.map((e) => e.data)).toEqual([
        { redacted: true, reason: 'purged' },
        { text: 'keep' },
        { redacted: true, reason: 'purged' },
      ]);
      expect(JSON.stringify(after)).not.toContain('secret');
      expect(await store.events.redact('nobody', 'purged')).toBe(0);
      await expectStoreError(store.events.redact('', 'purged'), 'InvalidInput');
    });

    it('rolls a redaction inside a failed transaction back', async () => {
      const store = await ctx.open();
      await store.events.append([event('k1', { memberId: 'carol', data: { text: 'kept' } })]);
      await expect(
        store.transaction(async (tx) => {
          expect(await tx.events.redact('carol', 'purged')).toBe(1);
          expect((await tx.events.query())[0]?.data).toEqual({ redacted: true, reason: 'purged' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect((await store.events.query())[0]?.data).toEqual({ text: 'kept' });
    });

    it('never reuses a seq: after pruning everything the log is empty and the next append gets lastSeq + 1', async () => {
      const store = await ctx.open();
      await store.events.append(events('all', 5, { timestampMs: 1000 }));
      expect(await store.events.prune({ maxAgeMs: 1, nowMs: 1_000_000 })).toBe(5);
      expect(await store.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 5, count: 0 });
      expect(seqs(await store.events.append([event('after')]))).toEqual([6]);
      expect(await store.events.bounds()).toEqual({ firstSeq: 6, lastSeq: 6, count: 1 });
    });

    it('restores entries with their own seqs, gaps kept, and continues after the last', async () => {
      const store = await ctx.open();
      const restored = [5, 7, 12].map((seq) => ({ ...event(`s${seq}`), seq }));
      await store.events.restore(restored);
      expect(await store.events.query()).toEqual(restored);
      expect(await store.events.bounds()).toEqual({ firstSeq: 5, lastSeq: 12, count: 3 });
      expect(seqs(await store.events.append([event('s-next'), event('s7')]))).toEqual([13, 7]);
    });

    it('refuses a restore with a seq <= lastSeq or out of order, all or nothing', async () => {
      const store = await ctx.open();
      await store.events.append(events('base', 3));
      await expectStoreError(store.events.restore([{ ...event('low'), seq: 3 }]));
      await expectStoreError(
        store.events.restore([
          { ...event('ok1'), seq: 10 },
          { ...event('late'), seq: 2 },
        ]),
      );
      await expectStoreError(
        store.events.restore([
          { ...event('ok2'), seq: 20 },
          { ...event('back'), seq: 15 },
        ]),
      );
      expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 3, count: 3 });
      expect(seqs(await store.events.append([event('base-next')]))).toEqual([4]);
    });
  });
}
