import { wireCodec, wireEncoder } from '@mobkit/core';
import { z } from 'zod';
import {
  compileSchedules,
  parseScheduleRequest,
  validateTickMs,
  type CompiledSchedule,
  type ScheduleDefinition,
} from './definition.js';
import { isDueInstant, latestDueAtOrBefore, nextDueAfter } from './due.js';

/** One schedule due at a tick. */
export interface DueTrigger {
  scheduleId: string;
  interval: string;
  timezone: string;
  dueTickMs: number;
}

/** Result of {@link evaluateSchedulesAtTick}. */
export interface ScheduleEvaluation {
  tickMs: number;
  /** Sorted by (dueTickMs, scheduleId, interval, timezone). */
  dueTriggers: DueTrigger[];
}

const ms = z.number().int().min(0);

/** Wire form of a {@link ScheduleEvaluation} (`mobkit/scheduling/evaluate` result). */
export const ScheduleEvaluationWireSchema = z.object({
  tick_ms: ms,
  due_triggers: z.array(
    z.object({ schedule_id: z.string(), interval: z.string(), timezone: z.string(), due_tick_ms: ms }),
  ),
});
/** Wire form of a {@link ScheduleEvaluation}. */
export type ScheduleEvaluationWire = z.input<typeof ScheduleEvaluationWireSchema>;

/** The codec between a wire evaluation and {@link ScheduleEvaluation}. */
export const ScheduleEvaluationSchema = wireCodec(ScheduleEvaluationWireSchema, {
  decode: (w): ScheduleEvaluation => ({
    tickMs: w.tick_ms,
    dueTriggers: w.due_triggers.map((t) => ({
      scheduleId: t.schedule_id,
      interval: t.interval,
      timezone: t.timezone,
      dueTickMs: t.due_tick_ms,
    })),
  }),
  encode: (e) => ({
    tick_ms: e.tickMs,
    due_triggers: e.dueTriggers.map((t) => ({
      schedule_id: t.scheduleId,
      interval: t.interval,
      timezone: t.timezone,
      due_tick_ms: t.dueTickMs,
    })),
  }),
});

/** True when `schedule` (enabled or not) has a jittered due time exactly at `tickMs`. */
export function isDueAt(schedule: CompiledSchedule, tickMs: number): boolean {
  return isDueInstant(schedule.parsedInterval, schedule.zone, tickMs - schedule.jitterOffsetMs);
}

/** The latest jittered due time ≤ `tickMs` of `schedule`, or `null` (cron look-back ≈ 10 years). */
export function latestDueTick(schedule: CompiledSchedule, tickMs: number): number | null {
  const due = latestDueAtOrBefore(schedule.parsedInterval, schedule.zone, tickMs - schedule.jitterOffsetMs);
  return due === null ? null : due + schedule.jitterOffsetMs;
}

/** The earliest jittered due time > `tickMs` of `schedule`, or `null` when it never fires again. */
export function nextDueTick(schedule: CompiledSchedule, tickMs: number): number | null {
  const due = nextDueAfter(schedule.parsedInterval, schedule.zone, tickMs - schedule.jitterOffsetMs);
  return due === null ? null : due + schedule.jitterOffsetMs;
}

/** Orders triggers by (due tick, schedule id, interval, timezone). */
export function compareTriggers(a: DueTrigger, b: DueTrigger): number {
  if (a.dueTickMs !== b.dueTickMs) return a.dueTickMs < b.dueTickMs ? -1 : 1;
  if (a.scheduleId !== b.scheduleId) return a.scheduleId < b.scheduleId ? -1 : 1;
  if (a.interval !== b.interval) return a.interval < b.interval ? -1 : 1;
  if (a.timezone !== b.timezone) return a.timezone < b.timezone ? -1 : 1;
  return 0;
}

/**
 * Which schedules are due exactly at `tickMs` (pure and deterministic). Validates every schedule
 * first ({@link compileSchedules}) and the tick (`InvalidTickMs`). A schedule is due when its latest
 * due time ≤ `tickMs − jitter`, plus the jitter, equals `tickMs`: markers at local multiples of
 * their period, cron at matching local minutes; spring-forward gaps never fire, fall-back folds fire
 * once (first occurrence). Disabled schedules are never due.
 */
export function evaluateSchedulesAtTick(
  schedules: readonly (ScheduleDefinition | CompiledSchedule)[],
  tickMs: number,
): ScheduleEvaluation {
  const tick = validateTickMs(tickMs);
  const compiled = compileSchedules(schedules);
  const dueTriggers: DueTrigger[] = [];
  for (const schedule of compiled) {
    if (schedule.enabled && isDueAt(schedule, tick)) {
      dueTriggers.push({
        scheduleId: schedule.scheduleId,
        interval: schedule.interval,
        timezone: schedule.timezone,
        dueTickMs: tick,
      });
    }
  }
  dueTriggers.sort(compareTriggers);
  return { tickMs: tick, dueTriggers };
}

/** Converts an evaluation to its wire form (its codec's encoder). */
export const scheduleEvaluationToWire: (evaluation: ScheduleEvaluation) => ScheduleEvaluationWire =
  wireEncoder(ScheduleEvaluationSchema);

/**
 * `mobkit/scheduling/evaluate` in one call: parses wire params `{schedules (≤ 256), tick_ms}` and
 * returns the wire evaluation `{tick_ms, due_triggers}`. Errors are `MobKitError`s with JSON-RPC
 * code -32602 (`TooManySchedules`, `InvalidTickMs`, `InvalidInterval`, …).
 */
export function evaluateScheduleRequest(params: unknown): ScheduleEvaluationWire {
  const request = parseScheduleRequest(params);
  return scheduleEvaluationToWire(evaluateSchedulesAtTick(request.schedules, request.tickMs));
}
