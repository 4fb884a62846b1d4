import { describe, expect, it } from 'vitest';
import { Cron } from 'croner';
import type { MobKitErrorCode } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { compileSchedules, compileSchedule } from './definition.js';
import { evaluateSchedulesAtTick, isDueAt, latestDueTick, nextDueTick } from './evaluate.js';
import { cronMatchesLocal, parseInterval, type CronInterval } from './interval.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function expectCode(fn: () => unknown, code: MobKitErrorCode, mentions?: string): void {
  const error = expectMobKitError(fn, code);
  if (mentions !== undefined) expect(error.message).toContain(mentions);
}

describe('interval markers', () => {
  it('accepts */N with s, m, h, d in any case', () => {
    expect(parseInterval('*/5s')).toMatchObject({ kind: 'marker', periodMs: 5_000 });
    expect(parseInterval('*/5M')).toMatchObject({ kind: 'marker', periodMs: 300_000 });
    expect(parseInterval('*/2h')).toMatchObject({ kind: 'marker', periodMs: 7_200_000 });
    expect(parseInterval(' */1D ')).toMatchObject({ kind: 'marker', periodMs: 86_400_000, text: '*/1D' });
  });

  it('rejects zero, overflowing, unitless and malformed markers naming the schedule', () => {
    for (const bad of ['*/0m', '*/99999999999999999999d', '*/5', '*/5w', '*/-5m', '*/m', '']) {
      expectCode(
        () => compileSchedule({ scheduleId: 'bad-one', interval: bad, timezone: 'UTC' }),
        'InvalidInterval',
        "schedule 'bad-one'",
      );
    }
  });
});

