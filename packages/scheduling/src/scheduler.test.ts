import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, isMobKitError } from '@mobkit/core';
import { evaluateSchedulesAtTick } from './evaluate.js';
import { Scheduler, type SchedulerFire } from './scheduler.js';

/** Generous waits: the machine running these tests may be heavily loaded. */
const WAIT = { timeout: 10_000, interval: 10 };
const at = (iso: string): number => Date.parse(iso);

function recorder(): { fires: SchedulerFire[]; onFire: (f: SchedulerFire) => void; keys: () => string[] } {
  const fires: SchedulerFire[] = [];
  return {
    fires,
    onFire: (f) => fires.push(f),
    keys: () => fires.flatMap((f) => f.report.dispatched.map((d) => d.claimKey)),
  };
}

describe('Scheduler under fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: at('2026-03-01T00:00:30Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires on time with a single sleep on the system clock (no polling)', async () => {
    const { fires, onFire, keys } = recorder();
    const scheduler = new Scheduler({
      schedules: [{ scheduleId: 'every-minute', interval: '*/1m', timezone: 'UTC' }],
      onFire,
    });
    scheduler.start();
    expect(vi.getTimerCount()).toBe(1);
    expect(scheduler.nextDeadline()).toEqual({ scheduleId: 'every-minute', dueTickMs: at('2026-03-01T00:01:00Z') });
    await vi.advanceTimersByTimeAsync(29_999);
    expect(fires).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(keys()).toEqual([`every-minute:${at('2026-03-01T00:01:00Z')}`]);
    expect(fires[0]?.latenessMs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    expect(fires).toHaveLength(5);
    for (const f of fires) for (const late of f.latenessMs) expect(late).toBeLessThan(1000);
    expect(vi.getTimerCount()).toBe(1);
    await scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fires IANA cron schedules at the right instants across the spring-forward night', async () => {
    vi.setSystemTime(at('2026-03-28T12:00:00Z'));
    const { fires, onFire } = recorder();
    const scheduler = new Scheduler({
      schedules: [{ scheduleId: 'se-0230', interval: '30 2 * * *', timezone: 'Europe/Stockholm' }],
      onFire,
      maxSleepMs: 3_600_000,
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2 * 86_400_000);
    expect(fires.map((f) => new Date(f.wokeAtMs).toISOString())).toEqual(['2026-03-30T00:30:00.000Z']);
    await scheduler.stop();
  });

  it('survives a forward clock jump: the missed ticks fire once, coalesced, then on time again', async () => {
    const { fires, onFire, keys } = recorder();
    const scheduler = new Scheduler({
      schedules: [{ scheduleId: 'j', interval: '*/1m', timezone: 'UTC' }],
      onFire,
      maxSleepMs: 5_000,
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000); // fires 00:01
    vi.setSystemTime(at('2026-03-01T01:00:10Z')); // wall clock jumps ~59 minutes ahead
    await vi.advanceTimersByTimeAsync(5_000);
    expect(keys()).toEqual([`j:${at('2026-03-01T00:01:00Z')}`, `j:${at('2026-03-01T01:00:00Z')}`]);
    expect(fires[1]?.latenessMs[0]).toBeLessThanOrEqual(15_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(keys()[2]).toBe(`j:${at('2026-03-01T01:01:00Z')}`);
    expect(fires[2]?.latenessMs).toEqual([0]);
    await scheduler.stop();
  });

  it('survives a backward clock jump without firing any tick twice', async () => {
    const { onFire, keys } = recorder();
    const scheduler = new Scheduler({ schedules: [{ scheduleId: 'b', interval: '*/1m', timezone: 'UTC' }], onFire });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000 + 2 * 60_000); // 00:01, 00:02, 00:03
    vi.setSystemTime(at('2026-03-01T00:01:30Z')); // back 90 s
    await vi.advanceTimersByTimeAsync(4 * 60_000);
    const all = keys();
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(['00:01', '00:02', '00:03', '00:04', '00:05'].map((m) => `b:${at(`2026-03-01T${m}:00Z`)}`));
    await scheduler.stop();
  });

  it('pauses, resumes (catch-up schedules fire their latest missed tick once), upserts by id and removes', async () => {
    const { onFire, keys } = recorder();
    const scheduler = new Scheduler({
      schedules: [
        { scheduleId: 'plain', interval: '*/1m', timezone: 'UTC' },
        { scheduleId: 'eager', interval: '*/1m', timezone: 'UTC', catchUp: true, enabled: false },
      ],
      onFire,
    });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(keys()).toEqual([`plain:${at('2026-03-01T00:01:00Z')}`]);
    scheduler.pause();
    expect(scheduler.state).toBe('paused');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 10_000); // now 00:04:10
    expect(keys()).toHaveLength(1);
    scheduler.upsert({ scheduleId: ' eager ', interval: '*/1m', timezone: 'UTC', catchUp: true });
    scheduler.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(keys()).toEqual([`plain:${at('2026-03-01T00:01:00Z')}`, `eager:${at('2026-03-01T00:04:00Z')}`]);
    scheduler.upsert({ scheduleId: 'plain', interval: '*/5m', timezone: 'UTC' });
    scheduler.remove('eager');
    expect(scheduler.list().map((s) => [s.scheduleId, s.interval])).toEqual([['plain', '*/5m']]);
    await vi.advanceTimersByTimeAsync(6 * 60_000); // until 00:10:10
    expect(keys().slice(2)).toEqual([`plain:${at('2026-03-01T00:05:00Z')}`, `plain:${at('2026-03-01T00:10:00Z')}`]);
    expect(() => scheduler.remove('nope')).toThrow(expect.objectContaining({ code: 'ScheduleNotFound' }));
    await scheduler.stop();
    expect(() => scheduler.upsert({ scheduleId: 'x', interval: '*/1m', timezone: 'UTC' })).toThrow(
      expect.objectContaining({ code: 'SchedulerStopped' }),
    );
  });

  it('rejects an invalid upsert and keeps the previous definition', () => {
    const scheduler = new Scheduler({ schedules: [{ scheduleId: 'keep', interval: '*/1m', timezone: 'UTC' }] });
    try {
      scheduler.upsert({ scheduleId: 'keep', interval: '0 0 30 2 *', timezone: 'UTC' });
      expect.unreachable();
    } catch (error) {
      expect(isMobKitError(error, 'InvalidInterval')).toBe(true);
    }
    expect(scheduler.list()[0]?.interval).toBe('*/1m');
  });
});

