import { type Clock, type EventEnvelope, type ModuleEvent, systemClock } from '@mobkit/core';
import { JsonlClaimStore, MemoryClaimStore, type ClaimStore, type ScheduleClaim } from './claims.js';
import {
  compileSchedules,
  parseScheduleRequest,
  validateTickMs,
  type CompiledSchedule,
  type ScheduleDefinition,
} from './definition.js';
import { SchedulingError } from './errors.js';
import { compareTriggers, latestDueTick } from './evaluate.js';
import {
  parseRuntimeInjection,
  type DispatchHook,
  type InjectionExecutor,
  type RuntimeInjection,
  type SchedulingDispatchArgs,
} from './hook.js';
import {
  type DispatchedSchedule,
  type ScheduleDispatchReport,
  type ScheduleDispatchReportWire,
  type SupervisorSignal,
  dispatchReportToWire,
  supervisorSignalToWire,
} from './report.js';

/** Claims (and last-due marks) older than this, measured from the tick, are pruned: 24 h. */
export const CLAIM_RETENTION_MS = 86_400_000;
/** At most this many claims (and last-due marks) are kept; the oldest go first. */
export const MAX_CLAIMS = 4096;
/** Default time a dispatch hook may take. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5_000;
/** Default time an injection executor (sending into the mob) may take. */
export const DEFAULT_INJECTION_TIMEOUT_MS = 30_000;

/** A module event emitted by the dispatcher (`scheduling/*` or `runtime/*`). */
export type SchedulingEvent = EventEnvelope<ModuleEvent<Record<string, unknown>>>;

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  /** Decides each dispatch's runtime injection (a function, or {@link toolDispatchHook} for the scheduling module). */
  hook?: DispatchHook;
  /** Delivers injections into the mob; without it injections are only reported (and emitted). */
  executeInjection?: InjectionExecutor;
  /** Receives every event, in order: `scheduling/dispatch`, `scheduling/supervisor.restart`, `runtime/injection.dispatch`, … */
  emit?: (event: SchedulingEvent) => void;
  /** The supervisor's view of the `scheduling` module (null when never supervised). */
  supervisorSignal?: () => SupervisorSignal | null;
  /** Where claims persist. Default: in memory only. */
  claimStore?: ClaimStore;
  /** Shorthand for `claimStore: new JsonlClaimStore(claimsPath)`. */
  claimsPath?: string;
  /** Claim retention measured back from the tick (default {@link CLAIM_RETENTION_MS}). */
  claimRetentionMs?: number;
  /** Claim cap (default {@link MAX_CLAIMS}). */
  maxClaims?: number;
  /** Time limit for the hook (default {@link DEFAULT_HOOK_TIMEOUT_MS}). */
  hookTimeoutMs?: number;
  /** Time limit for the injection executor (default {@link DEFAULT_INJECTION_TIMEOUT_MS}). */
  injectionTimeoutMs?: number;
  /**
   * The clock (default the system clock): `claimedAtMs` reads it, and the hook and injection time limits
   * sleep on it (with `ManualClock`, a limit runs out when the clock is advanced past it).
   */
  clock?: Clock;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `run` with a time limit measured on `clock`: past `timeoutMs` the work's signal aborts and the
 * result is a `<what> timed out after <ms> ms` error. When the work settles first, the clock's sleep
 * is aborted, so no timer outlives the call.
 */
async function withTimeout<T>(
  clock: Clock,
  what: string,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  const work = new AbortController();
  const settled = new AbortController();
  const timeout = clock.sleep(timeoutMs, settled.signal).then((): never => {
    const error = new Error(`${what} timed out after ${timeoutMs} ms`);
    work.abort(error);
    throw error;
  });
  try {
    return await Promise.race([Promise.resolve().then(() => run(work.signal)), timeout]);
  } finally {
    settled.abort(); // the race already settled: the sleep's Aborted rejection is ignored by it
  }
}

