import type { MobKitStore, RecordListQuery, StoreJson } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { expectStoreError, type SuiteContext, span } from '../context.js';

async function keys(store: MobKitStore, namespace: string, query?: RecordListQuery): Promise<string[]> {
  return (await store.records.list(namespace, query)).map((r) => r.key);
}

/** Records: get/put/delete, versions, compare-and-set, copies, and list by prefix, index and range. */
export function recordCases(ctx: SuiteContext): void {
  describe('records', () => {
    it('puts, gets and deletes, with a version that starts at 1 and rises on every put', async () => {
      const store = await ctx.open();
      expect(await store.records.get('ns', 'k')).toBeUndefined();
      const value = { a: 1, b: [true, null, 'x'], c: { d: 2.5 } };
      const created = await store.records.put('ns', 'k', value);
      expect(created).toMatchObject({ namespace: 'ns', key: 'k', value, version: 1 });
      expect(typeof created.updatedAtMs).toBe('number');
      expect(await store.records.get('ns', 'k')).toEqual(created);
      expect((await store.records.put('ns', 'k', 'second')).version).toBe(2);
      expect(await store.records.get('ns', 'k')).toMatchObject({ value: 'second', version: 2 });
      expect(await store.records.get('other', 'k')).toBeUndefined();
      expect(await store.records.delete('ns', 'k')).toBe(true);
      expect(await store.records.get('ns', 'k')).toBeUndefined();
      expect(await store.records.delete('ns', 'k')).toBe(false);
      expect((await store.records.put('ns', 'k', null)).version).toBe(1);
    });

    it('keeps what was stored when the caller mutates the objects it passed or got back', async () => {
      const store = await ctx.open();
      const value = { list: [1, 2], inner: { s: 'kept' } };
      const stored = await store.records.put('ns', 'k', value);
      value.list.push(3);
      value.inner.s = 'changed';
      (stored.value as { list: number[] }).list.push(4);
      const read = await store.records.get<{ list: number[]; inner: { s: string } }>('ns', 'k');
      expect(read?.value).toEqual({ list: [1, 2], inner: { s: 'kept' } });
      read?.value.list.push(5);
      expect((await store.records.get('ns', 'k'))?.value).toEqual({ list: [1, 2], inner: { s: 'kept' } });
    });

    it('compare-and-set: expectedVersion 0 creates once, then conflicts; a stale version conflicts', async () => {
      const store = await ctx.open();
      expect((await store.records.put('cas', 'k', 'v1', { expectedVersion: 0 })).version).toBe(1);
      const exists = await expectStoreError(
        store.records.put('cas', 'k', 'again', { expectedVersion: 0 }),
        'VersionConflict',
      );
      expect(exists.message).toContain('cas');
      expect(exists.message).toContain('k');
      expect((await store.records.put('cas', 'k', 'v2', { expectedVersion: 1 })).version).toBe(2);
      await expectStoreError(store.records.put('cas', 'k', 'stale', { expectedVersion: 1 }), 'VersionConflict');
      await expectStoreError(store.records.put('cas', 'missing', 'x', { expectedVersion: 3 }), 'VersionConflict');
      expect(await store.records.get('cas', 'k')).toMatchObject({ value: 'v2', version: 2 });
      expect(await store.records.get('cas', 'missing')).toBeUndefined();
      await expectStoreError(store.records.delete('cas', 'k', { expectedVersion: 1 }), 'VersionConflict');
      expect(await store.records.get('cas', 'k')).toMatchObject({ version: 2 });
      expect(await store.records.delete('cas', 'k', { expectedVersion: 2 })).toBe(true);
    });

    it('lets exactly one of 10 concurrent compare-and-set writers from the same version win', async () => {
      const store = await ctx.open();
      await store.records.put('race', 'k', 'start');
      const outcomes = await Promise.allSettled(
        span(1, 10).map((w) => store.records.put('race', 'k', `writer-${w}`, { expectedVersion: 1 })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
        await expectStoreError(Promise.reject(lost.reason), 'VersionConflict');
      }
      const winner = (won[0] as PromiseFulfilledResult<{ value: StoreJson }>).value.value;
      expect(await store.records.get('race', 'k')).toMatchObject({ value: winner, version: 2 });
    });

    it('stores index, range and text, and a put without them replaces them', async () => {
      const store = await ctx.open();
      const put = await store.records.put('ix', 'k', 1, { index: 'blue', range: 42.5, text: 'hello world' });
      expect(put).toMatchObject({ index: 'blue', range: 42.5, text: 'hello world' });
      expect(await store.records.get('ix', 'k')).toEqual(put);
      expect(await keys(store, 'ix', { index: 'blue' })).toEqual(['k']);
      await store.records.put('ix', 'k', 2);
      expect(await keys(store, 'ix', { index: 'blue' })).toEqual([]);
      expect(await keys(store, 'ix', { rangeMin: 0 })).toEqual([]);
      expect(await store.records.search('ix', 'hello')).toEqual([]);
    });

    it('lists a namespace by key, by prefix and by index, with order, afterKey paging and limit', async () => {
      const store = await ctx.open();
      for (const key of ['b/2', 'a/1', 'b/1', 'c/1', 'a/2']) {
        await store.records.put('list', key, key, { index: key.startsWith('b') ? 'bee' : 'other' });
      }
      await store.records.put('elsewhere', 'a/3', 'not listed');
      expect(await keys(store, 'list')).toEqual(['a/1', 'a/2', 'b/1', 'b/2', 'c/1']);
      expect(await keys(store, 'list', { order: 'desc' })).toEqual(['c/1', 'b/2', 'b/1', 'a/2', 'a/1']);
      expect(await keys(store, 'list', { prefix: 'a/' })).toEqual(['a/1', 'a/2']);
      expect(await keys(store, 'list', { index: 'bee' })).toEqual(['b/1', 'b/2']);
      expect(await keys(store, 'list', { index: 'other', prefix: 'c' })).toEqual(['c/1']);
      expect(await keys(store, 'list', { afterKey: 'a/2', limit: 2 })).toEqual(['b/1', 'b/2']);
      expect(await keys(store, 'list', { afterKey: 'b/1', order: 'desc' })).toEqual(['a/2', 'a/1']);
      expect(await keys(store, 'list', { afterKey: 'a/15' })).toEqual(['a/2', 'b/1', 'b/2', 'c/1']);
      expect(await keys(store, 'list', { limit: 0 })).toEqual([]);
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await keys(store, 'list', { limit: 2, ...(after === undefined ? {} : { afterKey: after }) });
        if (page.length === 0) break;
        paged.push(...page);
        after = page.at(-1);
      }
      expect(paged).toEqual(['a/1', 'a/2', 'b/1', 'b/2', 'c/1']);
    });

    it('lists by range: rangeMin inclusive, rangeMax exclusive, ordered by range then key', async () => {
      const store = await ctx.open();
      const ranges: Record<string, number> = { k1: 30, k2: 10, k3: 20, k4: 20, k5: -5 };
      for (const [key, range] of Object.entries(ranges)) await store.records.put('range', key, range, { range });
      await store.records.put('range', 'none', 'no range');
      expect(await keys(store, 'range', { rangeMin: 10, rangeMax: 30, orderBy: 'range' })).toEqual(['k2', 'k3', 'k4']);
      expect(await keys(store, 'range', { rangeMin: 10, orderBy: 'range', order: 'desc' })).toEqual([
        'k1',
        'k4',
        'k3',
        'k2',
      ]);
      expect(await keys(store, 'range', { rangeMax: 20, orderBy: 'range' })).toEqual(['k5', 'k2']);
      expect(await keys(store, 'range', { rangeMin: -100, orderBy: 'range', limit: 2 })).toEqual(['k5', 'k2']);
      expect(await keys(store, 'range', { rangeMin: 20 })).toEqual(['k1', 'k3', 'k4']);
    });

    it('lists every namespace that holds a record, sorted', async () => {
      const store = await ctx.open();
      expect(await store.records.namespaces()).toEqual([]);
      await store.records.put('zeta', 'k', 1);
      await store.records.put('alpha', 'k', 1);
      await store.records.put('mid', 'k', 1);
      expect(await store.records.namespaces()).toEqual(['alpha', 'mid', 'zeta']);
      await store.records.delete('mid', 'k');
      expect(await store.records.namespaces()).toEqual(['alpha', 'zeta']);
    });
  });

  describe('records search', () => {
    const seed = async (store: MobKitStore) => {
      await store.records.put('docs', 'apples', 1, { text: 'Apple apple APPLE' });
      await store.records.put('docs', 'salad', 2, { text: 'apple banana cherry date elderberry fig grape' });
      await store.records.put('docs', 'bananas', 3, { text: 'banana bread with walnuts' });
      await store.records.put('docs', 'plain', 4);
      await store.records.put('other', 'apples', 5, { text: 'apple' });
    };

    it('finds records whose text has every word, case-insensitively, best match first', async () => {
      const store = await ctx.open();
      await seed(store);
      expect((await store.records.search('docs', 'apple')).map((r) => r.key)).toEqual(['apples', 'salad']);
      expect((await store.records.search('docs', 'BANANA')).map((r) => r.key).sort()).toEqual(['bananas', 'salad']);
      expect((await store.records.search('docs', 'banana cherry')).map((r) => r.key)).toEqual(['salad']);
      const [hit] = await store.records.search('docs', 'walnuts');
      expect(hit).toMatchObject({ namespace: 'docs', key: 'bananas', value: 3, version: 1 });
    });

    it('answers no match with an empty list, searches one namespace only, and honours limit', async () => {
      const store = await ctx.open();
      await seed(store);
      expect(await store.records.search('docs', 'kiwi')).toEqual([]);
      expect(await store.records.search('docs', 'apple kiwi')).toEqual([]);
      expect(await store.records.search('nowhere', 'apple')).toEqual([]);
      expect((await store.records.search('other', 'apple')).map((r) => r.value)).toEqual([5]);
      expect(await store.records.search('docs', 'apple', { limit: 1 })).toHaveLength(1);
    });

    it('treats punctuation and query-syntax characters as separators, not syntax', async () => {
      const store = await ctx.open();
      await seed(store);
      expect((await store.records.search('docs', '"banana" (bread*)')).map((r) => r.key)).toEqual(['bananas']);
      expect((await store.records.search('docs', 'cherry: -date')).map((r) => r.key)).toEqual(['salad']);
    });
  });
}
