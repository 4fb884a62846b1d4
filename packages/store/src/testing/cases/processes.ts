import type { ClaimResult, EventLogEntry } from '@mobkit/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ConformanceChild, startChild, writeRunner } from '../child-runner.js';
import { event, type SuiteContext, seqs, span } from '../context.js';

const BATCH = 10;

/** Two processes on one store: claims held across them, and a child SIGKILLed mid-write. */
export function processCases(ctx: SuiteContext): void {
  const child = ctx.target.child;
  const claimsName = 'holds a claim across two processes until the child releases it';
  const expiryName = 'lets the parent take a claim a child process held once its TTL lapsed';
  const killName = 'keeps every acknowledged batch whole after kill -9 mid-write, gapless, and appends on';
  if (!child) {
    const reason = ctx.target.skipReasons?.child ?? 'the target has no child module';
    for (const name of [claimsName, expiryName, killName]) it.skip(`${name} — skipped: ${reason}`, () => {});
    return;
  }
  const timeout = child.timeoutMs ?? 60_000;
  let runner: Promise<{ path: string; dispose(): Promise<void> }> | undefined;
  const running: ConformanceChild[] = [];
  const start = async (mode: 'claim' | 'append', args: Record<string, unknown>) => {
    runner ??= writeRunner();
    const started = startChild((await runner).path, child.module, child.env?.() ?? {}, mode, args);
    running.push(started);
    return started;
  };
  const stopAll = () => Promise.all(running.splice(0).map((c) => c.kill()));
  afterAll(async () => {
    await stopAll();
    if (runner) await (await runner).dispose();
  });

  describe('two processes', () => {
    it(
      claimsName,
      async () => {
        const store = await ctx.open();
        const holder = await start('claim', { namespace: 'xproc', key: 'job', owner: 'child' });
        try {
          const { result } = (await holder.next('claimed')) as unknown as { result: ClaimResult };
          expect(result).toMatchObject({ claimed: true, holder: { owner: 'child' } });
          expect(await store.claims.claim('xproc', 'job', 'parent')).toMatchObject({
            claimed: false,
            holder: { owner: 'child' },
          });
          expect(await store.claims.holder('xproc', 'job')).toMatchObject({ owner: 'child' });
          holder.send('release');
          expect(await holder.next('released')).toMatchObject({ released: true });
          expect(await store.claims.claim('xproc', 'job', 'parent')).toMatchObject({
            claimed: true,
            holder: { owner: 'parent' },
          });
          holder.send('exit');
          expect(await holder.exited).toBe(0);
        } finally {
          await stopAll();
        }
      },
      timeout,
    );

    const expiryCase = async () => {
      const store = await ctx.open();
      const ttlMs = Math.max(ctx.ttlMs, 1500);
      const holder = await start('claim', { namespace: 'xproc', key: 'lapsing', owner: 'child', ttlMs });
      try {
        const { result } = (await holder.next('claimed')) as unknown as { result: ClaimResult };
        expect(result.claimed).toBe(true);
        expect((await store.claims.claim('xproc', 'lapsing', 'parent', { ttlMs })).claimed).toBe(false);
        const expiresAtMs = result.holder.expiresAtMs ?? Number.POSITIVE_INFINITY;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAtMs - Date.now()) + 50));
        expect(await store.claims.claim('xproc', 'lapsing', 'parent')).toMatchObject({
          claimed: true,
          holder: { owner: 'parent' },
        });
      } finally {
        await stopAll();
      }
    };
    if (ctx.target.clock)
      it.skip(`${expiryName} — skipped: the target's stores use a moved clock, a child cannot`, expiryCase);
    else it(expiryName, expiryCase, timeout);

    const killCase = async () => {
      const first = await ctx.open();
      await first.close();
      const writer = await start('append', { batchSize: BATCH, prefix: 'kill', padBytes: 512 });
      await writer.waitForCount('ack', 25);
      await writer.kill();
      const acked = writer.messages.filter((m) => m.type === 'ack') as unknown as { batch: number; seqs: number[] }[];
      const store = await ctx.reopen(first);
      const all: EventLogEntry[] = [];
      for (let page = await store.events.query(); page.length > 0; ) {
        all.push(...page);
        page = await store.events.query({ afterSeq: page.at(-1)?.seq ?? 0 });
      }
      const bounds = await store.events.bounds();
      expect(seqs(all)).toEqual(span(1, all.length));
      expect(bounds).toEqual({ firstSeq: all.length > 0 ? 1 : 0, lastSeq: all.length, count: all.length });
      const byId = new Map(all.map((e) => [e.id, e]));
      for (const ack of acked) {
        expect(ack.seqs).toHaveLength(BATCH);
        ack.seqs.forEach((seq, i) => {
          const stored = byId.get(`kill-${ack.batch}-${i}`);
          expect(stored?.seq, `acknowledged kill-${ack.batch}-${i}`).toBe(seq);
          expect(stored?.data).toEqual({ batch: ack.batch, i, pad: 'x'.repeat(512) });
        });
      }
      const perBatch = new Map<string, number>();
      for (const entry of all) {
        const batch = entry.id.split('-')[1] ?? '';
        perBatch.set(batch, (perBatch.get(batch) ?? 0) + 1);
      }
      for (const [batch, count] of perBatch) expect(count, `entries of batch ${batch}`).toBe(BATCH);
      expect(all.length).toBeGreaterThanOrEqual(acked.length * BATCH);
      expect(seqs(await store.events.append([event('after-kill')]))).toEqual([all.length + 1]);
    };
    if (ctx.target.reopen) it(killName, killCase, timeout);
    else it.skip(`${killName} — skipped: ${ctx.target.skipReasons?.reopen ?? 'the target has no reopen()'}`, killCase);
  });
}
