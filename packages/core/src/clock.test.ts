import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from './clock.js';
import { isMobKitError } from './errors/error.js';

describe('systemClock.sleep', () => {
  it('waits at least the given time', async () => {
    const start = performance.now();
    await systemClock.sleep(30);
    expect(performance.now() - start).toBeGreaterThanOrEqual(25);
  });

  it('rejects with Aborted when its signal aborts, and at once for an aborted signal', async () => {
    const controller = new AbortController();
    const pending = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    const error = await pending.catch((e: unknown) => e);
    expect(isMobKitError(error) && error.code).toBe('Aborted');
    const again = await systemClock.sleep(10, controller.signal).catch((e: unknown) => e);
    expect(isMobKitError(again) && again.code).toBe('Aborted');
  });
});

describe('ManualClock', () => {
  it('wakes sleeps only when advanced to their due time, in due order', async () => {
    const clock = new ManualClock(1_000);
    const woke: string[] = [];
    const a = clock.sleep(200).then(() => woke.push(`a@${clock.nowMs()}`));
    const b = clock.sleep(100).then(() => woke.push(`b@${clock.nowMs()}`));
    const c = clock.sleep(100).then(() => woke.push(`c@${clock.nowMs()}`));
    expect(clock.pendingSleeps).toBe(3);
    clock.advance(99);
    await Promise.resolve();
    expect(woke).toEqual([]);
    clock.advance(1);
    await Promise.all([b, c]);
    expect(woke).toEqual(['b@1100', 'c@1100']);
    clock.set(1_500);
    await a;
    expect(woke).toEqual(['b@1100', 'c@1100', 'a@1500']);
    expect(clock.pendingSleeps).toBe(0);
  });

  it('resolves a sleep of 0 at once and removes an aborted sleep', async () => {
    const clock = new ManualClock();
    await clock.sleep(0);
    const controller = new AbortController();
    const pending = clock.sleep(50, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isMobKitError(await pending) && 'Aborted').toBe('Aborted');
    expect(clock.pendingSleeps).toBe(0);
  });

  it('refuses to move backwards by advance', () => {
    expect(() => new ManualClock().advance(-1)).toThrow(RangeError);
  });
});
