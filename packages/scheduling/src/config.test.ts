import { isMobKitError } from '@mobkit/core';
import { expectMobKitError, fixturePath } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  injectionFor,
  loadSchedulesToml,
  loadSchedulingModuleConfig,
  parseSchedulesToml,
  parseSchedulingModuleConfig,
} from './config.js';
import { parseScheduleRequest } from './definition.js';
import { Dispatcher } from './dispatch.js';
import { evaluateScheduleRequest } from './evaluate.js';
import { parseRuntimeInjection } from './hook.js';

const fixture = (name: string): string => fixturePath('scheduling', name);

describe('schedules.toml', () => {
  it('loads the fixture with defaults applied', () => {
    const schedules = loadSchedulesToml(fixture('schedules.toml'));
    expect(schedules.map((s) => s.scheduleId)).toEqual(['heartbeat', 'standup', 'month-end-report', 'leap-day']);
    expect(schedules[0]).toEqual({
      scheduleId: 'heartbeat',
      interval: '*/1m',
      timezone: 'UTC',
      enabled: true,
      jitterMs: 0,
      catchUp: false,
    });
    expect(schedules[1]?.jitterMs).toBe(30_000);
    expect(schedules[2]?.catchUp).toBe(true);
    expect(schedules[3]?.enabled).toBe(false);
  });

  it('fails at load on a schedule that can never fire, naming it', () => {
    const error = expectMobKitError(() => loadSchedulesToml(fixture('bad-schedules.toml')), 'InvalidInterval');
    expect(error.message).toContain("schedule 'feb-30'");
  });

  it('reports TOML syntax and type errors with positions and field paths', () => {
    expectMobKitError(() => parseSchedulesToml('[[schedules]\n'), 'InvalidToml');
    const typed = expectMobKitError(
      () =>
        parseSchedulesToml(
          '[[schedules]]\nschedule_id = "x"\ninterval = "*/1m"\ntimezone = "UTC"\njitter_ms = "lots"\n',
        ),
      'InvalidConfig',
    );
    expect(typed.message).toContain('schedules[0].jitter_ms');
    expectMobKitError(() => loadSchedulesToml('/nonexistent/schedules.toml'), 'InvalidConfig');
  });
});

describe('wire requests', () => {
  it('accepts 256 schedules and rejects 257 with TooManySchedules', () => {
    const schedules = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ schedule_id: `s${i}`, interval: '*/1m', timezone: 'UTC' }));
    expect(parseScheduleRequest({ schedules: schedules(256), tick_ms: 0 }).schedules).toHaveLength(256);
    expectMobKitError(() => parseScheduleRequest({ schedules: schedules(257), tick_ms: 0 }), 'TooManySchedules');
    expectMobKitError(() => parseScheduleRequest({ schedules: [], tick_ms: 2 ** 63 }), 'InvalidTickMs');
    expectMobKitError(() => parseScheduleRequest({ schedules: [], tick_ms: '60000' }), 'InvalidTickMs');
    expectMobKitError(() => parseScheduleRequest({ schedules: [{ schedule_id: 1 }], tick_ms: 0 }), 'InvalidFieldType');
    const parsed = parseScheduleRequest({
      schedules: [{ schedule_id: 'a', interval: '*/1m', timezone: 'UTC' }],
      tick_ms: 60_000,
    });
    expect(parsed).toEqual({
      tickMs: 60_000,
      schedules: [{ scheduleId: 'a', interval: '*/1m', timezone: 'UTC', enabled: true, jitterMs: 0, catchUp: false }],
    });
  });

  it('serves the two RPC methods from wire params', async () => {
    const params = {
      schedules: [{ schedule_id: 'a', interval: '*/1m', timezone: 'UTC', catch_up: true }],
      tick_ms: 120_000,
    };
    expect(evaluateScheduleRequest(params)).toEqual({
      tick_ms: 120_000,
      due_triggers: [{ schedule_id: 'a', interval: '*/1m', timezone: 'UTC', due_tick_ms: 120_000 }],
    });
    const dispatcher = new Dispatcher();
    const report = await dispatcher.dispatchRequest(params);
    expect(report).toMatchObject({
      tick_ms: 120_000,
      due_count: 1,
      skipped_claims: [],
      dispatched: [{ claim_key: 'a:120000', supervisor_signal: null }],
    });
    expect(report.dispatched[0]).not.toHaveProperty('runtime_injection');
    await expect(dispatcher.dispatchRequest({ schedules: [], tick_ms: -1 })).rejects.toSatisfy(
      (e) => isMobKitError(e, 'InvalidTickMs') && (e as { rpcCode: number }).rpcCode === -32602,
    );
  });
});

describe('module config and injections', () => {
  const args = (schedule_id: string, timezone = 'UTC') => ({
    schedule_id,
    interval: '*/1m',
    timezone,
    due_tick_ms: Date.parse('2026-06-01T07:00:00Z'),
    tick_ms: Date.parse('2026-06-01T07:00:00Z'),
    claim_key: `${schedule_id}:${Date.parse('2026-06-01T07:00:00Z')}`,
  });

  it('fills templates, applies per-schedule overrides and disables', () => {
    const config = loadSchedulingModuleConfig(fixture('module.toml'));
    expect(injectionFor(config, args('nightly'))).toEqual({
      memberId: 'worker-1',
      message: 'scheduled:nightly due 2026-06-01T07:00:00.000Z',
    });
    expect(injectionFor(config, args('standup', 'Europe/Stockholm'))).toEqual({
      memberId: 'lead-1',
      message: 'Run the stand-up for 2026-06-01T09:00:00 (Europe/Stockholm)',
    });
    expect(injectionFor(config, args('heartbeat'))).toBeNull();
    expect(injectionFor(parseSchedulingModuleConfig(''), args('x'))).toBeNull();
  });

  it('rejects unknown placeholders and half-configured injections', () => {
    expectMobKitError(() => loadSchedulingModuleConfig(fixture('bad-module.toml')), 'InvalidConfig');
    expectMobKitError(() => parseSchedulingModuleConfig('[runtime_injection]\nmember_id = "w"\n'), 'InvalidConfig');
    expectMobKitError(() => parseSchedulingModuleConfig('[runtime_injection]\nmessage = "m"\n'), 'InvalidConfig');
  });

  it('parses hook answers in every accepted form', () => {
    expect(parseRuntimeInjection(undefined)).toBeNull();
    expect(parseRuntimeInjection({})).toBeNull();
    expect(parseRuntimeInjection({ runtime_injection: null })).toBeNull();
    expect(parseRuntimeInjection({ member_id: 'a', message: 'b' })).toEqual({ memberId: 'a', message: 'b' });
    expect(parseRuntimeInjection({ memberId: 'a', message: 'b' })).toEqual({ memberId: 'a', message: 'b' });
    expect(parseRuntimeInjection('{"runtime_injection":{"member_id":"a","message":"b"}}')).toEqual({
      memberId: 'a',
      message: 'b',
    });
    for (const bad of [
      { member_id: 'a' },
      { runtime_injection: { member_id: '', message: 'b' } },
      'not json',
      42,
      [1],
    ]) {
      expectMobKitError(() => parseRuntimeInjection(bad), 'InvalidRuntimeInjection');
    }
  });
});
