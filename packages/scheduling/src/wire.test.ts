import { describe, expect, it } from 'vitest';
import { ScheduleClaimSchema, claimToWire } from './claims.js';
import { ScheduleDefinitionSchema, scheduleToWire } from './definition.js';
import { ScheduleEvaluationSchema, evaluateSchedulesAtTick, scheduleEvaluationToWire } from './evaluate.js';
import {
  ScheduleDispatchReportSchema,
  type ScheduleDispatchReport,
  SupervisorSignalSchema,
  dispatchReportToWire,
  supervisorSignalToWire,
} from './report.js';

describe('one codec per wire shape', () => {
  it('round-trips a dispatch report with and without the optional injection fields', () => {
    const report: ScheduleDispatchReport = {
      tickMs: 120_000,
      dueCount: 2,
      skippedClaims: ['b:60000'],
      dispatched: [
        {
          claimKey: 'a:120000',
          scheduleId: 'a',
          interval: '*/1m',
          timezone: 'UTC',
          dueTickMs: 120_000,
          tickMs: 120_000,
          eventId: 'evt-schedule-a-120000-0',
          supervisorSignal: { moduleId: 'scheduling', latestState: 'Healthy', latestAttempt: 1, restartObserved: true },
          runtimeInjection: {
            memberId: 'm',
            message: 'hi',
            injectionEventId: 'evt-runtime-injection-120000-1',
            sessionId: 's',
          },
        },
        {
          claimKey: 'c:120000',
          scheduleId: 'c',
          interval: '*/2m',
          timezone: 'UTC',
          dueTickMs: 120_000,
          tickMs: 120_000,
          eventId: 'evt-schedule-c-120000-2',
          supervisorSignal: null,
          runtimeInjectionError: 'mob injection failed: boom',
        },
      ],
    };
    const wire = dispatchReportToWire(report);
    expect(wire.dispatched[0]).toEqual({
      claim_key: 'a:120000',
      schedule_id: 'a',
      interval: '*/1m',
      timezone: 'UTC',
      due_tick_ms: 120_000,
      tick_ms: 120_000,
      event_id: 'evt-schedule-a-120000-0',
      supervisor_signal: {
        module_id: 'scheduling',
        latest_state: 'Healthy',
        latest_attempt: 1,
        restart_observed: true,
      },
      runtime_injection: {
        member_id: 'm',
        message: 'hi',
        injection_event_id: 'evt-runtime-injection-120000-1',
        session_id: 's',
      },
    });
    expect(Object.keys(wire.dispatched[1] ?? {})).not.toContain('runtime_injection');
    expect(wire.dispatched[1]?.runtime_injection_error).toBe('mob injection failed: boom');
    expect(ScheduleDispatchReportSchema.parse(wire)).toEqual(report);
    const signal = report.dispatched[0]?.supervisorSignal ?? null;
    expect(signal).not.toBeNull();
    if (signal !== null) expect(SupervisorSignalSchema.parse(supervisorSignalToWire(signal))).toEqual(signal);
  });

  it('round-trips claims, evaluations and schedules, and refuses to encode a wrong value', () => {
    const claim = { claimKey: 'a:60000', scheduleId: 'a', dueTickMs: 60_000, tickMs: 60_500, claimedAtMs: 61_000 };
    expect(claimToWire(claim)).toEqual({
      claim_key: 'a:60000',
      schedule_id: 'a',
      due_tick_ms: 60_000,
      tick_ms: 60_500,
      claimed_at_ms: 61_000,
    });
    expect(ScheduleClaimSchema.parse(claimToWire(claim))).toEqual(claim);
    expect(ScheduleClaimSchema.safeParse({ ...claimToWire(claim), due_tick_ms: 1.5 }).success).toBe(false);
    const evaluation = evaluateSchedulesAtTick([{ scheduleId: 'a', interval: '*/1m', timezone: 'UTC' }], 60_000);
    expect(ScheduleEvaluationSchema.parse(scheduleEvaluationToWire(evaluation))).toEqual(evaluation);
    expect(scheduleToWire({ scheduleId: 'a', interval: '*/1m', timezone: 'UTC' })).toEqual({
      schedule_id: 'a',
      interval: '*/1m',
      timezone: 'UTC',
      enabled: true,
      jitter_ms: 0,
      catch_up: false,
    });
    expect(ScheduleDefinitionSchema.parse({ schedule_id: 'a', interval: '*/1m', timezone: 'UTC' })).toEqual({
      scheduleId: 'a',
      interval: '*/1m',
      timezone: 'UTC',
      enabled: true,
      jitterMs: 0,
      catchUp: false,
    });
    expect(() => claimToWire({ ...claim, tickMs: -1 })).toThrow();
  });
});
