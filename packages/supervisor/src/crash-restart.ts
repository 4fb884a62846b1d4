import {
  type Clock,
  type EventEnvelope,
  type MobKitError,
  type ModuleHealthState,
  type ModuleHealthTransition,
  type RuntimeOptions,
  normalizeEventLine,
  toMobKitError,
} from '@mobkit/core';
import { SupervisorError, moduleError } from './errors.js';
import type { EventLog } from './event-log.js';
import { failureCause, givenUpError, whyGivenUp } from './failure-cause.js';
import type { ModuleLauncher } from './launcher.js';
import { describeExit } from './module-process.js';
import type { Instance, Slot, Started } from './module-table.js';
import type { ExitInfo } from './spawner.js';
import { type CrashBackoff, crashRestartDelay, restartBudget } from './supervise.js';

/** Invalid stdout lines warned about per process; later ones are dropped silently. */
const MAX_INVALID_LINE_WARNINGS = 5;

/** How long a crashed module's pipes may take to close, so its last stderr lines are in the ring before they are quoted. */
const STDERR_DRAIN_MS = 300;

/** The budgets and backoff of crash restarts after ready. */
type CrashRestartOptions = Pick<
  RuntimeOptions,
  'onFailureRetryBudget' | 'alwaysRestartBudget' | 'supervisorRestartBackoffMs'
> & {
  restartBackoffMultiplier: number;
  restartBackoffMinMs: number;
  restartBackoffMaxMs: number;
  restartStableMs: number;
};

/** What the monitor needs from the runtime it works for. */
export interface MonitorHost {
  clock: Clock;
  options: CrashRestartOptions;
  log: EventLog;
  launcher: ModuleLauncher;
  /** Aborted when the runtime shuts down: pending backoffs end and nothing is restarted any more. */
  stopSignal: AbortSignal;
  /** Records a transition (and the slot's state); with `asEvent` also as a `supervisor.health` event. */
  record(transition: ModuleHealthTransition, asEvent: boolean, extra?: Record<string, unknown>): void;
  /** Runs `fn` after every mutation queued before it (starts, replacements, shutdown). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Makes a started instance the module's live one (and watches it). */
  install(slot: Slot, started: Started): void;
}

/**
 * Monitoring after ready: a loaded module's later stdout lines become events (invalid ones a
 * bounded number of warnings), and its exit is a crash handled under its restart policy, with
 * the crash streak's budget and a backoff that grows ×`restartBackoffMultiplier` per restart.
 */
export class ModuleMonitor {
  constructor(private readonly host: MonitorHost) {}

  /** Watches a freshly installed instance: its stdout lines (JSON-line modules) and its exit. */
  watch(slot: Slot, instance: Instance): void {
    if (!slot.isMcp) {
      instance.proc.onLines(
        (line) => this.onModuleLine(slot, instance, line),
        (head, limitBytes) =>
          this.onInvalidLine(
            slot,
            instance,
            `a stdout line longer than ${limitBytes} bytes was dropped; it starts ${JSON.stringify(head)}`,
          ),
      );
    }
    void instance.proc.exited.then((info) => this.onExit(slot, instance, info));
  }

  private get stopping(): boolean {
    return this.host.stopSignal.aborted;
  }

  private onModuleLine(slot: Slot, instance: Instance, line: string): void {
    if (instance.retired || line.trim() === '') return;
    let event: EventEnvelope;
    try {
      event = normalizeEventLine(line);
    } catch (raw) {
      this.onInvalidLine(slot, instance, toMobKitError(raw).message);
      return;
    }
    this.host.log.add(event);
  }

  private onInvalidLine(slot: Slot, instance: Instance, message: string): void {
    instance.invalidLines += 1;
    if (instance.invalidLines > MAX_INVALID_LINE_WARNINGS) return;
    const suffix =
      instance.invalidLines === MAX_INVALID_LINE_WARNINGS
        ? ' (further invalid lines from this process are dropped without a warning)'
        : '';
    this.host.log.warn(
      slot.id,
      new SupervisorError(
        'InvalidModuleOutput',
        `module "${slot.id}" wrote an invalid event line: ${message}${suffix}`,
        {
          details: { moduleId: slot.id },
        },
      ),
    );
  }

