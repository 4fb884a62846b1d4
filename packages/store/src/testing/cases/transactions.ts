import { describe, expect, it } from 'vitest';
import { event, expectStoreError, type SuiteContext, seqs, span } from '../context.js';

/** Transactions: commit together, roll back on throw, see their own writes, make other writes wait. */
export function transactionCases(ctx: SuiteContext): void {
  describe('transactions', () => {
    it('commits events, records and claims together and resolves with the function’s value', async () => {
      const store = await ctx.open();
      await store.events.append([event('before')]);
      const result = await store.transaction(async (tx) => {
        const appended = await tx.events.append([event('tx-1'), event('tx-2')]);
        await tx.records.put('ledger', 'entry', { state: 'begun' });
        await tx.claims.claim('ledger', 'entry', 'me');
        return seqs(appended);
      });
      expect(result).toEqual([2, 3]);
      expect(seqs(await store.events.query())).toEqual([1, 2, 3]);
      expect(await store.records.get('ledger', 'entry')).toMatchObject({ value: { state: 'begun' }, version: 1 });
      expect(await store.claims.holder('ledger', 'entry')).toMatchObject({ owner: 'me' });
    });

    it('rolls every write back when the function throws, rethrows its error, and leaves no seq gap', async () => {
      const store = await ctx.open();
      await store.events.append([event('kept')]);
      await store.records.put('ledger', 'existing', 'v1');
      const boom = new Error('the caller failed');
      const outcome = store.transaction(async (tx) => {
        await tx.events.append([event('gone-1'), event('gone-2')]);
        await tx.records.put('ledger', 'new', 'x');
        await tx.records.put('ledger', 'existing', 'v2');
        await tx.records.delete('ledger', 'existing');
        await tx.claims.claim('ledger', 'new', 'me');
        await tx.events.prune({ maxRows: 0 });
        throw boom;
      });
      await expect(outcome).rejects.toBe(boom);
      expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 1, count: 1 });
      expect(await store.records.get('ledger', 'new')).toBeUndefined();
      expect(await store.records.get('ledger', 'existing')).toMatchObject({ value: 'v1', version: 1 });
      expect(await store.claims.holder('ledger', 'new')).toBeUndefined();
      expect(await store.events.query({ afterSeq: 0 })).toHaveLength(1);
      expect(seqs(await store.events.append([event('gone-1')]))).toEqual([2]);
    });

    it('rolls back a transaction whose compare-and-set conflicts', async () => {
      const store = await ctx.open();
      await store.records.put('ledger', 'k', 'v1');
      const outcome = store.transaction(async (tx) => {
        await tx.events.append([event('lost')]);
        await tx.records.put('ledger', 'k', 'v2', { expectedVersion: 0 });
      });
      await expectStoreError(outcome, 'VersionConflict');
      expect(await store.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 0, count: 0 });
      expect(await store.records.get('ledger', 'k')).toMatchObject({ value: 'v1', version: 1 });
    });

    it('reads its own writes inside the transaction', async () => {
      const store = await ctx.open();
      await store.transaction(async (tx) => {
        await tx.events.append([event('own')]);
        await tx.records.put('ns', 'k', 'mine', { index: 'i' });
        expect((await tx.events.query()).map((e) => e.id)).toEqual(['own']);
        expect(await tx.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 1, count: 1 });
        expect(await tx.records.get('ns', 'k')).toMatchObject({ value: 'mine', version: 1 });
        expect((await tx.records.list('ns', { index: 'i' })).map((r) => r.key)).toEqual(['k']);
        await tx.records.delete('ns', 'k');
        expect(await tx.records.get('ns', 'k')).toBeUndefined();
      });
      expect(await store.records.get('ns', 'k')).toBeUndefined();
    });

    it('makes a write through the store’s own ports wait until the transaction has committed', async () => {
      const store = await ctx.open();
      let outside: Promise<number[]> | undefined;
      await store.transaction(async (tx) => {
        await tx.events.append([event('in-1')]);
        outside = store.events.append([event('outside')]).then(seqs);
        await new Promise((resolve) => setTimeout(resolve, 50));
        await tx.events.append([event('in-2')]);
      });
      expect(await outside).toEqual([3]);
      expect((await store.events.query()).map((e) => e.id)).toEqual(['in-1', 'in-2', 'outside']);
    });

    it('runs concurrent transactions one after another', async () => {
      const store = await ctx.open();
      await store.records.put('counter', 'n', 0);
      await Promise.all(
        span(1, 5).map(() =>
          store.transaction(async (tx) => {
            const current = await tx.records.get<number>('counter', 'n');
            await new Promise((resolve) => setTimeout(resolve, 5));
            await tx.records.put('counter', 'n', (current?.value ?? 0) + 1, { expectedVersion: current?.version });
            await tx.events.append([event(`tick-${current?.value}`)]);
          }),
        ),
      );
      expect(await store.records.get('counter', 'n')).toMatchObject({ value: 5, version: 6 });
      expect(seqs(await store.events.query())).toEqual(span(1, 5));
    });
  });
}
