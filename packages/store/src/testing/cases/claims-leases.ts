import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';

/** Claims (once per key, owner, expiry, list) and leases (acquire, renew, release, expiry, token). */
export function claimAndLeaseCases(ctx: SuiteContext): void {
  describe('claims', () => {
    it('claims a key once: another owner is refused until the holder releases', async () => {
      const store = await ctx.open();
      const first = await store.claims.claim('jobs', 'job-1', 'alice');
      expect(first).toMatchObject({ claimed: true, holder: { key: 'job-1', owner: 'alice' } });
      expect(first.holder.expiresAtMs).toBeUndefined();
      expect(await store.claims.claim('jobs', 'job-1', 'bob')).toMatchObject({ claimed: false, holder: first.holder });
      expect((await store.claims.claim('jobs', 'job-1', 'alice')).claimed).toBe(true);
      expect(await store.claims.holder('jobs', 'job-1')).toMatchObject({ owner: 'alice' });
      expect(await store.claims.release('jobs', 'job-1', 'bob')).toBe(false);
      expect(await store.claims.holder('jobs', 'job-1')).toMatchObject({ owner: 'alice' });
      expect(await store.claims.release('jobs', 'job-1', 'alice')).toBe(true);
      expect(await store.claims.holder('jobs', 'job-1')).toBeUndefined();
      expect(await store.claims.claim('jobs', 'job-1', 'bob')).toMatchObject({
        claimed: true,
        holder: { owner: 'bob' },
      });
      expect((await store.claims.claim('other-ns', 'job-1', 'carol')).claimed).toBe(true);
    });

    it('lets another owner take a claim once its TTL has lapsed, and not before', async () => {
      const store = await ctx.open();
      const first = await store.claims.claim('jobs', 'ttl', 'alice', { ttlMs: ctx.ttlMs });
      expect(first.claimed).toBe(true);
      expect(first.holder.expiresAtMs).toBe(first.holder.claimedAtMs + ctx.ttlMs);
      await store.claims.claim('jobs', 'forever', 'alice');
      expect((await store.claims.claim('jobs', 'ttl', 'bob', { ttlMs: ctx.ttlMs })).claimed).toBe(false);
      await ctx.expire();
      expect(await store.claims.holder('jobs', 'ttl')).toBeUndefined();
      expect((await store.claims.list('jobs')).map((c) => c.key)).toEqual(['forever']);
      expect(await store.claims.release('jobs', 'ttl', 'alice')).toBe(false);
      expect(await store.claims.claim('jobs', 'ttl', 'bob')).toMatchObject({ claimed: true, holder: { owner: 'bob' } });
      expect(await store.claims.holder('jobs', 'forever')).toMatchObject({ owner: 'alice' });
    });

    it('lists the live claims of a namespace by key, with prefix and limit', async () => {
      const store = await ctx.open();
      for (const key of ['b', 'a/2', 'a/1', 'c']) await store.claims.claim('ls', key, `owner-${key}`);
      await store.claims.claim('elsewhere', 'a/0', 'x');
      const listed = await store.claims.list('ls');
      expect(listed.map((c) => [c.key, c.owner])).toEqual([
        ['a/1', 'owner-a/1'],
        ['a/2', 'owner-a/2'],
        ['b', 'owner-b'],
        ['c', 'owner-c'],
      ]);
      expect((await store.claims.list('ls', { prefix: 'a/' })).map((c) => c.key)).toEqual(['a/1', 'a/2']);
      expect((await store.claims.list('ls', { limit: 3 })).map((c) => c.key)).toEqual(['a/1', 'a/2', 'b']);
      await store.claims.release('ls', 'b', 'owner-b');
      expect((await store.claims.list('ls')).map((c) => c.key)).toEqual(['a/1', 'a/2', 'c']);
      expect(await store.claims.list('empty')).toEqual([]);
    });

    it('names the namespaces that hold live claims, sorted; released and lapsed claims drop out', async () => {
      const store = await ctx.open();
      expect(await store.claims.namespaces()).toEqual([]);
      await store.claims.claim('zeta', 'k', 'alice');
      await store.claims.claim('alpha', 'k', 'alice');
      await store.claims.claim('mid', 'short', 'bob', { ttlMs: ctx.ttlMs });
      await store.claims.claim('gone', 'k', 'carol');
      await store.records.put('records-only', 'k', { n: 1 });
      expect(await store.claims.namespaces()).toEqual(['alpha', 'gone', 'mid', 'zeta']);
      await store.claims.release('gone', 'k', 'carol');
      expect(await store.claims.namespaces()).toEqual(['alpha', 'mid', 'zeta']);
      await ctx.expire();
      expect(await store.claims.namespaces()).toEqual(['alpha', 'zeta']);
      await store.transaction(async (tx) => {
        await tx.claims.claim('beta', 'k', 'dave');
        expect(await tx.claims.namespaces()).toEqual(['alpha', 'beta', 'zeta']);
      });
      expect(await store.claims.namespaces()).toEqual(['alpha', 'beta', 'zeta']);
    });
  });

  describe('leases', () => {
    it('gives a lease to one owner at a time; renew extends it; the same owner keeps its token', async () => {
      const store = await ctx.open();
      const lease = await store.leases.acquire('leader', 'r1', ctx.ttlMs);
      expect(lease).toMatchObject({ name: 'leader', owner: 'r1' });
      expect(Number.isInteger(lease?.token)).toBe(true);
      expect(await store.leases.acquire('leader', 'r2', ctx.ttlMs)).toBeUndefined();
      expect(await store.leases.current('leader')).toEqual(lease);
      expect(await store.leases.renew('leader', 'r2', ctx.ttlMs)).toBeUndefined();
      await ctx.elapse(Math.floor(ctx.ttlMs / 4));
      const renewed = await store.leases.renew('leader', 'r1', ctx.ttlMs);
      expect(renewed?.token).toBe(lease?.token);
      expect(renewed?.expiresAtMs).toBeGreaterThan(lease?.expiresAtMs ?? Number.POSITIVE_INFINITY);
      expect((await store.leases.acquire('leader', 'r1', ctx.ttlMs))?.token).toBe(lease?.token);
      expect(await store.leases.current('other')).toBeUndefined();
    });

    it('hands a lapsed lease to another owner with a higher token; the old owner can no longer renew', async () => {
      const store = await ctx.open();
      const first = await store.leases.acquire('leader', 'r1', ctx.ttlMs);
      await ctx.expire();
      expect(await store.leases.current('leader')).toBeUndefined();
      const second = await store.leases.acquire('leader', 'r2', ctx.ttlMs);
      expect(second?.owner).toBe('r2');
      expect(second?.token).toBeGreaterThan(first?.token ?? Number.POSITIVE_INFINITY);
      expect(await store.leases.renew('leader', 'r1', ctx.ttlMs)).toBeUndefined();
      expect(await store.leases.release('leader', 'r1')).toBe(false);
      expect(await store.leases.current('leader')).toMatchObject({ owner: 'r2' });
    });

    it('releases a lease so another owner takes it at once, with a higher token', async () => {
      const store = await ctx.open();
      const first = await store.leases.acquire('leader', 'r1', ctx.ttlMs);
      expect(await store.leases.release('leader', 'r2')).toBe(false);
      expect(await store.leases.release('leader', 'r1')).toBe(true);
      expect(await store.leases.current('leader')).toBeUndefined();
      expect(await store.leases.release('leader', 'r1')).toBe(false);
      const second = await store.leases.acquire('leader', 'r2', ctx.ttlMs);
      expect(second?.token).toBeGreaterThan(first?.token ?? Number.POSITIVE_INFINITY);
    });
  });
}
