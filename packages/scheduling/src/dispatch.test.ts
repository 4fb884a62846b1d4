import { describe, expect, it } from 'vitest';
import { ManualClock, isMobKitError } from '@mobkit/core';
import { waitFor } from '@mobkit/test-utils';
import { Dispatcher, MAX_CLAIMS, type SchedulingEvent } from './dispatch.js';
import { dispatchReportToWire } from './report.js';
import type { ScheduleDefinition } from './definition.js';

const minutely = (scheduleId: string, extra: Partial<ScheduleDefinition> = {}): ScheduleDefinition => ({
  scheduleId,
  interval: '*/1m',
  timezone: 'UTC',
  ...extra,
});

function collect(): { events: SchedulingEvent[]; emit: (e: SchedulingEvent) => void } {
  const events: SchedulingEvent[] = [];
  return { events, emit: (e) => events.push(e) };
}

describe('Dispatcher.dispatchTick', () => {
  it('seed e2e_004: */1m UTC at tick 60 000 dispatches once with a runtime injection', async () => {
    const { events, emit } = collect();
    const delivered: string[] = [];
    const dispatcher = new Dispatcher({
      emit,
      hook: (args) => ({ member_id: 'worker-1', message: `phase5-happy:${args.schedule_id}` }),
      executeInjection: async (injection) => {
        delivered.push(`${injection.memberId}<-${injection.message}`);
        return { sessionId: 'session-1' };
      },
    });
    const report = await dispatcher.dispatchTick(
      [{ scheduleId: 'phase5-happy', interval: '*/1m', timezone: 'UTC', enabled: true, jitterMs: 0, catchUp: false }],
      60_000,
    );
    expect(report.dispatched).toHaveLength(1);
    expect(report.dispatched[0]?.runtimeInjection).toMatchObject({
      memberId: 'worker-1',
      message: 'phase5-happy:phase5-happy',
      sessionId: 'session-1',
    });
    expect(report.dispatched[0]?.runtimeInjectionError).toBeUndefined();
    expect(delivered).toEqual(['worker-1<-phase5-happy:phase5-happy']);
    expect(events.map((e) => `${e.event.module}/${e.event.eventType}`)).toEqual([
      'scheduling/dispatch',
      'runtime/injection.dispatch',
      'runtime/runtime.injection.executed',
    ]);
    const wire = dispatchReportToWire(report);
    expect(wire).toEqual({
      tick_ms: 60_000,
      due_count: 1,
      dispatched: [
        {
          claim_key: 'phase5-happy:60000',
          schedule_id: 'phase5-happy',
          interval: '*/1m',
          timezone: 'UTC',
          due_tick_ms: 60_000,
          tick_ms: 60_000,
          event_id: report.dispatched[0]?.eventId,
          supervisor_signal: null,
          runtime_injection: {
            member_id: 'worker-1',
            message: 'phase5-happy:phase5-happy',
            injection_event_id: report.dispatched[0]?.runtimeInjection?.injectionEventId,
            session_id: 'session-1',
          },
        },
      ],
      skipped_claims: [],
    });
    expect(report.dispatched[0]?.eventId).toMatch(/^evt-schedule-phase5-happy-60000-\d+$/);
    expect(JSON.stringify(events[0]?.event.payload)).toBe(
      '{"schedule_id":"phase5-happy","interval":"*/1m","timezone":"UTC","tick_ms":60000,"due_tick_ms":60000,"claim_key":"phase5-happy:60000","supervisor_signal":null}',
    );
    expect(events.every((e) => e.timestampMs === 60_000 && e.source === 'module')).toBe(true);
  });

  it('pinned catch-up example: 120 000 → 1, 121 000 → 0, 181 000 → 1 with due 180 000', async () => {
    const dispatcher = new Dispatcher();
    const s = [minutely('catch', { catchUp: true })];
    const a = await dispatcher.dispatchTick(s, 120_000);
    const b = await dispatcher.dispatchTick(s, 121_000);
    const c = await dispatcher.dispatchTick(s, 181_000);
    expect(a.dispatched.map((d) => d.claimKey)).toEqual(['catch:120000']);
    expect(b.dispatched).toEqual([]);
    expect(b.dueCount).toBe(0);
    expect(c.dispatched.map((d) => [d.dueTickMs, d.tickMs])).toEqual([[180_000, 181_000]]);
    // catch_up: a replay of an already dispatched tick is skipped silently.
    expect((await dispatcher.dispatchTick(s, 120_000)).dueCount).toBe(0);
  });

  it('without catch-up, re-dispatching the exact due tick hits the claim (listed in skippedClaims)', async () => {
    const dispatcher = new Dispatcher();
    const s = [minutely('plain')];
    expect((await dispatcher.dispatchTick(s, 120_000)).dispatched).toHaveLength(1);
    expect((await dispatcher.dispatchTick(s, 121_000)).dispatched).toHaveLength(0);
    const again = await dispatcher.dispatchTick(s, 120_000);
    expect(again).toMatchObject({ dueCount: 1, dispatched: [], skippedClaims: ['plain:120000'] });
    // Coarse polling: late by 59 s still dispatches the latest due tick, once.
    const late = await dispatcher.dispatchTick(s, 239_000);
    expect(late.dispatched.map((d) => d.claimKey)).toEqual(['plain:180000']);
    // A sparse cron retried at the same tick is idempotent.
    const sparse = [{ scheduleId: 'sparse', interval: '0 3 1 * *', timezone: 'UTC' }];
    const tick = Date.parse('2026-06-01T03:00:00Z');
    expect((await dispatcher.dispatchTick(sparse, tick)).dispatched).toHaveLength(1);
    expect((await dispatcher.dispatchTick(sparse, tick)).skippedClaims).toEqual([`sparse:${tick}`]);
  });

  it('treats ids as trimmed for claims, and sorts dispatches by (due, id)', async () => {
    const { events, emit } = collect();
    const dispatcher = new Dispatcher({ emit });
    const first = await dispatcher.dispatchTick(
      [minutely('b'), minutely(' a '), minutely('c', { interval: '*/2m' })],
      120_000,
    );
    expect(first.dispatched.map((d) => d.scheduleId)).toEqual(['a', 'b', 'c']);
    expect(events.map((e) => (e.event.payload as { schedule_id: string }).schedule_id)).toEqual(['a', 'b', 'c']);
    const second = await dispatcher.dispatchTick([minutely('a')], 120_000);
    expect(second.skippedClaims).toEqual(['a:120000']);
  });

  it('prunes claims after 24 h (fake clock) so the pinned old claim can be dispatched again', async () => {
    const clock = new ManualClock(120_000);
    const dispatcher = new Dispatcher({ clock });
    const s = [minutely('delivery-prune')];
    const first = await dispatcher.dispatchTick(s, clock.nowMs());
    expect(first.dispatched[0]?.claimKey).toBe('delivery-prune:120000');
    expect(dispatcher.claimList()[0]?.claimedAtMs).toBe(120_000);
    // One day later the claim is still there (not older than 24 h)…
    clock.advance(86_400_000);
    await dispatcher.dispatchTick(s, clock.nowMs());
    expect(dispatcher.hasClaim('delivery-prune:120000')).toBe(true);
    // …one minute after that it is pruned.
    clock.set(86_580_000);
    await dispatcher.dispatchTick(s, clock.nowMs());
    expect(dispatcher.hasClaim('delivery-prune:120000')).toBe(false);
    const replay = await dispatcher.dispatchTick(s, 120_000);
    expect(replay.dispatched.map((d) => d.claimKey)).toEqual(['delivery-prune:120000']);
    expect(replay.dispatched[0]?.eventId).not.toBe(first.dispatched[0]?.eventId);
  });

  it('caps claims at 4 096, dropping the oldest', async () => {
    const dispatcher = new Dispatcher();
    const many = Array.from({ length: MAX_CLAIMS + 4 }, (_, i) => minutely(`s-${String(i).padStart(5, '0')}`));
    await dispatcher.dispatchTick(many.slice(0, 4), 60_000);
    const report = await dispatcher.dispatchTick(many, 120_000);
    expect(report.dispatched).toHaveLength(MAX_CLAIMS + 4);
    const claims = dispatcher.claimList();
    expect(claims).toHaveLength(MAX_CLAIMS);
    expect(claims.some((c) => c.dueTickMs === 60_000)).toBe(false);
  });

  it('never dispatches a due tick older than the claim retention (stale sparse schedules do not repeat)', async () => {
    const dispatcher = new Dispatcher();
    const monthly = [{ scheduleId: 'monthly', interval: '0 0 1 * *', timezone: 'UTC' }];
    const due = Date.parse('2026-06-01T00:00:00Z');
    expect((await dispatcher.dispatchTick(monthly, due + 3_600_000)).dispatched.map((d) => d.dueTickMs)).toEqual([due]);
    expect((await dispatcher.dispatchTick(monthly, due + 7_200_000)).dispatched).toEqual([]);
    for (const days of [2, 3, 10])
      expect((await dispatcher.dispatchTick(monthly, due + days * 86_400_000)).dispatched).toEqual([]);
    // A fresh dispatcher polled two days late drops the missed tick instead of firing it.
    expect((await new Dispatcher().dispatchTick(monthly, due + 2 * 86_400_000)).dueCount).toBe(0);
  });

  it('dispatches the leap day once under coarse polling', async () => {
    const dispatcher = new Dispatcher();
    const leap = [{ scheduleId: 'leap', interval: '0 0 29 2 *', timezone: 'UTC' }];
    expect((await dispatcher.dispatchTick(leap, Date.parse('2027-02-28T00:00:00Z'))).dispatched).toEqual([]);
    const r = await dispatcher.dispatchTick(leap, Date.parse('2028-02-29T06:00:00Z'));
    expect(r.dispatched.map((d) => d.claimKey)).toEqual([`leap:${Date.parse('2028-02-29T00:00:00Z')}`]);
    expect((await dispatcher.dispatchTick(leap, Date.parse('2028-02-29T12:00:00Z'))).dispatched).toEqual([]);
  });

  it('records hook failures, invalid answers and timeouts in runtimeInjectionError without failing the dispatch', async () => {
    const { events, emit } = collect();
    const dispatcher = new Dispatcher({
      emit,
      hookTimeoutMs: 200,
      hook: (args) => {
        if (args.schedule_id === 'throws') throw new Error('module down');
        if (args.schedule_id === 'blank') return { runtime_injection: { member_id: ' ', message: 'x' } };
        if (args.schedule_id === 'hangs') return new Promise(() => undefined);
        if (args.schedule_id === 'text') return '{"runtime_injection":{"member_id":"w","message":"from text"}}';
        return {};
      },
    });
    const report = await dispatcher.dispatchTick(
      ['blank', 'empty', 'hangs', 'text', 'throws'].map((id) => minutely(id)),
      60_000,
    );
    const byId = Object.fromEntries(report.dispatched.map((d) => [d.scheduleId, d]));
    expect(report.dispatched).toHaveLength(5);
    expect(byId.throws?.runtimeInjectionError).toBe('module down');
    expect(byId.blank?.runtimeInjectionError).toContain('non-blank member_id');
    expect(byId.hangs?.runtimeInjectionError).toContain('timed out after 200 ms');
    expect(byId.empty?.runtimeInjection).toBeUndefined();
    expect(byId.empty?.runtimeInjectionError).toBeUndefined();
    expect(byId.text?.runtimeInjection).toMatchObject({ memberId: 'w', message: 'from text' });
    const failed = events.filter((e) => e.event.eventType === 'runtime.injection.failed');
    expect(failed.map((e) => (e.event.payload as { schedule_id: string }).schedule_id)).toEqual([
      'blank',
      'hangs',
      'throws',
    ]);
    expect(failed.every((e) => /^evt-runtime-injection-failed-60000-\d+$/.test(e.eventId))).toBe(true);
  });

  it('times out a hanging mob injection separately from the hook', async () => {
    const dispatcher = new Dispatcher({
      hookTimeoutMs: 10_000,
      injectionTimeoutMs: 100,
      hook: () => ({ member_id: 'slow', message: 'hi' }),
      executeInjection: () => new Promise(() => undefined),
    });
    const report = await dispatcher.dispatchTick([minutely('slow')], 60_000);
    expect(report.dispatched[0]?.runtimeInjectionError).toBe(
      'mob injection failed: mob injection timed out after 100 ms',
    );
  });

  it('times the hook and the injection on its clock: a limit runs out when the clock reaches it, and no sleep is left', async () => {
    const clock = new ManualClock(60_000);
    const { events, emit } = collect();
    const abortedAt: Record<string, number> = {};
    const dispatcher = new Dispatcher({
      clock,
      emit,
      hookTimeoutMs: 5_000,
      injectionTimeoutMs: 2_000,
      hook: (args, { signal }) => {
        if (args.schedule_id === 'quick') return { member_id: 'w', message: 'hi' };
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            abortedAt.hook = clock.nowMs();
            reject(signal.reason);
          }),
        );
      },
      executeInjection: () => ({ sessionId: 's-1' }),
    });
    let settled = false;
    const pending = dispatcher.dispatchTick([minutely('hangs')], 60_000).finally(() => {
      settled = true;
    });
    await waitFor('the hook to start its time limit', () => clock.pendingSleeps === 1);
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    expect(events.map((e) => e.event.eventType)).toEqual(['dispatch']);
    clock.advance(1);
    const report = await pending;
    expect(abortedAt.hook).toBe(65_000);
    expect(report.dispatched[0]?.runtimeInjectionError).toBe('scheduling dispatch hook timed out after 5000 ms');
    expect(events.map((e) => e.event.eventType)).toEqual(['dispatch', 'runtime.injection.failed']);
    expect(clock.pendingSleeps).toBe(0);

    // a hook and an injection that answer in time leave no sleep behind
    const quick = await dispatcher.dispatchTick([minutely('quick')], 120_000);
    expect(quick.dispatched[0]?.runtimeInjection).toMatchObject({ memberId: 'w', sessionId: 's-1' });
    expect(clock.pendingSleeps).toBe(0);
    expect(clock.nowMs()).toBe(65_000);
  });

  it('times a hanging mob injection on the clock too', async () => {
    const clock = new ManualClock(0);
    const dispatcher = new Dispatcher({
      clock,
      injectionTimeoutMs: 2_000,
      hook: () => ({ member_id: 'slow', message: 'hi' }),
      executeInjection: () => new Promise(() => undefined),
    });
    const pending = dispatcher.dispatchTick([minutely('slow')], 60_000);
    await waitFor('the injection to start its time limit', () => clock.pendingSleeps === 1);
    clock.advance(2_000);
    expect((await pending).dispatched[0]?.runtimeInjectionError).toBe(
      'mob injection failed: mob injection timed out after 2000 ms',
    );
    expect(clock.pendingSleeps).toBe(0);
  });

  it('records a failing mob injection as "mob injection failed" with error_kind mob_runtime', async () => {
    const { events, emit } = collect();
    const dispatcher = new Dispatcher({
      emit,
      hook: () => ({ member_id: 'ghost', message: 'hello' }),
      executeInjection: () => {
        throw new Error('member ghost not found');
      },
    });
    const report = await dispatcher.dispatchTick([minutely('inj')], 60_000);
    expect(report.dispatched[0]?.runtimeInjection).toMatchObject({ memberId: 'ghost', message: 'hello' });
    expect(report.dispatched[0]?.runtimeInjectionError).toBe('mob injection failed: member ghost not found');
    const failed = events.find((e) => e.event.eventType === 'runtime.injection.failed');
    expect(failed?.eventId).toBe(`${report.dispatched[0]?.runtimeInjection?.injectionEventId}-failed`);
    expect(failed?.event.payload).toMatchObject({ error_kind: 'mob_runtime', member_id: 'ghost', message: 'hello' });
  });

  it('attaches the supervisor signal and emits supervisor.restart once per call when a restart was observed', async () => {
    const { events, emit } = collect();
    const dispatcher = new Dispatcher({
      emit,
      supervisorSignal: () => ({
        moduleId: 'scheduling',
        latestState: 'Healthy',
        latestAttempt: 2,
        restartObserved: true,
      }),
    });
    const report = await dispatcher.dispatchTick([minutely('x'), minutely('y')], 60_000);
    expect(report.dispatched.map((d) => d.supervisorSignal?.latestAttempt)).toEqual([2, 2]);
    const restarts = events.filter((e) => e.event.eventType === 'supervisor.restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]?.event.payload).toEqual({
      module_id: 'scheduling',
      latest_state: 'Healthy',
      latest_attempt: 2,
      restart_observed: true,
    });
    expect(
      events
        .filter((e) => e.event.eventType === 'dispatch')
        .map((e) => (e.event.payload as { supervisor_signal: unknown }).supervisor_signal),
    ).toEqual([
      { module_id: 'scheduling', latest_state: 'Healthy', latest_attempt: 2, restart_observed: true },
      { module_id: 'scheduling', latest_state: 'Healthy', latest_attempt: 2, restart_observed: true },
    ]);
  });

  it('serializes concurrent calls and rejects invalid input before queueing', async () => {
    const dispatcher = new Dispatcher({ hook: async () => new Promise((r) => setTimeout(() => r({}), 20)) });
    const s = [minutely('conc')];
    const results = await Promise.all([
      dispatcher.dispatchTick(s, 60_000),
      dispatcher.dispatchTick(s, 60_000),
      dispatcher.dispatchTick(s, 60_000),
    ]);
    expect(results.map((r) => r.dispatched.length)).toEqual([1, 0, 0]);
    expect(results.map((r) => r.skippedClaims.length)).toEqual([0, 1, 1]);
    await expect(dispatcher.dispatchTick(s, -5)).rejects.toSatisfy((e) => isMobKitError(e, 'InvalidTickMs'));
    await expect(dispatcher.dispatchTick([minutely(''), minutely('z')], 0)).rejects.toSatisfy((e) =>
      isMobKitError(e, 'EmptyScheduleId'),
    );
    await dispatcher.close();
    await expect(dispatcher.dispatchTick(s, 60_000)).rejects.toSatisfy((e) => isMobKitError(e, 'SchedulerStopped'));
  });
});
