/** What a dispatch reports, in camelCase and on the wire: one codec per shape. */
import { type ModuleHealthState, ModuleHealthStateSchema, wireCodec, wireEncoder } from '@mobkit/core';
import { z } from 'zod';

const ms = z.number().int().min(0);

/** What the supervisor knows about the `scheduling` module, attached to each dispatch. */
export interface SupervisorSignal {
  moduleId: string;
  latestState: ModuleHealthState | null;
  latestAttempt: number;
  restartObserved: boolean;
}

const SupervisorSignalWireSchema = z.object({
  module_id: z.string(),
  latest_state: ModuleHealthStateSchema.nullable(),
  latest_attempt: z.number().int().min(0),
  restart_observed: z.boolean(),
});
/** Wire form of a {@link SupervisorSignal}. */
export type SupervisorSignalWire = z.input<typeof SupervisorSignalWireSchema>;

const signalMapping = {
  decode: (w: z.output<typeof SupervisorSignalWireSchema>): SupervisorSignal => ({
    moduleId: w.module_id,
    latestState: w.latest_state,
    latestAttempt: w.latest_attempt,
    restartObserved: w.restart_observed,
  }),
  encode: (s: SupervisorSignal): SupervisorSignalWire => ({
    module_id: s.moduleId,
    latest_state: s.latestState,
    latest_attempt: s.latestAttempt,
    restart_observed: s.restartObserved,
  }),
};

/** The codec between a wire supervisor signal and {@link SupervisorSignal}. */
export const SupervisorSignalSchema = wireCodec(SupervisorSignalWireSchema, signalMapping);

/** Converts a supervisor signal to its wire form (its codec's encoder). */
export const supervisorSignalToWire: (signal: SupervisorSignal) => SupervisorSignalWire =
  wireEncoder(SupervisorSignalSchema);

/** An injection the dispatch hook asked for, with the id of its `runtime/injection.dispatch` event. */
export interface DispatchedInjection {
  memberId: string;
  message: string;
  injectionEventId: string;
  /** The member's session id, when an `InjectionExecutor` delivered it. */
  sessionId?: string;
}

/** One dispatched schedule in a {@link ScheduleDispatchReport}. */
export interface DispatchedSchedule {
  claimKey: string;
  scheduleId: string;
  interval: string;
  timezone: string;
  dueTickMs: number;
  tickMs: number;
  /** Id of the `scheduling/dispatch` event. */
  eventId: string;
  supervisorSignal: SupervisorSignal | null;
  runtimeInjection?: DispatchedInjection;
  runtimeInjectionError?: string;
}

/** Result of `Dispatcher.dispatchTick`. */
export interface ScheduleDispatchReport {
  tickMs: number;
  /** Schedules with an undispatched due tick at this call: `dispatched` plus `skippedClaims`. */
  dueCount: number;
  dispatched: DispatchedSchedule[];
  /** Claim keys that were already claimed (a repeated dispatch of the same due tick). */
  skippedClaims: string[];
}

const DispatchedWireSchema = z.object({
  claim_key: z.string(),
  schedule_id: z.string(),
  interval: z.string(),
  timezone: z.string(),
  due_tick_ms: ms,
  tick_ms: ms,
  event_id: z.string(),
  supervisor_signal: SupervisorSignalWireSchema.nullable(),
  runtime_injection: z
    .object({
      member_id: z.string(),
      message: z.string(),
      injection_event_id: z.string(),
      session_id: z.string().optional(),
    })
    .optional(),
  runtime_injection_error: z.string().optional(),
});

/** Wire form of a dispatch report (`mobkit/scheduling/dispatch` result; absent optionals omitted). */
export const ScheduleDispatchReportWireSchema = z.object({
  tick_ms: ms,
  due_count: z.number().int().min(0),
  dispatched: z.array(DispatchedWireSchema),
  skipped_claims: z.array(z.string()),
});
/** Wire form of a {@link ScheduleDispatchReport}. */
export type ScheduleDispatchReportWire = z.input<typeof ScheduleDispatchReportWireSchema>;
type DispatchedWire = z.input<typeof DispatchedWireSchema>;

function dispatchedFromWire(w: z.output<typeof DispatchedWireSchema>): DispatchedSchedule {
  const d: DispatchedSchedule = {
    claimKey: w.claim_key,
    scheduleId: w.schedule_id,
    interval: w.interval,
    timezone: w.timezone,
    dueTickMs: w.due_tick_ms,
    tickMs: w.tick_ms,
    eventId: w.event_id,
    supervisorSignal: w.supervisor_signal === null ? null : signalMapping.decode(w.supervisor_signal),
  };
  const injection = w.runtime_injection;
  if (injection !== undefined) {
    d.runtimeInjection = {
      memberId: injection.member_id,
      message: injection.message,
      injectionEventId: injection.injection_event_id,
      ...(injection.session_id === undefined ? {} : { sessionId: injection.session_id }),
    };
  }
  if (w.runtime_injection_error !== undefined) d.runtimeInjectionError = w.runtime_injection_error;
  return d;
}

function dispatchedToWire(d: DispatchedSchedule): DispatchedWire {
  const w: DispatchedWire = {
    claim_key: d.claimKey,
    schedule_id: d.scheduleId,
    interval: d.interval,
    timezone: d.timezone,
    due_tick_ms: d.dueTickMs,
    tick_ms: d.tickMs,
    event_id: d.eventId,
    supervisor_signal: d.supervisorSignal === null ? null : signalMapping.encode(d.supervisorSignal),
  };
  const injection = d.runtimeInjection;
  if (injection !== undefined) {
    w.runtime_injection = {
      member_id: injection.memberId,
      message: injection.message,
      injection_event_id: injection.injectionEventId,
      ...(injection.sessionId === undefined ? {} : { session_id: injection.sessionId }),
    };
  }
  if (d.runtimeInjectionError !== undefined) w.runtime_injection_error = d.runtimeInjectionError;
  return w;
}

/** The codec between a wire dispatch report and {@link ScheduleDispatchReport}. */
export const ScheduleDispatchReportSchema = wireCodec(ScheduleDispatchReportWireSchema, {
  decode: (w): ScheduleDispatchReport => ({
    tickMs: w.tick_ms,
    dueCount: w.due_count,
    dispatched: w.dispatched.map(dispatchedFromWire),
    skippedClaims: [...w.skipped_claims],
  }),
  encode: (r) => ({
    tick_ms: r.tickMs,
    due_count: r.dueCount,
    dispatched: r.dispatched.map(dispatchedToWire),
    skipped_claims: [...r.skippedClaims],
  }),
});

/** Converts a dispatch report to its wire form (its codec's encoder; optional fields omitted when absent). */
export const dispatchReportToWire: (report: ScheduleDispatchReport) => ScheduleDispatchReportWire =
  wireEncoder(ScheduleDispatchReportSchema);
