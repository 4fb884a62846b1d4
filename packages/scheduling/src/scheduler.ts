import { systemClock, type Clock } from '@mobkit/core';
import { loadSchedulesToml } from './config.js';
import {
  type CompiledSchedule,
  type ScheduleDefinition,
  compileSchedule,
  compileSchedules,
  withScheduleDefaults,
} from './definition.js';
import { Dispatcher, type DispatcherOptions } from './dispatch.js';
import { SchedulingError } from './errors.js';
import { latestDueTick, nextDueTick } from './evaluate.js';
import type { ScheduleDispatchReport } from './report.js';

/** One wake-up of the live scheduler that dispatched something. */
export interface SchedulerFire {
  /** The dispatch report (tick = the wake-up time). */
  report: ScheduleDispatchReport;
  /** Clock time at the wake-up. */
  wokeAtMs: number;
  /** Per dispatched schedule: wake-up time − due time (ms). */
  latenessMs: number[];
}

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /** Initial schedules (validated at construction). */
  schedules?: readonly ScheduleDefinition[];
  /** A dispatcher to use (the scheduler will not close it); default: one built from `dispatcherOptions`. */
  dispatcher?: Dispatcher;
  /** Options for the dispatcher the scheduler builds (hook, executor, emit, claimsPath…). */
  dispatcherOptions?: DispatcherOptions;
  /**
   * The time seam: the scheduler reads the time and waits with `clock.sleep(ms, signal)` (default
   * the system clock). Tests pass core's `ManualClock`, whose sleeps wake as it advances.
   */
  clock?: Clock;
  /** Longest single sleep, so a forward clock jump is noticed (default 60 000 ms). */
  maxSleepMs?: number;
  /** Called after every wake-up that dispatched or skipped something. */
  onFire?: (fire: SchedulerFire) => void;
  /** Called when a dispatch fails (e.g. the claim log cannot be written); the scheduler retries in 1 s. */
  onError?: (error: unknown) => void;
}

/** Lifecycle state of a {@link Scheduler}. */
export type SchedulerState = 'idle' | 'running' | 'paused' | 'stopped';

/** The longest delay `setTimeout` honours (2^31 − 1 ms); longer sleeps are capped to it. */
const MAX_TIMER_MS = 2_147_483_647;
const RETRY_MS = 1_000;

/**
 * A live scheduler: holds schedules, sleeps **once** on its clock until the earliest next due time
 * (no fixed polling), dispatches through a {@link Dispatcher} when it wakes, and re-arms. It sleeps at most
 * `maxSleepMs`, so a wall-clock jump forward is noticed within that time and the missed due ticks
 * fire once (coalesced); a jump backward fires nothing twice (claims). Schedules without catch-up
 * fire only for due times while running; with `catchUp` the latest missed due time (within 24 h)
 * fires once on start/resume.
 */
export class Scheduler {
  private readonly schedules = new Map<string, CompiledSchedule>();
  private readonly nextDue = new Map<string, number | null>();
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly maxSleepMs: number;
  /** Aborts the current sleep; `undefined` while not sleeping. */
  private sleeping: AbortController | undefined;
  private inFlight: Promise<void> | undefined;
  private currentState: SchedulerState = 'idle';
  private lastWakeMs: number | undefined;
  private catchUpPending = false;
  private retryAtMs: number | undefined;

  constructor(private readonly options: SchedulerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxSleepMs = Math.max(1, Math.min(options.maxSleepMs ?? 60_000, MAX_TIMER_MS));
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Dispatcher({ clock: this.clock, ...options.dispatcherOptions });
    for (const s of compileSchedules(options.schedules ?? [])) this.schedules.set(s.scheduleId, s);
  }

  /** Builds a scheduler from a `schedules.toml` file (see `loadSchedulesToml`). */
  static fromToml(path: string, options: Omit<SchedulerOptions, 'schedules'> = {}): Scheduler {
    return new Scheduler({ ...options, schedules: loadSchedulesToml(path) });
  }

  /** `idle` (not started), `running`, `paused` or `stopped`. */
  get state(): SchedulerState {
    return this.currentState;
  }

  /** The dispatcher (claims, last due ticks). */
  get dispatch(): Dispatcher {
    return this.dispatcher;
  }

  /** The schedules, in insertion order, with defaults applied. */
  list(): Required<ScheduleDefinition>[] {
    return [...this.schedules.values()].map(withScheduleDefaults);
  }

  /** The earliest armed due time, or `null` when nothing will fire. */
  nextDeadline(): { scheduleId: string; dueTickMs: number } | null {
    let best: { scheduleId: string; dueTickMs: number } | null = null;
    for (const [scheduleId, due] of this.nextDue) {
      if (due !== null && (best === null || due < best.dueTickMs)) best = { scheduleId, dueTickMs: due };
    }
    return best;
  }

  /** Starts firing (idempotent while running). With catch-up schedules, fires their latest missed due time at once. */
  start(): void {
    this.assertNotStopped();
    if (this.currentState === 'running') return;
    this.activate();
  }

  /** Stops firing until {@link resume}; nothing due meanwhile fires later unless the schedule has `catchUp`. */
  pause(): void {
    this.assertNotStopped();
    if (this.currentState !== 'running') return;
    this.currentState = 'paused';
    this.disarm();
  }

  /** Resumes after {@link pause} (same as {@link start}). */
  resume(): void {
    this.start();
  }

