import {
  type AgentEventPayload,
  type EventEnvelope,
  type UnifiedEvent,
  compareEvents,
  insertEventSorted,
} from '@mobkit/core';

/**
 * A listener of the runtime's merged event stream. An agent event's envelope carries no payload;
 * when the event came from the mob, `agentPayload` is it (the event log stores it).
 */
export type UnifiedEventListener = (event: EventEnvelope<UnifiedEvent>, agentPayload?: AgentEventPayload) => void;

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** Most events kept for `events()` (oldest dropped first). Default 10,000. */
  capacity?: number;
}

/**
 * The runtime's merged stream: agent and module events kept in `(timestamp_ms, event_id, source)`
 * order in a bounded log, and fanned out live to subscribers. A throwing subscriber is isolated:
 * it can never break the runtime or other subscribers.
 */
export class EventHub {
  private readonly log: EventEnvelope<UnifiedEvent>[] = [];
  private readonly listeners = new Set<UnifiedEventListener>();
  private readonly capacity: number;

  constructor(options: EventHubOptions = {}) {
    this.capacity = Math.max(1, options.capacity ?? 10_000);
  }

  /** Adds an event at its place in the order and tells every subscriber (with an agent event's payload, if given). */
  publish(event: EventEnvelope<UnifiedEvent>, agentPayload?: AgentEventPayload): void {
    const last = this.log.at(-1);
    if (last === undefined || compareEvents(last, event) <= 0) this.log.push(event);
    else insertEventSorted(this.log, event);
    if (this.log.length > this.capacity) this.log.splice(0, this.log.length - this.capacity);
    for (const listener of [...this.listeners]) {
      try {
        listener(event, agentPayload);
      } catch {
        // A subscriber's failure is its own; the stream goes on.
      }
    }
  }

  /** Timestamp of the latest retained event (0 when none): subsystems never stamp an event before it. */
  latestTimestampMs(): number {
    return this.log.at(-1)?.timestampMs ?? 0;
  }

  /** A copy of the retained events, in order. */
  events(): EventEnvelope<UnifiedEvent>[] {
    return [...this.log];
  }

  /** Subscribes to live events; returns the unsubscribe function. */
  subscribe(listener: UnifiedEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Drops every subscriber. */
  close(): void {
    this.listeners.clear();
  }
}
