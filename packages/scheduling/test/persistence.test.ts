import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMobKitError } from '@mobkit/core';
import { Dispatcher, JsonlClaimStore, Scheduler, type SchedulerFire } from '../src/index.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mobkit-scheduling-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** Generous waits: the machine running these tests may be heavily loaded. */
const WAIT = { timeout: 10_000, interval: 10 };
const minutely = (scheduleId: string, catchUp = false) => ({ scheduleId, interval: '*/1m', timezone: 'UTC', catchUp });

describe('JSONL claim persistence', () => {
  it('a restarted dispatcher does not dispatch a claimed tick again', async () => {
    const path = join(dir, 'state', 'claims.jsonl');
    const first = new Dispatcher({ claimsPath: path });
    expect((await first.dispatchTick([minutely('a')], 60_000)).dispatched).toHaveLength(1);
    await first.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        claim_key: 'a:60000',
        schedule_id: 'a',
        due_tick_ms: 60_000,
        tick_ms: 60_000,
        claimed_at_ms: expect.any(Number),
      },
    ]);

    const second = new Dispatcher({ claimsPath: path });
    const replay = await second.dispatchTick([minutely('a')], 60_000);
    expect(replay).toMatchObject({ dispatched: [], skippedClaims: ['a:60000'] });
    // The last due tick is restored too: a late poll of the same minute is not a new dispatch.
    expect((await second.dispatchTick([minutely('a')], 61_000)).dueCount).toBe(0);
    expect(second.lastDueTick('a')).toBe(60_000);
    expect((await second.dispatchTick([minutely('a')], 120_000)).dispatched.map((d) => d.claimKey)).toEqual([
      'a:120000',
    ]);
    await second.close();
  });

  it('drops a torn last line (crash mid-write) and repairs the file; an unreadable earlier line is ClaimLogCorrupt', async () => {
    const path = join(dir, 'claims.jsonl');
    const d = new Dispatcher({ claimsPath: path });
    await d.dispatchTick([minutely('a')], 60_000);
    await d.close();
    appendFileSync(path, '{"claim_key":"a:120000","sche');
    const store = new JsonlClaimStore(path);
    expect((await store.load()).map((c) => c.claimKey)).toEqual(['a:60000']);
    await store.close();
    expect(readFileSync(path, 'utf8').endsWith('}\n')).toBe(true);

    writeFileSync(path, `garbage\n${readFileSync(path, 'utf8')}`);
    const broken = new Dispatcher({ claimsPath: path });
    await expect(broken.dispatchTick([minutely('a')], 120_000)).rejects.toSatisfy(
      (e) => isMobKitError(e, 'ClaimLogCorrupt') && (e as Error).message.includes('line 1'),
    );
  });

  it('compacts the file as claims are pruned', async () => {
    const path = join(dir, 'claims.jsonl');
    const d = new Dispatcher({ claimsPath: path, claimRetentionMs: 5 * 60_000 });
    for (let minute = 1; minute <= 600; minute++) await d.dispatchTick([minutely('a'), minutely('b')], minute * 60_000);
    await d.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(300);
    const reloaded = await new JsonlClaimStore(path).load();
    expect(reloaded.map((c) => c.claimKey)).toContain('a:36000000');
    expect(reloaded.some((c) => c.dueTickMs < 36_000_000 - 5 * 60_000)).toBe(true); // not compacted on every call
  });

  it('a restarted live scheduler does not fire a tick the previous process claimed', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-03-01T00:00:59.500Z') });
    const path = join(dir, 'claims.jsonl');
    const fires: SchedulerFire[] = [];
    const a = new Scheduler({
      schedules: [minutely('eager', true)],
      dispatcherOptions: { claimsPath: path },
      onFire: (f) => fires.push(f),
    });
    a.start();
    await vi.advanceTimersByTimeAsync(500);
    await vi.waitFor(() => expect(fires).toHaveLength(2), WAIT); // start-up catch-up of 00:00 and the 00:01 tick
    expect(fires.flatMap((f) => f.report.dispatched.map((d) => d.claimKey))).toEqual([
      `eager:${Date.parse('2026-03-01T00:00:00Z')}`,
      `eager:${Date.parse('2026-03-01T00:01:00Z')}`,
    ]);
    await a.stop();

    // Restart half a second later: catch-up looks at 00:01 again, finds the persisted claim, fires nothing.
    vi.setSystemTime(Date.parse('2026-03-01T00:01:00.500Z'));
    const again: SchedulerFire[] = [];
    const b = new Scheduler({
      schedules: [minutely('eager', true)],
      dispatcherOptions: { claimsPath: path },
      onFire: (f) => again.push(f),
    });
    b.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.waitFor(() => expect(b.dispatch.lastDueTick('eager')).toBe(Date.parse('2026-03-01T00:01:00Z')), WAIT);
    expect(again.flatMap((f) => f.report.dispatched)).toEqual([]);
    await b.stop();

    // Control: without the claim log the same restart fires 00:01 a second time.
    const control: SchedulerFire[] = [];
    const c = new Scheduler({ schedules: [minutely('eager', true)], onFire: (f) => control.push(f) });
    c.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.waitFor(
      () =>
        expect(control.flatMap((f) => f.report.dispatched.map((d) => d.claimKey))).toEqual([
          `eager:${Date.parse('2026-03-01T00:01:00Z')}`,
        ]),
      WAIT,
    );
    await c.stop();
  });
});
