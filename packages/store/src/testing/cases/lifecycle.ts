import type { MobKitStore } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { event, events, expectStoreError, type SuiteContext, seqs, span } from '../context.js';

/** What a store is (info), what close does, and that reopening keeps everything. */
export function lifecycleCases(ctx: SuiteContext): void {
  describe('lifecycle', () => {
    it('describes itself: kind, location and schema version', async () => {
      const store = await ctx.open();
      expect(typeof store.info.kind).toBe('string');
      expect(store.info.kind.length).toBeGreaterThan(0);
      expect(typeof store.info.location).toBe('string');
      expect(Number.isInteger(store.info.schemaVersion) && store.info.schemaVersion >= 0).toBe(true);
    });

    it('rejects every call with StoreClosed after close, and close is idempotent', async () => {
      const store = await ctx.open();
      await store.records.put('ns', 'k', 1);
      await store.close();
      await store.close();
      const calls: Array<[string, (s: MobKitStore) => Promise<unknown>]> = [
        ['events.append', (s) => s.events.append([event('late')])],
        ['events.query', (s) => s.events.query()],
        ['events.bounds', (s) => s.events.bounds()],
        ['records.get', (s) => s.records.get('ns', 'k')],
        ['records.put', (s) => s.records.put('ns', 'k', 2)],
        ['records.list', (s) => s.records.list('ns')],
        ['claims.claim', (s) => s.claims.claim('ns', 'k', 'me')],
        ['leases.acquire', (s) => s.leases.acquire('l', 'me', 1000)],
        ['transaction', (s) => s.transaction(async () => 1)],
      ];
      for (const [name, call] of calls) {
        const error = await expectStoreError(call(store));
        expect(error.code, `${name}: ${error.message}`).toBe('StoreClosed');
      }
    });
  });

  const reopenName = 'reopen keeps events, bounds, records, versions and claims';
  if (!ctx.target.reopen) {
    it.skip(`${reopenName} — skipped: ${ctx.target.skipReasons?.reopen ?? 'the target has no reopen()'}`, () => {});
    return;
  }
  describe('reopen', () => {
    it(reopenName, async () => {
      const store = await ctx.open();
      const appended = [
        ...(await store.events.append(events('keep', 6))),
        ...(await store.events.append([event('x')])),
      ];
      await store.events.prune({ maxRows: 5 });
      await store.records.put('ns', 'k', { deep: [1, { two: 2 }] }, { index: 'i', range: 7, text: 'durable words' });
      await store.records.put('ns', 'k', { deep: [1, { two: 3 }] }, { index: 'i', range: 7, text: 'durable words' });
      await store.claims.claim('claims', 'held', 'me');
      const before = await store.records.get('ns', 'k');
      const again = await ctx.reopen(store);
      expect(await again.events.bounds()).toEqual({ firstSeq: 3, lastSeq: 7, count: 5 });
      expect(await again.events.query()).toEqual(appended.slice(2));
      expect(await again.records.get('ns', 'k')).toEqual(before);
      expect((await again.records.search('ns', 'durable')).map((r) => r.key)).toEqual(['k']);
      expect(await again.claims.claim('claims', 'held', 'other')).toMatchObject({
        claimed: false,
        holder: { owner: 'me' },
      });
      expect(seqs(await again.events.append([event('next')]))).toEqual([8]);
      await again.events.prune({ maxRows: 0 });
      const third = await ctx.reopen(again);
      expect(await third.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 8, count: 0 });
      expect(seqs(await third.events.append(events('after-empty', 2)))).toEqual(span(9, 10));
    });
  });
}
