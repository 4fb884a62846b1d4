import { describe, expect, it } from 'vitest';
import { isMobKitError } from '@mobkit/core';
import { compileSchedule } from './definition.js';
import { evaluateSchedulesAtTick, isDueAt, latestDueTick, nextDueTick } from './evaluate.js';
import { parseTimeZone } from './timezone.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Every due instant of `s` in [from, to), walking nextDueTick. */
function dues(s: ReturnType<typeof compileSchedule>, from: string, to: string): string[] {
  const out: string[] = [];
  let t = nextDueTick(s, at(from) - 1);
  while (t !== null && t < at(to)) {
    out.push(iso(t) as string);
    t = nextDueTick(s, t);
  }
  return out;
}

describe('time zones', () => {
  it('parses UTC, Z, fixed offsets and IANA names', () => {
    expect(parseTimeZone('UTC').fixedOffsetMs).toBe(0);
    expect(parseTimeZone('utc').fixedOffsetMs).toBe(0);
    expect(parseTimeZone('Z').fixedOffsetMs).toBe(0);
    expect(parseTimeZone('UTC+01:00').fixedOffsetMs).toBe(3_600_000);
    expect(parseTimeZone('GMT-0530').fixedOffsetMs).toBe(-(5 * 60 + 30) * 60_000);
    expect(parseTimeZone('+02:00').fixedOffsetMs).toBe(7_200_000);
    expect(parseTimeZone('-0800').fixedOffsetMs).toBe(-28_800_000);
    expect(parseTimeZone('UTC+1').fixedOffsetMs).toBe(3_600_000);
    expect(parseTimeZone('gmt+0100').fixedOffsetMs).toBe(3_600_000);
    expect(parseTimeZone('Europe/Stockholm').kind).toBe('iana');
    expect(parseTimeZone('America/New_York').offsetAt(at('2026-07-01T00:00:00Z'))).toBe(-4 * 3_600_000);
  });

  it('rejects blank, out-of-range and unknown zones', () => {
    for (const bad of ['', '   ', 'UTC+24:00', '+01:60', 'GMT+1:5', '+130', 'UTC+1:30', 'Nowhere/City', 'UTC+']) {
      try {
        parseTimeZone(bad, 'zoned');
        expect.unreachable(bad);
      } catch (error) {
        expect(isMobKitError(error, 'InvalidTimezone')).toBe(true);
        expect((error as Error).message).toContain("schedule 'zoned'");
      }
    }
  });
});

describe('fixed offsets', () => {
  it('places cron and markers on the offset clock', () => {
    const kolkataNine = compileSchedule({ scheduleId: 'in', interval: '0 9 * * *', timezone: 'UTC+05:30' });
    expect(iso(nextDueTick(kolkataNine, at('2026-01-01T00:00:00Z')))).toBe('2026-01-01T03:30:00.000Z');
    expect(iso(latestDueTick(kolkataNine, at('2026-01-01T03:29:59Z')))).toBe('2025-12-31T03:30:00.000Z');
    const daily = compileSchedule({ scheduleId: 'd', interval: '*/1d', timezone: 'GMT-0530' });
    expect(iso(nextDueTick(daily, at('2026-01-01T00:00:00Z')))).toBe('2026-01-01T05:30:00.000Z');
  });
});

