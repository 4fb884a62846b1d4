import type { ErrorCodeInfo } from './types.js';

/** Codes raised by schedules: validation, evaluation, dispatch. Reuse a code from core.ts when the meaning is the same. */
export const schedulingErrorCodes = {
  EmptyScheduleId: { rpc: -32602, http: 400, summary: 'a schedule_id is missing or blank' },
  DuplicateScheduleId: { rpc: -32602, http: 400, summary: 'two schedules share a schedule_id (after trimming)' },
  InvalidInterval: {
    rpc: -32602,
    http: 400,
    summary: 'a schedule interval is neither a */N{s,m,h,d} marker nor a 5-field cron expression that can fire',
  },
  InvalidTimezone: {
    rpc: -32602,
    http: 400,
    summary: 'a schedule timezone is not UTC, a fixed offset or a known IANA zone',
  },
  InvalidTickMs: {
    rpc: -32602,
    http: 400,
    summary: 'tick_ms is not a non-negative integer within the supported time range',
  },
  TooManySchedules: {
    rpc: -32602,
    http: 400,
    summary: 'a request carries more schedules than MAX_SCHEDULES_PER_REQUEST (256)',
  },
  ScheduleNotFound: { rpc: -32602, http: 404, summary: 'no schedule with this schedule_id is registered' },
  InvalidRuntimeInjection: {
    rpc: -32000,
    http: 502,
    summary: 'a dispatch hook answered with a runtime injection lacking a non-blank member_id or message',
  },
  ClaimLogCorrupt: {
    rpc: -32603,
    http: 500,
    summary: 'the schedule claim log has an unreadable line before its last line',
  },
  ClaimLogWriteFailed: { rpc: -32603, http: 500, summary: 'the schedule claim log could not be appended to or synced' },
  SchedulerStopped: { rpc: -32000, http: 409, summary: 'the live scheduler or dispatcher was stopped' },
} as const satisfies Record<string, ErrorCodeInfo>;
