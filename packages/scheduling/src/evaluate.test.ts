import { describe, expect, it } from 'vitest';
import { isMobKitError } from '@mobkit/core';
import { compileSchedule } from './definition.js';
import { evaluateSchedulesAtTick, isDueAt, latestDueTick, nextDueTick, scheduleEvaluationToWire } from './evaluate.js';

const at = (iso: string): number => Date.parse(iso);

describe('evaluateSchedulesAtTick', () => {
  it('reproduces the spec 9.2 example: [sched-a, sched-b, sched-c] at 3 600 000', () => {
    const schedules = [
      { scheduleId: 'sched-d', interval: '*/1h', timezone: 'UTC-00:30' },
      { scheduleId: 'sched-c', interval: '*/30m', timezone: 'UTC+01:00' },
      { scheduleId: 'sched-a', interval: '*/1h', timezone: 'UTC' },
      { scheduleId: 'sched-b', interval: '*/1h', timezone: 'UTC+01:00' },
    ];
    const evaluation = evaluateSchedulesAtTick(schedules, 3_600_000);
    expect(evaluation.dueTriggers.map((t) => t.scheduleId)).toEqual(['sched-a', 'sched-b', 'sched-c']);
    expect(scheduleEvaluationToWire(evaluation)).toEqual({
      tick_ms: 3_600_000,
      due_triggers: [
        { schedule_id: 'sched-a', interval: '*/1h', timezone: 'UTC', due_tick_ms: 3_600_000 },
        { schedule_id: 'sched-b', interval: '*/1h', timezone: 'UTC+01:00', due_tick_ms: 3_600_000 },
        { schedule_id: 'sched-c', interval: '*/30m', timezone: 'UTC+01:00', due_tick_ms: 3_600_000 },
      ],
    });
    // sched-d (UTC−00:30) is due half an hour later, at local 01:00 = 01:30 UTC.
    expect(evaluateSchedulesAtTick(schedules, 5_400_000).dueTriggers.map((t) => t.scheduleId)).toEqual([
      'sched-c',
      'sched-d',
    ]);
  });

  it('sorts by id, then interval, then timezone, and never reports disabled schedules', () => {
    const evaluation = evaluateSchedulesAtTick(
      [
        { scheduleId: 'b', interval: '*/1m', timezone: 'UTC' },
        { scheduleId: 'a', interval: '* * * * *', timezone: 'Z' },
        { scheduleId: 'off', interval: '*/1m', timezone: 'UTC', enabled: false },
        { scheduleId: '  c  ', interval: ' */2m ', timezone: ' Europe/Stockholm ' },
      ],
      120_000,
    );
    expect(evaluation.dueTriggers).toEqual([
      { scheduleId: 'a', interval: '* * * * *', timezone: 'Z', dueTickMs: 120_000 },
      { scheduleId: 'b', interval: '*/1m', timezone: 'UTC', dueTickMs: 120_000 },
      { scheduleId: 'c', interval: '*/2m', timezone: 'Europe/Stockholm', dueTickMs: 120_000 },
    ]);
    expect(
      evaluateSchedulesAtTick([{ scheduleId: 'x', interval: '*/1m', timezone: 'UTC' }], 120_001).dueTriggers,
    ).toEqual([]);
  });

  it('rejects bad ticks with InvalidTickMs', () => {
    for (const tick of [-1, 1.5, Number.NaN, 2 ** 63, 8_640_000_000_000_001]) {
      try {
        evaluateSchedulesAtTick([], tick);
        expect.unreachable();
      } catch (error) {
        expect(isMobKitError(error, 'InvalidTickMs')).toBe(true);
      }
    }
  });

  it('keeps jitter deterministic per id and below the interval; one due tick per minute window', () => {
    const jittered = compileSchedule({ scheduleId: 'jitter-me', interval: '*/1m', timezone: 'UTC', jitterMs: 10_000 });
    const again = compileSchedule({ scheduleId: 'jitter-me', interval: '*/1m', timezone: 'UTC', jitterMs: 10_000 });
    expect(jittered.jitterOffsetMs).toBe(again.jitterOffsetMs);
    expect(jittered.jitterOffsetMs).toBeGreaterThanOrEqual(0);
    expect(jittered.jitterOffsetMs).toBeLessThanOrEqual(10_000);
    for (let window = 0; window < 5; window++) {
      const start = 1_800_000_000_000 - (1_800_000_000_000 % 60_000) + window * 60_000;
      const due: number[] = [];
      for (let t = start; t < start + 60_000; t += 1) if (isDueAt(jittered, t)) due.push(t);
      expect(due).toEqual([start + jittered.jitterOffsetMs]);
    }
    // Jitter larger than the interval is clamped below it (base − 1).
    const huge = compileSchedule({ scheduleId: 'big', interval: '*/1s', timezone: 'UTC', jitterMs: 10_000_000 });
    expect(huge.jitterOffsetMs).toBeLessThan(1000);
    // Different ids spread out.
    const offsets = new Set(
      Array.from(
        { length: 50 },
        (_, i) =>
          compileSchedule({ scheduleId: `s-${i}`, interval: '*/1h', timezone: 'UTC', jitterMs: 3_599_999 })
            .jitterOffsetMs,
      ),
    );
    expect(offsets.size).toBeGreaterThan(45);
  });

  it('agrees with latestDueTick/nextDueTick: due at t iff the latest due ≤ t is t', () => {
    const schedules = [
      compileSchedule({ scheduleId: 'm', interval: '*/7m', timezone: 'America/New_York', jitterMs: 30_000 }),
      compileSchedule({ scheduleId: 'c', interval: '*/15 1-3 * * *', timezone: 'Europe/Stockholm', jitterMs: 5_000 }),
      compileSchedule({ scheduleId: 'f', interval: '30 1 * * 0', timezone: 'America/New_York' }),
    ];
    const windows = [
      { start: at('2026-11-01T04:00:00Z'), schedules },
      // Both fold behaviours across Stockholm's fall-back night (local 02:xx twice): repeating and naming hours.
      {
        start: at('2026-10-24T23:00:00Z'),
        schedules: [
          compileSchedule({
            scheduleId: 'q',
            interval: '*/15 * * * *',
            timezone: 'Europe/Stockholm',
            jitterMs: 20_000,
          }),
          compileSchedule({ scheduleId: 'mk', interval: '*/15m', timezone: 'Europe/Stockholm', jitterMs: 40_000 }),
          compileSchedule({ scheduleId: 'once', interval: '30 2 * * *', timezone: 'Europe/Stockholm' }),
        ],
      },
    ];
    for (const { start, schedules: list } of windows)
      for (const s of list) {
        let due = nextDueTick(s, start);
        for (let t = start; t < start + 5 * 3_600_000; t += 5_000) {
          expect(isDueAt(s, t)).toBe(latestDueTick(s, t) === t);
          if (due !== null && t >= due) {
            expect(latestDueTick(s, t)).toBe(due);
            due = nextDueTick(s, t);
          }
        }
      }
  });
});