  /** Adds or replaces (by trimmed id) one schedule; re-arms. Returns the validated schedule. */
  upsert(schedule: ScheduleDefinition): Required<ScheduleDefinition> {
    this.assertNotStopped();
    const compiled = compileSchedule(schedule);
    this.schedules.set(compiled.scheduleId, compiled);
    if (this.currentState === 'running') {
      this.nextDue.set(compiled.scheduleId, this.firstDue(compiled, this.clock.nowMs()));
      this.arm();
    }
    return withScheduleDefaults(compiled);
  }

  /** Replaces every schedule (e.g. after re-reading schedules.toml); validated as one list. */
  replaceAll(schedules: readonly ScheduleDefinition[]): void {
    this.assertNotStopped();
    const compiled = compileSchedules(schedules);
    this.schedules.clear();
    this.nextDue.clear();
    const now = this.clock.nowMs();
    for (const s of compiled) {
      this.schedules.set(s.scheduleId, s);
      if (this.currentState === 'running') this.nextDue.set(s.scheduleId, this.firstDue(s, now));
    }
    if (this.currentState === 'running') this.arm();
  }

  /** Removes a schedule by id; `ScheduleNotFound` when there is none. */
  remove(scheduleId: string): void {
    this.assertNotStopped();
    const id = scheduleId.trim();
    if (!this.schedules.delete(id)) {
      throw new SchedulingError(
        'ScheduleNotFound',
        `no schedule with schedule_id '${id}'; list() shows the registered ones`,
        {
          details: { schedule_id: id },
        },
      );
    }
    this.nextDue.delete(id);
    if (this.currentState === 'running') this.arm();
  }

  /** Stops for good: ends the sleep, waits for an in-flight dispatch, closes its own dispatcher. */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.currentState = 'stopped';
    this.disarm();
    await this.inFlight;
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private assertNotStopped(): void {
    if (this.currentState === 'stopped')
      throw new SchedulingError('SchedulerStopped', 'scheduler is stopped; create a new one');
  }

  /** First due time ≥ `nowMs` (a due time exactly now still fires). */
  private firstDue(schedule: CompiledSchedule, nowMs: number): number | null {
    return schedule.enabled ? nextDueTick(schedule, nowMs - 1) : null;
  }

  private activate(): void {
    this.currentState = 'running';
    const now = this.clock.nowMs();
    this.lastWakeMs = now;
    this.recomputeAll(now);
    this.catchUpPending = [...this.schedules.values()].some((s) => s.enabled && s.catchUp);
    this.arm();
  }

  private recomputeAll(now: number): void {
    this.nextDue.clear();
    for (const s of this.schedules.values()) this.nextDue.set(s.scheduleId, this.firstDue(s, now));
  }

  private disarm(): void {
    this.sleeping?.abort();
    this.sleeping = undefined;
  }

  private arm(): void {
    this.disarm();
    if (this.currentState !== 'running' || this.inFlight !== undefined) return;
    const now = this.clock.nowMs();
    let target = this.catchUpPending ? now : (this.nextDeadline()?.dueTickMs ?? null);
    if (this.retryAtMs !== undefined) target = target === null ? this.retryAtMs : Math.max(target, this.retryAtMs);
    if (target === null) return;
    const delay = Math.max(0, Math.min(target - now, this.maxSleepMs));
    const sleeping = new AbortController();
    this.sleeping = sleeping;
    this.clock.sleep(delay, sleeping.signal).then(
      () => this.wake(sleeping),
      () => undefined, // aborted by disarm(): a newer sleep (or none) replaces this one
    );
  }

  private wake(sleeping: AbortController): void {
    if (this.sleeping !== sleeping) return;
    this.sleeping = undefined;
    if (this.currentState !== 'running' || this.inFlight !== undefined) return;
    this.inFlight = this.fire().finally(() => {
      this.inFlight = undefined;
      this.arm();
    });
  }

  private async fire(): Promise<void> {
    const now = this.clock.nowMs();
    if (this.lastWakeMs !== undefined && now < this.lastWakeMs) this.recomputeAll(now); // clock moved back
    this.lastWakeMs = now;
    if (this.retryAtMs !== undefined && now < this.retryAtMs) return;
    this.retryAtMs = undefined;
    const due: CompiledSchedule[] = [];
    for (const s of this.schedules.values()) {
      if (!s.enabled) continue;
      const next = this.nextDue.get(s.scheduleId);
      if (next !== null && next !== undefined && next <= now) due.push(s);
      else if (this.catchUpPending && s.catchUp) {
        const latest = latestDueTick(s, now);
        if (latest !== null) due.push(s);
      }
    }
    this.catchUpPending = false;
    if (due.length === 0) return;
    let report: ScheduleDispatchReport;
    try {
      report = await this.dispatcher.dispatchTick(due, now);
    } catch (error) {
      this.retryAtMs = this.clock.nowMs() + RETRY_MS;
      this.options.onError?.(error);
      return;
    }
    // Next due strictly after this wake-up; one that passed during a slow hook fires (coalesced) at once.
    for (const s of due)
      if (this.schedules.get(s.scheduleId) === s) this.nextDue.set(s.scheduleId, this.firstDue(s, now + 1));
    if (report.dispatched.length > 0 || report.skippedClaims.length > 0) {
      this.options.onFire?.({ report, wokeAtMs: now, latenessMs: report.dispatched.map((d) => now - d.dueTickMs) });
    }
  }
}
