import {
  type Clock,
  type EventEnvelope,
  type LifecycleEvent,
  type LifecycleStage,
  type MobKitError,
  type ModuleHealthTransition,
  insertEventSorted,
  sequenceId,
} from '@mobkit/core';
import { failureCause } from './failure-cause.js';
import type { ModuleEventListener } from './module-runtime.js';

/** How many generated event ids are remembered for de-duplication before the memory is cleared. */
const MAX_REMEMBERED_IDS = 10_000;

/**
 * What a module runtime records: its lifecycle stages, every health transition, and the merged
 * event stream (module events, agent events and the supervisor's own `supervisor.health`,
 * `supervisor.start_failed`, `supervisor.warning` and `mcp.ready` events), kept ordered by `(timestampMs, eventId, source)`,
 * bounded to the newest `maxEvents`, and fanned out to subscribers.
 */
export class EventLog {
  private readonly lifecycle: LifecycleEvent[] = [];
  private readonly transitions: ModuleHealthTransition[] = [];
  private deferred: Map<string, ModuleHealthTransition[]> | undefined;
  private readonly events: EventEnvelope[] = [];
  private readonly listeners = new Set<ModuleEventListener>();
  private readonly usedEventIds = new Map<string, number>();
  private healthSeq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxEvents: number,
  ) {}

  /** Records that the runtime reached `stage`. */
  stage(stage: LifecycleStage): void {
    this.lifecycle.push({ seq: this.lifecycle.length, stage });
  }

  /** Copies of the lifecycle stages reached. */
  lifecycleEvents(): LifecycleEvent[] {
    return this.lifecycle.map((e) => ({ ...e }));
  }

  /** Copies of every health transition so far, in order. */
  healthTransitions(): ModuleHealthTransition[] {
    return this.transitions.map((t) => ({ ...t }));
  }

  /**
   * While modules start concurrently, keeps each one's transitions apart, so that
   * {@link appendDeferred} can add them in discovery order, module by module.
   */
  deferTransitions(moduleIds: readonly string[]): void {
    this.deferred = new Map(moduleIds.map((id) => [id, []]));
  }

  /** Ends {@link deferTransitions}: appends the kept transitions in the order of `moduleIds`. */
  appendDeferred(moduleIds: readonly string[]): void {
    const deferred = this.deferred;
    this.deferred = undefined;
    if (deferred) for (const id of moduleIds) this.transitions.push(...(deferred.get(id) ?? []));
  }

  /**
   * Records a health transition; with `asEvent`, also as a `supervisor.health` module event
   * (`{ module_id, from, to, attempt, ...extra }`).
   */
  record(transition: ModuleHealthTransition, asEvent: boolean, extra: Record<string, unknown> = {}): void {
    const buffer = this.deferred?.get(transition.moduleId);
    if (buffer) buffer.push(transition);
    else this.transitions.push(transition);
    if (!asEvent) return;
    const ts = this.clock.nowMs();
    this.healthSeq += 1;
    this.add({
      eventId: sequenceId(`evt-supervisor-health-${transition.moduleId}-${ts}`, this.healthSeq),
      source: 'module',
      timestampMs: ts,
      event: {
        kind: 'module',
        module: transition.moduleId,
        eventType: 'supervisor.health',
        payload: {
          module_id: transition.moduleId,
          from: transition.from,
          to: transition.to,
          attempt: transition.attempt,
          ...extra,
        },
      },
    });
  }

  /**
   * Adds a `supervisor.warning` event about module `moduleId`: `{ module_id, code, error, exit_code,
   * signal, stderr }` (see {@link failureCause}).
   */
  warn(moduleId: string, error: MobKitError): void {
    this.addSupervisorEvent(moduleId, 'supervisor.warning', { module_id: moduleId, ...failureCause(error) });
  }

  /**
   * Adds a `supervisor.start_failed` event: start attempt `attempt` of module `moduleId` failed
   * (`{ module_id, attempt, will_retry, code, error, exit_code, signal, stderr }`).
   */
  startFailed(moduleId: string, attempt: number, error: MobKitError, willRetry: boolean): void {
    this.addSupervisorEvent(moduleId, 'supervisor.start_failed', {
      module_id: moduleId,
      attempt,
      will_retry: willRetry,
      ...failureCause(error),
    });
  }

  private addSupervisorEvent(moduleId: string, eventType: string, payload: Record<string, unknown>): void {
    const ts = this.clock.nowMs();
    const kind = eventType.replace(/^supervisor\./, '').replaceAll('_', '-');
    this.add({
      eventId: this.uniqueId(`evt-supervisor-${kind}-${moduleId}-${ts}`),
      source: 'module',
      timestampMs: ts,
      event: { kind: 'module', module: moduleId, eventType, payload },
    });
  }

  /** The `mcp.ready` event of an MCP module (added when the module is installed). */
  mcpReadyEvent(moduleId: string, tools: readonly string[]): EventEnvelope {
    const ts = this.clock.nowMs();
    return {
      eventId: this.uniqueId(`evt-mcp-ready-${moduleId}-${ts}`),
      source: 'module',
      timestampMs: ts,
      event: { kind: 'module', module: moduleId, eventType: 'mcp.ready', payload: { tools: [...tools] } },
    };
  }

  /** Adds an event to the merged stream (the oldest falls out past the bound) and hands it to every subscriber. */
  add(event: EventEnvelope): void {
    insertEventSorted(this.events, event);
    if (this.events.length > this.maxEvents) this.events.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure never reaches the supervisor
      }
    }
  }

  /** A copy of the merged stream. */
  mergedEvents(): EventEnvelope[] {
    return [...this.events];
  }

  /** Calls `listener` with every event added from now on; returns an unsubscribe function. */
  subscribe(listener: ModuleEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private uniqueId(base: string): string {
    const n = this.usedEventIds.get(base) ?? 0;
    this.usedEventIds.set(base, n + 1);
    if (this.usedEventIds.size > MAX_REMEMBERED_IDS) this.usedEventIds.clear();
    return n === 0 ? base : `${base}-${n}`;
  }
}