/**
 * Dispatches due schedules exactly once per due tick. Each {@link dispatchTick} call validates the
 * schedules, prunes old claims, finds each enabled schedule's latest due tick ≤ the tick, skips
 * ticks already dispatched (catch-up rule), claims `"<id>:<dueTickMs>"` (persisted first when a
 * claim store is set), emits `scheduling/dispatch`, then runs the hook and the injection executor.
 * Calls are serialized, so concurrent callers see a consistent claim set.
 */
export class Dispatcher {
  private readonly claims = new Map<string, ScheduleClaim>();
  private readonly lastDue = new Map<string, number>();
  private readonly store: ClaimStore;
  private readonly retentionMs: number;
  private readonly maxClaims: number;
  private readonly hookTimeoutMs: number;
  private readonly injectionTimeoutMs: number;
  private readonly clock: Clock;
  private queue: Promise<unknown> = Promise.resolve();
  private loaded: Promise<void> | undefined;
  private closed = false;
  private seq = 0;
  private storedLines = 0;

  constructor(private readonly options: DispatcherOptions = {}) {
    this.store =
      options.claimStore ??
      (options.claimsPath === undefined ? new MemoryClaimStore() : new JsonlClaimStore(options.claimsPath));
    this.retentionMs = options.claimRetentionMs ?? CLAIM_RETENTION_MS;
    this.maxClaims = options.maxClaims ?? MAX_CLAIMS;
    this.hookTimeoutMs = options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    this.injectionTimeoutMs = options.injectionTimeoutMs ?? DEFAULT_INJECTION_TIMEOUT_MS;
    this.clock = options.clock ?? systemClock;
  }

  /** Loads persisted claims (done by the first dispatch anyway). */
  ready(): Promise<void> {
    this.loaded ??= this.store.load().then((claims) => {
      for (const claim of claims) this.remember(claim);
      this.storedLines = claims.length;
      this.seq = claims.length;
    });
    return this.loaded;
  }

  /** The current claims, oldest first. */
  claimList(): ScheduleClaim[] {
    return [...this.claims.values()].sort((a, b) => a.dueTickMs - b.dueTickMs || (a.claimKey < b.claimKey ? -1 : 1));
  }

  /** True when `claimKey` is claimed. */
  hasClaim(claimKey: string): boolean {
    return this.claims.has(claimKey);
  }

  /** The last dispatched due tick of a schedule, if remembered. */
  lastDueTick(scheduleId: string): number | undefined {
    return this.lastDue.get(scheduleId.trim());
  }