  private onExit(slot: Slot, instance: Instance, info: ExitInfo): void {
    if (instance.retired || this.stopping || slot.instance !== instance) return;
    instance.retired = true;
    void this.handleCrash(slot, instance, info).catch(() => undefined);
  }

  /** A loaded module died: `Healthy → Failed → Restarting → Healthy` under its policy, with growing backoff. */
  private async handleCrash(slot: Slot, instance: Instance, info: ExitInfo): Promise<void> {
    const { host } = this;
    const generation = slot.generation;
    slot.instance = undefined;
    await host.launcher.reap(instance); // its own children go with it
    await instance.proc.drained(STDERR_DRAIN_MS); // so its last stderr lines are quoted
    const reason = describeExit(info);
    const clean = info.exitCode === 0 && !info.signal;
    const policy = slot.config.restartPolicy;
    const restart = policy === 'always' || (policy === 'on_failure' && !clean);
    const budget = restartBudget(policy, host.options);
    if (host.clock.nowMs() - slot.healthySince >= host.options.restartStableMs) slot.crashStreak = 0;
    let attempt = slot.attempts;
    let from: ModuleHealthState = 'Healthy';
    let lastError: MobKitError = moduleError(
      'ModuleUnavailable',
      slot.id,
      `module "${slot.id}" exited after it was ready (${reason})`,
      { exit: info },
      slot.ring,
    );
    if (!clean) {
      host.record({ moduleId: slot.id, from, to: 'Failed', attempt }, true, { reason, ...failureCause(lastError) });
      from = 'Failed';
    }
    for (;;) {
      if (this.stopping || slot.generation !== generation) return;
      if (!restart || slot.crashStreak >= budget) {
        host.record({ moduleId: slot.id, from, to: 'Stopped', attempt }, true, { reason, ...failureCause(lastError) });
        slot.loaded = false;
        if (!clean || restart) {
          const why = restart ? whyGivenUp(policy, budget) : `its restart policy is ${policy}`;
          host.log.warn(slot.id, givenUpError(slot.id, `module "${slot.id}" stopped`, why, lastError));
        }
        return;
      }
      const delay = crashRestartDelay(slot.crashStreak, this.backoff());
      slot.crashStreak += 1;
      slot.restarts += 1;
      host.record({ moduleId: slot.id, from, to: 'Restarting', attempt }, true, {
        reason,
        restart: slot.restarts,
        delay_ms: delay,
        ...failureCause(lastError),
      });
      if (!(await this.backoffWait(delay))) return;
      const result = await host.locked(() => this.restartOnce(slot, generation));
      if (result === 'done') return;
      lastError = result;
      attempt = slot.attempts;
      host.record({ moduleId: slot.id, from: 'Restarting', to: 'Failed', attempt }, true, {
        reason: result.message,
        ...failureCause(result),
      });
      from = 'Failed';
    }
  }

  /** One restart attempt under the runtime's lock: `'done'` (healthy again, or no longer wanted) or why it failed. */
  private async restartOnce(slot: Slot, generation: number): Promise<'done' | MobKitError> {
    if (this.stopping || slot.generation !== generation) return 'done';
    const attempt = slot.attempts + 1;
    slot.attempts = attempt;
    let started: Started;
    try {
      started = await this.host.launcher.start(slot, attempt, slot.timeoutMs);
    } catch (raw) {
      return toMobKitError(raw);
    }
    if (this.stopping || slot.generation !== generation) {
      await this.host.launcher.discard(started.instance);
      return 'done';
    }
    this.host.record({ moduleId: slot.id, from: 'Restarting', to: 'Healthy', attempt }, true);
    this.host.install(slot, started);
    return 'done';
  }

  /** Sleeps the backoff on the runtime's clock; false when shutdown cut it short. */
  private async backoffWait(ms: number): Promise<boolean> {
    if (ms <= 0) return !this.stopping;
    try {
      await this.host.clock.sleep(ms, this.host.stopSignal);
      return true;
    } catch {
      return false;
    }
  }

  private backoff(): CrashBackoff {
    const { options } = this.host;
    return {
      baseMs: options.supervisorRestartBackoffMs,
      minMs: options.restartBackoffMinMs,
      multiplier: options.restartBackoffMultiplier,
      maxMs: options.restartBackoffMaxMs,
    };
  }
}