/** Waits until the scheduler sleeps again (it re-arms after every wake-up, fired or not). */
async function rearmed(clock: ManualClock): Promise<void> {
  await vi.waitFor(() => expect(clock.pendingSleeps).toBe(1), { timeout: WAIT.timeout, interval: 1 });
}

describe('Scheduler on a ManualClock (the Clock.sleep seam)', () => {
  it('sleeps once for the next deadline, capped by maxSleepMs, and re-sleeps on upsert', async () => {
    const clock = new ManualClock(at('2026-05-04T08:59:30Z'));
    const sleep = vi.spyOn(clock, 'sleep');
    const { onFire, keys } = recorder();
    const scheduler = new Scheduler({
      schedules: [{ scheduleId: 'nine', interval: '0 9 * * 1-5', timezone: 'Europe/Stockholm' }],
      clock,
      maxSleepMs: 60_000,
      onFire,
    });
    scheduler.start();
    // 09:00 Stockholm (CEST) = 07:00 UTC; it is 08:59:30 UTC now, so the next is tomorrow 07:00 UTC: the sleep is capped.
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([60_000]);
    expect(clock.pendingSleeps).toBe(1);
    scheduler.upsert({ scheduleId: 'nine', interval: '0 11 * * 1-5', timezone: 'Europe/Stockholm' }); // 09:00 UTC
    expect(sleep.mock.calls.map(([ms]) => ms)).toEqual([60_000, 30_000]);
    expect(clock.pendingSleeps).toBe(1); // the first sleep was aborted, not left behind
    clock.advance(29_999);
    await rearmed(clock);
    expect(keys()).toEqual([]);
    clock.advance(1);
    await vi.waitFor(() => expect(keys()).toEqual([`nine:${at('2026-05-04T09:00:00Z')}`]), WAIT);
    await rearmed(clock);
    await scheduler.stop();
    expect(clock.pendingSleeps).toBe(0);
  });

  it('fires like evaluate across the fall-back fold: */15 * * * * on both passes, 30 2 * * * once', async () => {
    // Europe/Stockholm 2026-10-25: local 02:00–02:59 runs at 00:00–00:59 UTC (CEST) and again at 01:00–01:59 UTC (CET).
    const clock = new ManualClock(at('2026-10-24T23:50:00Z'));
    const { fires, onFire } = recorder();
    const scheduler = new Scheduler({
      schedules: [
        { scheduleId: 'quarter', interval: '*/15 * * * *', timezone: 'Europe/Stockholm' },
        { scheduleId: 'marker', interval: '*/15m', timezone: 'Europe/Stockholm' },
        { scheduleId: 'half-past-two', interval: '30 2 * * *', timezone: 'Europe/Stockholm' },
      ],
      clock,
      onFire,
    });
    scheduler.start();
    await rearmed(clock);
    for (let minute = 0; minute < 150; minute++) {
      clock.advance(60_000);
      await rearmed(clock);
    }
    const fired = (id: string) =>
      fires.flatMap((f) => f.report.dispatched.filter((d) => d.scheduleId === id).map((d) => d.dueTickMs));
    const quarters: number[] = [];
    for (let t = at('2026-10-25T00:00:00Z'); t <= at('2026-10-25T02:15:00Z'); t += 15 * 60_000) quarters.push(t);
    expect(quarters).toContain(at('2026-10-25T01:45:00Z'));
    expect(fired('quarter')).toEqual(quarters);
    expect(fired('marker')).toEqual(quarters);
    expect(fired('half-past-two')).toEqual([at('2026-10-25T00:30:00Z')]);
    for (const f of fires) expect(f.latenessMs.every((late) => late === 0)).toBe(true);
    // The live scheduler and the pure evaluation agree on every minute of the night.
    const schedules = scheduler.list();
    for (let t = at('2026-10-24T23:51:00Z'); t <= clock.nowMs(); t += 60_000) {
      const due = evaluateSchedulesAtTick(schedules, t).dueTriggers.map((d) => d.scheduleId);
      const live = fires.filter((f) => f.wokeAtMs === t).flatMap((f) => f.report.dispatched.map((d) => d.scheduleId));
      expect(live, new Date(t).toISOString()).toEqual(due);
    }
    await scheduler.stop();
  });
});