  /**
   * Dispatches every enabled schedule that is due at or before `tickMs` and not yet dispatched
   * (at most one due tick per schedule per call; missed ticks are not back-filled). Throws the
   * validation errors of {@link compileSchedules}, `InvalidTickMs`, or `SchedulerStopped` after
   * {@link close}; hook and executor failures are recorded in the report instead.
   */
  dispatchTick(
    schedules: readonly (ScheduleDefinition | CompiledSchedule)[],
    tickMs: number,
  ): Promise<ScheduleDispatchReport> {
    if (this.closed)
      return Promise.reject(
        new SchedulingError('SchedulerStopped', 'dispatcher is closed; create a new one to dispatch'),
      );
    // Validate synchronously, so a bad request fails at once and never enters the queue.
    let compiled: CompiledSchedule[];
    let tick: number;
    try {
      tick = validateTickMs(tickMs);
      compiled = compileSchedules(schedules);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.queue.then(() => this.dispatchNow(compiled, tick));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * `mobkit/scheduling/dispatch` in one call: parses wire params `{schedules (≤ 256), tick_ms}`,
   * dispatches, and returns the wire report.
   */
  async dispatchRequest(params: unknown): Promise<ScheduleDispatchReportWire> {
    const request = parseScheduleRequest(params);
    return dispatchReportToWire(await this.dispatchTick(request.schedules, request.tickMs));
  }

  /** Waits for in-flight dispatches, then closes the claim store; later dispatches are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.store.close();
  }

  private emit(
    module: string,
    eventType: string,
    eventId: string,
    timestampMs: number,
    payload: Record<string, unknown>,
  ): void {
    this.options.emit?.({
      eventId,
      source: 'module',
      timestampMs,
      event: { kind: 'module', module, eventType, payload },
    });
  }

  private remember(claim: ScheduleClaim): void {
    this.claims.set(claim.claimKey, claim);
    const last = this.lastDue.get(claim.scheduleId);
    if (last === undefined || claim.dueTickMs > last) this.lastDue.set(claim.scheduleId, claim.dueTickMs);
  }

  private async prune(tick: number): Promise<void> {
    const horizon = tick - this.retentionMs;
    let removed = 0;
    for (const [key, claim] of this.claims) {
      if (claim.dueTickMs < horizon) {
        this.claims.delete(key);
        removed++;
      }
    }
    for (const [id, due] of this.lastDue) if (due < horizon) this.lastDue.delete(id);
    removed += this.cap();
    if (removed > 0 && this.store.compact !== undefined && this.storedLines > 2 * this.claims.size + 256) {
      await this.store.compact(this.claimList());
      this.storedLines = this.claims.size;
    }
  }

  /** Drops the oldest claims / last-due marks beyond the cap; returns how many claims went. */
  private cap(): number {
    let removed = 0;
    if (this.claims.size > this.maxClaims) {
      const oldest = this.claimList().slice(0, this.claims.size - this.maxClaims);
      for (const claim of oldest) this.claims.delete(claim.claimKey);
      removed = oldest.length;
    }
    if (this.lastDue.size > this.maxClaims) {
      const entries = [...this.lastDue.entries()].sort((a, b) => a[1] - b[1]);
      for (const [id] of entries.slice(0, this.lastDue.size - this.maxClaims)) this.lastDue.delete(id);
    }
    return removed;
  }

  private async dispatchNow(compiled: CompiledSchedule[], tick: number): Promise<ScheduleDispatchReport> {
    await this.ready();
    await this.prune(tick);
    const horizon = tick - this.retentionMs;
    const due: { schedule: CompiledSchedule; dueTickMs: number }[] = [];
    for (const schedule of compiled) {
      if (!schedule.enabled) continue;
      const dueTickMs = latestDueTick(schedule, tick);
      // A due tick older than the claim retention is never dispatched: its claim could already be pruned.
      if (dueTickMs === null || dueTickMs < 0 || dueTickMs < horizon) continue;
      const last = this.lastDue.get(schedule.scheduleId);
      if (last !== undefined && last >= dueTickMs && (schedule.catchUp || dueTickMs !== tick)) continue;
      due.push({ schedule, dueTickMs });
    }
    due.sort((a, b) =>
      compareTriggers(
        {
          scheduleId: a.schedule.scheduleId,
          interval: a.schedule.interval,
          timezone: a.schedule.timezone,
          dueTickMs: a.dueTickMs,
        },
        {
          scheduleId: b.schedule.scheduleId,
          interval: b.schedule.interval,
          timezone: b.schedule.timezone,
          dueTickMs: b.dueTickMs,
        },
      ),
    );
    const report: ScheduleDispatchReport = { tickMs: tick, dueCount: due.length, dispatched: [], skippedClaims: [] };
    const signal = this.options.supervisorSignal?.() ?? null;
    if (signal?.restartObserved) {
      this.emit('scheduling', 'supervisor.restart', `evt-scheduling-supervisor-${tick}-${this.seq++}`, tick, {
        ...supervisorSignalToWire(signal),
      });
    }
    for (const { schedule, dueTickMs } of due) {
      const claimKey = `${schedule.scheduleId}:${dueTickMs}`;
      if (this.claims.has(claimKey)) {
        report.skippedClaims.push(claimKey);
        continue;
      }
      const claim: ScheduleClaim = {
        claimKey,
        scheduleId: schedule.scheduleId,
        dueTickMs,
        tickMs: tick,
        claimedAtMs: this.clock.nowMs(),
      };
      // Durable before any side effect: a crash after this line never dispatches the tick twice.
      if (this.store.claim === undefined) await this.store.append(claim);
      else if (!(await this.store.claim(claim))) {
        // Claimed by another owner of a shared store (an earlier run, another replica): never twice.
        this.remember(claim);
        report.skippedClaims.push(claimKey);
        continue;
      }
      this.storedLines++;
      this.remember(claim);
      const seq = this.seq++;
      const eventId = `evt-schedule-${schedule.scheduleId}-${dueTickMs}-${seq}`;
      const args: SchedulingDispatchArgs = {
        schedule_id: schedule.scheduleId,
        interval: schedule.interval,
        timezone: schedule.timezone,
        due_tick_ms: dueTickMs,
        tick_ms: tick,
        claim_key: claimKey,
      };
      this.emit('scheduling', 'dispatch', eventId, tick, {
        schedule_id: args.schedule_id,
        interval: args.interval,
        timezone: args.timezone,
        tick_ms: tick,
        due_tick_ms: dueTickMs,
        claim_key: claimKey,
        supervisor_signal: signal === null ? null : supervisorSignalToWire(signal),
      });
      const entry: DispatchedSchedule = {
        claimKey,
        scheduleId: schedule.scheduleId,
        interval: schedule.interval,
        timezone: schedule.timezone,
        dueTickMs,
        tickMs: tick,
        eventId,
        supervisorSignal: signal,
      };
      report.dispatched.push(entry);
      await this.runHook(entry, args, tick);
    }
    this.cap(); // once per tick: capping sorts every claim
    return report;
  }

  private async runHook(entry: DispatchedSchedule, args: SchedulingDispatchArgs, tick: number): Promise<void> {
    const hook = this.options.hook;
    if (hook === undefined) return;
    const seq = this.seq++;
    let injection: RuntimeInjection | null;
    try {
      const answer = await withTimeout(
        this.clock,
        'scheduling dispatch hook',
        this.hookTimeoutMs,
        (signal) => hook(args, { signal }) as Promise<unknown>,
      );
      injection = parseRuntimeInjection(answer);
    } catch (error) {
      entry.runtimeInjectionError = message(error);
      this.emit('runtime', 'runtime.injection.failed', `evt-runtime-injection-failed-${tick}-${seq}`, tick, {
        schedule_id: entry.scheduleId,
        claim_key: entry.claimKey,
        error: entry.runtimeInjectionError,
      });
      return;
    }
    if (injection === null) return;
    const injectionEventId = `evt-runtime-injection-${tick}-${seq}`;
    entry.runtimeInjection = { memberId: injection.memberId, message: injection.message, injectionEventId };
    const base = {
      schedule_id: entry.scheduleId,
      claim_key: entry.claimKey,
      member_id: injection.memberId,
      message: injection.message,
    };
    this.emit('runtime', 'injection.dispatch', injectionEventId, tick, base);
    const execute = this.options.executeInjection;
    if (execute === undefined) return;
    try {
      const result = await withTimeout(this.clock, 'mob injection', this.injectionTimeoutMs, () =>
        execute({ ...injection, scheduleId: entry.scheduleId, claimKey: entry.claimKey, injectionEventId }),
      );
      const sessionId = result?.sessionId;
      if (sessionId !== undefined) entry.runtimeInjection.sessionId = sessionId;
      this.emit('runtime', 'runtime.injection.executed', `${injectionEventId}-executed`, tick, {
        ...base,
        session_id: sessionId ?? null,
      });
    } catch (error) {
      entry.runtimeInjectionError = `mob injection failed: ${message(error)}`;
      this.emit('runtime', 'runtime.injection.failed', `${injectionEventId}-failed`, tick, {
        ...base,
        error_kind: 'mob_runtime',
        error: entry.runtimeInjectionError,
      });
    }
  }
}