describe('cron expressions', () => {
  it('accepts lists, ranges, steps, names and day-of-week 0–7', () => {
    for (const ok of [
      '* * * * *',
      '0 9 * * 1-5',
      '*/15 0-6/2 1,15 * *',
      '0 0 * * 7',
      '0 0 * * 5-7',
      '0 0 1 jan,jul mon-fri',
      '0 0 29 2 *',
    ]) {
      expect(parseInterval(ok).kind).toBe('cron');
    }
  });

  it('rejects out-of-range fields, wrong field counts and croner-only extensions', () => {
    for (const bad of [
      '60 * * * *',
      '0 24 * * *',
      '0 0 32 * *',
      '0 0 * 13 *',
      '0 0 * * 8',
      '* * * *',
      '0 0 1 * * *',
      '0 0 L * *',
      '0 0 * * 1#2',
      '0 0 ? * *',
      '@daily',
      '5-1 * * * *',
      '*/0 * * * *',
    ]) {
      expectCode(() => parseInterval(bad, 'cronny'), 'InvalidInterval', "schedule 'cronny'");
    }
  });

  it('rejects expressions that can never fire and keeps the leap day', () => {
    expectCode(() => parseInterval('0 0 30 2 *'), 'InvalidInterval', 'never fire');
    expectCode(() => parseInterval('0 0 31 4,6,9,11 *'), 'InvalidInterval', 'never fire');
    expect(parseInterval('0 0 29 2 *').kind).toBe('cron');
    expect(parseInterval('0 0 31 2,3 *').kind).toBe('cron');
    // With a restricted day of week the OR rule makes it fire on February Mondays.
    expect(parseInterval('0 0 30 2 1').kind).toBe('cron');
  });

  it('uses OR when both day fields are restricted, and treats semantic wildcards as *', () => {
    const or = compileSchedule({ scheduleId: 'or', interval: '0 0 13 * 5', timezone: 'UTC' });
    // 2026-02-13 is a Friday; 2026-03-13 too; 2026-02-20 is a Friday (dow only); 2026-04-13 is a Monday (dom only).
    for (const day of ['2026-02-13', '2026-02-20', '2026-04-13'])
      expect(isDueAt(or, at(`${day}T00:00:00Z`))).toBe(true);
    expect(isDueAt(or, at('2026-02-14T00:00:00Z'))).toBe(false);
    // `*/1` and `0-7` in day-of-week mean "every day": the day of month alone decides.
    for (const expr of ['0 0 15 * */1', '0 0 15 * 0-7']) {
      const s = compileSchedule({ scheduleId: 'w', interval: expr, timezone: 'UTC' });
      expect(isDueAt(s, at('2026-05-15T00:00:00Z'))).toBe(true);
      expect(isDueAt(s, at('2026-05-16T00:00:00Z'))).toBe(false);
      expect(iso(nextDueTick(s, at('2026-05-15T00:00:00Z')))).toBe('2026-06-15T00:00:00.000Z');
    }
    // A day-of-week range ending at 7 includes Sunday.
    const weekend = compileSchedule({ scheduleId: 'we', interval: '0 12 * * 6-7', timezone: 'UTC' });
    expect(isDueAt(weekend, at('2026-05-16T12:00:00Z'))).toBe(true); // Saturday
    expect(isDueAt(weekend, at('2026-05-17T12:00:00Z'))).toBe(true); // Sunday
    expect(isDueAt(weekend, at('2026-05-18T12:00:00Z'))).toBe(false); // Monday
  });

  it('matches croner minute by minute on random expressions (same OR rule, no drift)', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const field = (max: number, min = 0): string => {
      switch (rnd(4)) {
        case 0:
          return '*';
        case 1:
          return String(min + rnd(max - min + 1));
        case 2: {
          const a = min + rnd(max - min + 1);
          return `${a}-${a + rnd(max - a + 1)}`;
        }
        default:
          return `*/${1 + rnd(5)}`;
      }
    };
    for (let k = 0; k < 40; k++) {
      const expr = [field(59), field(23), field(28, 1), field(12, 1), field(6)].join(' ');
      const parsed = parseInterval(expr) as CronInterval;
      const cron = new Cron(parsed.normalized, { utcOffset: 0, legacyMode: true, paused: true });
      let t = at('2026-01-01T00:00:00Z');
      for (let i = 0; i < 30; i++) {
        const next = cron.nextRun(new Date(t));
        if (next === null) break;
        for (let m = t + 60_000; m < next.getTime(); m += 60_000) {
          if (next.getTime() - t > 2 * 86_400_000) break;
          expect(cronMatchesLocal(parsed, m), `${expr} at ${iso(m)}`).toBe(false);
        }
        expect(cronMatchesLocal(parsed, next.getTime()), `${expr} at ${iso(next.getTime())}`).toBe(true);
        t = next.getTime();
      }
    }
  });

  it('finds the leap day across years, including the 2100 gap, under coarse polling', () => {
    const leap = compileSchedule({ scheduleId: 'leap', interval: '0 0 29 2 *', timezone: 'UTC' });
    expect(iso(latestDueTick(leap, at('2027-06-01T00:00:00Z')))).toBe('2024-02-29T00:00:00.000Z');
    expect(iso(nextDueTick(leap, at('2024-03-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(nextDueTick(leap, at('2096-03-01T00:00:00Z')))).toBe('2104-02-29T00:00:00.000Z');
    expect(iso(latestDueTick(leap, at('2103-12-31T00:00:00Z')))).toBe('2096-02-29T00:00:00.000Z');
    expect(isDueAt(leap, at('2028-02-29T00:00:00Z'))).toBe(true);
    expect(isDueAt(leap, at('2100-02-28T00:00:00Z'))).toBe(false);
    // In a zone: the local leap-day midnight.
    const sthlm = compileSchedule({ scheduleId: 'leap-se', interval: '0 0 29 2 *', timezone: 'Europe/Stockholm' });
    expect(iso(latestDueTick(sthlm, at('2031-01-01T00:00:00Z')))).toBe('2028-02-28T23:00:00.000Z');
  });
});

describe('validation of schedule lists', () => {
  it('rejects blank and duplicate ids (after trimming) and bad zones, naming the schedule', () => {
    expectCode(
      () => compileSchedules([{ scheduleId: '   ', interval: '*/1m', timezone: 'UTC' }]),
      'EmptyScheduleId',
      'schedules[0]',
    );
    expectCode(
      () =>
        compileSchedules([
          { scheduleId: 'dup', interval: '*/1m', timezone: 'UTC' },
          { scheduleId: ' dup ', interval: '*/1m', timezone: 'UTC' },
        ]),
      'DuplicateScheduleId',
      "'dup'",
    );
    // Ids keep their case: "Dup" and "dup" are different schedules.
    expect(
      compileSchedules([
        { scheduleId: 'Dup', interval: '*/1m', timezone: 'UTC' },
        { scheduleId: 'dup', interval: '*/1m', timezone: 'UTC' },
      ]),
    ).toHaveLength(2);
    expectCode(
      () => compileSchedules([{ scheduleId: 'tz', interval: '*/1m', timezone: 'Mars/Olympus' }]),
      'InvalidTimezone',
      "schedule 'tz'",
    );
    expectCode(
      () => compileSchedules([{ scheduleId: 'off', interval: '0 0 30 2 *', timezone: 'UTC', enabled: false }]),
      'InvalidInterval',
    );
    expectCode(
      () => compileSchedules([{ scheduleId: 'j', interval: '*/1m', timezone: 'UTC', jitterMs: -1 }]),
      'InvalidInput',
      'jitter_ms',
    );
    expectCode(
      () => evaluateSchedulesAtTick([{ scheduleId: 'x', interval: '*/1m', timezone: '' }], 0),
      'InvalidTimezone',
    );
  });
});