describe('daylight saving: Europe/Stockholm', () => {
  // Spring forward 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC); fall back 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC).
  const daily0230 = compileSchedule({ scheduleId: 'se-0230', interval: '30 2 * * *', timezone: 'Europe/Stockholm' });

  it('skips 02:30 on the spring-forward day (croner alone would fire at 03:30 CEST)', () => {
    expect(dues(daily0230, '2026-03-27T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-27T01:30:00.000Z',
      '2026-03-28T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(isDueAt(daily0230, at('2026-03-29T01:30:00Z'))).toBe(false); // 03:30 CEST
    expect(iso(latestDueTick(daily0230, at('2026-03-29T12:00:00Z')))).toBe('2026-03-28T01:30:00.000Z');
  });

  it('fires 02:30 once on the fall-back day, at its first occurrence (CEST)', () => {
    expect(dues(daily0230, '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(isDueAt(daily0230, at('2026-10-25T00:30:00Z'))).toBe(true);
    expect(isDueAt(daily0230, at('2026-10-25T01:30:00Z'))).toBe(false); // the second 02:30 (CET)
    expect(iso(latestDueTick(daily0230, at('2026-10-25T01:45:00Z')))).toBe('2026-10-25T00:30:00.000Z');
  });

  it('keeps 09:00 on weekdays at local nine across the change', () => {
    const nine = compileSchedule({ scheduleId: 'se-nine', interval: '0 9 * * 1-5', timezone: 'Europe/Stockholm' });
    expect(dues(nine, '2026-03-26T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual([
      '2026-03-26T08:00:00.000Z',
      '2026-03-27T08:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
    ]);
  });

  it('hourly markers skip the missing hour and fire the repeated hour on both passes (they are intervals)', () => {
    const hourly = compileSchedule({ scheduleId: 'se-hourly', interval: '*/1h', timezone: 'Europe/Stockholm' });
    expect(dues(hourly, '2026-03-28T23:30:00Z', '2026-03-29T03:00:00Z')).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 does not exist)
      '2026-03-29T02:00:00.000Z',
    ]);
    expect(dues(hourly, '2026-10-24T23:30:00Z', '2026-10-25T03:00:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET, the second pass: an hour has passed, so the interval fires
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
  });
});

describe('daylight saving: America/New_York', () => {
  // Spring forward 2026-03-08 02:00 EST → 03:00 EDT (07:00 UTC); fall back 2026-11-01 02:00 EDT → 01:00 EST (06:00 UTC).
  it('skips 02:30 on the spring-forward day', () => {
    const s = compileSchedule({ scheduleId: 'ny-0230', interval: '30 2 * * *', timezone: 'America/New_York' });
    expect(dues(s, '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).toEqual([
      '2026-03-07T07:30:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
  });

  it('fires 01:30 once on the fall-back day (EDT), not again at 01:30 EST', () => {
    const s = compileSchedule({ scheduleId: 'ny-0130', interval: '30 1 * * *', timezone: 'America/New_York' });
    expect(dues(s, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    const evaluated = (iso: string) =>
      evaluateSchedulesAtTick([{ scheduleId: 'ny', interval: '30 1 * * *', timezone: 'America/New_York' }], at(iso))
        .dueTriggers.length;
    expect(evaluated('2026-11-01T05:30:00Z')).toBe(1);
    expect(evaluated('2026-11-01T06:30:00Z')).toBe(0);
  });

  it('minute markers run through the gap without firing inside it and fire on both passes of the fold', () => {
    const s = compileSchedule({ scheduleId: 'ny-30m', interval: '*/30m', timezone: 'America/New_York' });
    expect(dues(s, '2026-03-08T06:00:00Z', '2026-03-08T08:00:00Z')).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-08T07:30:00.000Z',
    ]);
    expect(dues(s, '2026-11-01T05:00:00Z', '2026-11-01T08:00:00Z')).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST (second pass)
      '2026-11-01T06:30:00.000Z', // 01:30 EST (second pass)
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z',
    ]);
    expect(iso(latestDueTick(s, at('2026-11-01T06:45:00Z')))).toBe('2026-11-01T06:30:00.000Z');
    expect(iso(latestDueTick(s, at('2026-11-01T06:29:59Z')))).toBe('2026-11-01T06:00:00.000Z');
    expect(isDueAt(s, at('2026-11-01T06:30:00Z'))).toBe(true);
  });
});

describe('the fall-back fold (Europe/Stockholm, 2026-10-25: local 02:00–02:59 runs twice)', () => {
  // First pass 00:00–00:59 UTC (CEST, +2), second pass 01:00–01:59 UTC (CET, +1).
  const quarterHours = (from: string, to: string): string[] => {
    const out: string[] = [];
    for (let t = at(from); t < at(to); t += 15 * 60_000) out.push(iso(t) as string);
    return out;
  };
  const se = (scheduleId: string, interval: string) =>
    compileSchedule({ scheduleId, interval, timezone: 'Europe/Stockholm' });
  /** Every due instant in [from, to) found by brute force with isDueAt (minute by minute). */
  const dueByMinute = (s: ReturnType<typeof compileSchedule>, from: string, to: string): string[] => {
    const out: string[] = [];
    for (let t = at(from); t < at(to); t += 60_000) if (isDueAt(s, t)) out.push(iso(t) as string);
    return out;
  };

  it('fires */15 * * * * on both passes: every quarter hour of real time, 01:00–01:45 UTC included', () => {
    const s = se('q', '*/15 * * * *');
    const expected = quarterHours('2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z');
    expect(expected).toContain('2026-10-25T01:00:00.000Z');
    expect(expected).toContain('2026-10-25T01:45:00.000Z');
    expect(dues(s, '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).toEqual(expected);
    expect(dueByMinute(s, '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).toEqual(expected);
    for (const second of ['01:00', '01:15', '01:30', '01:45']) {
      const tick = at(`2026-10-25T${second}:00Z`);
      expect(
        evaluateSchedulesAtTick([{ scheduleId: 'q', interval: '*/15 * * * *', timezone: 'Europe/Stockholm' }], tick)
          .dueTriggers,
      ).toEqual([{ scheduleId: 'q', interval: '*/15 * * * *', timezone: 'Europe/Stockholm', dueTickMs: tick }]);
      expect(latestDueTick(s, tick)).toBe(tick);
      expect(latestDueTick(s, tick + 14 * 60_000)).toBe(tick);
    }
    // The second pass follows the first pass's last quarter (00:45 UTC) directly.
    expect(iso(nextDueTick(s, at('2026-10-25T00:45:00Z')))).toBe('2026-10-25T01:00:00.000Z');
    expect(iso(latestDueTick(s, at('2026-10-25T00:59:59Z')))).toBe('2026-10-25T00:45:00.000Z');
  });

  it('fires an hour step (0 */1 * * *) and a */15m marker on both passes too', () => {
    const stepped = se('h', '0 */1 * * *');
    expect(dues(stepped, '2026-10-24T23:30:00Z', '2026-10-25T02:30:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    const marker = se('m', '*/15m');
    const expected = quarterHours('2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z');
    expect(dues(marker, '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).toEqual(expected);
    expect(dueByMinute(marker, '2026-10-24T23:00:00Z', '2026-10-25T03:00:00Z')).toEqual(expected);
    expect(iso(latestDueTick(marker, at('2026-10-25T01:20:00Z')))).toBe('2026-10-25T01:15:00.000Z');
  });

  it('fires expressions that name hours once, on the first pass: 30 2 * * * and 0 1-3 * * *', () => {
    const once = se('once', '30 2 * * *');
    expect(dueByMinute(once, '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z')).toEqual(['2026-10-25T00:30:00.000Z']);
    expect(isDueAt(once, at('2026-10-25T01:30:00Z'))).toBe(false);
    const range = se('range', '0 1-3 * * *');
    const expected = [
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST (first pass only)
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ];
    expect(dues(range, '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z')).toEqual(expected);
    expect(dueByMinute(range, '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z')).toEqual(expected);
    expect(iso(latestDueTick(range, at('2026-10-25T01:59:00Z')))).toBe('2026-10-25T00:00:00.000Z');
    const list = se('list', '0 2,3 * * *');
    expect(dues(list, '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('still skips the spring-forward gap, whatever the expression', () => {
    // 2026-03-29: local 02:00–02:59 does not exist (01:00 UTC is 03:00 CEST).
    expect(dues(se('q', '*/15 * * * *'), '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z')).toEqual([
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T00:45:00.000Z',
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T01:15:00.000Z',
    ]);
    expect(dueByMinute(se('m', '*/15m'), '2026-03-29T00:30:00Z', '2026-03-29T01:30:00Z')).toEqual([
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T00:45:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:15:00.000Z',
    ]);
    expect(dues(se('range', '0 1-3 * * *'), '2026-03-28T23:30:00Z', '2026-03-29T02:30:00Z')).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST; 02:00 never happened
    ]);
  });
});
