import {
  type Clock,
  type EventEnvelope,
  MobKitError,
  type MobKitStore,
  type UnifiedEvent,
  toMobKitError,
} from '@mobkit/core';
import {
  Dispatcher,
  Scheduler,
  type SchedulerOptions,
  type ScheduleDefinition,
  type ScheduleDispatchReport,
  type ScheduleEvaluation,
  StoreClaimStore,
  type SupervisorSignal,
  evaluateSchedulesAtTick,
  parseScheduleRequest,
  toolDispatchHook,
} from '@mobkit/scheduling';
import type { ModuleRuntime } from '@mobkit/supervisor';
import type { EventHub } from './events.js';
import type { MobHandle } from './mob.js';

/** A schedule (`{ scheduleId, interval, timezone, enabled, jitterMs, catchUp }`). */
export type ScheduleInput = ScheduleDefinition;
/** What `dispatchScheduleTick` reports. */
export type RuntimeDispatchReport = ScheduleDispatchReport;

/** Parses `{schedules, tick_ms}` params, `-32602` naming the field on bad input. */
export function parseScheduleParams(
  params: unknown,
  method: string,
): { schedules: ScheduleDefinition[]; tickMs: number } {
  try {
    return parseScheduleRequest(params ?? {});
  } catch (error) {
    const e = toMobKitError(error);
    throw new MobKitError(
      e.code === 'InvalidSchema' || e.code === 'MissingField' || e.code === 'InvalidFieldType'
        ? 'RpcInvalidParams'
        : e.code,
      `Invalid params: ${e.message}`,
      {
        cause: e,
        details: { method, ...e.details },
      },
    );
  }
}

/**
 * Wires the {@link Dispatcher} into the unified runtime: the `scheduling` module (when loaded, over
 * MCP) decides each dispatch's `runtime_injection`, which is sent to the member through the mob;
 * every event goes into the merged stream. With the runtime's `store`, due-tick claims are taken on
 * its claims port ({@link StoreClaimStore}) before any injection, so a restarted runtime never
 * injects a claimed tick twice; without one they live in memory, as before.
 */
export class SchedulingBridge {
  private readonly dispatcher: Dispatcher;
  private readonly schedulers = new Set<Scheduler>();

  constructor(
    private readonly deps: {
      modules: ModuleRuntime;
      mob: MobHandle;
      hub: EventHub;
      clock: Clock;
      timeoutMs: number;
      /** The runtime's durable store: claims are taken on it (the runtime closes it). */
      store?: MobKitStore;
    },
  ) {
    const moduleHook = toolDispatchHook(async (tool, args) => {
      const result = await deps.modules.callTool('scheduling', tool, { ...args }, deps.timeoutMs);
      return result.payload;
    });
    this.dispatcher = new Dispatcher({
      hook: (args, context) => (deps.modules.loadedModules().includes('scheduling') ? moduleHook(args, context) : null),
      executeInjection: async (injection) => ({
        sessionId: await deps.mob.sendMessage(injection.memberId, injection.message),
      }),
      emit: (event) => deps.hub.publish(event as EventEnvelope<UnifiedEvent>),
      supervisorSignal: () => this.supervisorSignal(),
      clock: deps.clock,
      ...(deps.store === undefined ? {} : { claimStore: new StoreClaimStore(deps.store) }),
    });
  }

  private supervisorSignal(): SupervisorSignal | null {
    const transitions = this.deps.modules.healthTransitions().filter((t) => t.moduleId === 'scheduling');
    const latest = transitions.at(-1);
    if (!latest) return null;
    return {
      moduleId: 'scheduling',
      latestState: latest.to,
      latestAttempt: latest.attempt,
      restartObserved: transitions.some((t) => t.to === 'Restarting'),
    };
  }

  evaluate(schedules: ScheduleDefinition[], tickMs: number): ScheduleEvaluation {
    return evaluateSchedulesAtTick(schedules, tickMs);
  }

  dispatch(schedules: ScheduleDefinition[], tickMs: number): Promise<ScheduleDispatchReport> {
    return this.dispatcher.dispatchTick(schedules, tickMs);
  }

  /**
   * A live scheduler firing through this runtime's dispatcher (so claims, events and injections are
   * the runtime's). Started at once; stopped by `close()`.
   */
  startScheduler(
    schedules: readonly ScheduleDefinition[],
    options: Omit<SchedulerOptions, 'schedules' | 'dispatcher' | 'dispatcherOptions'> = {},
  ): Scheduler {
    const scheduler = new Scheduler({ ...options, schedules, dispatcher: this.dispatcher });
    this.schedulers.add(scheduler);
    scheduler.start();
    return scheduler;
  }

  async close(): Promise<void> {
    await Promise.all([...this.schedulers].map((scheduler) => scheduler.stop()));
    this.schedulers.clear();
    await this.dispatcher.close();
  }
}
