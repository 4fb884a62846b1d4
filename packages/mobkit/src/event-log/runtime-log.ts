import { randomUUID } from 'node:crypto';
import type {
  AgentEventPayload,
  Clock,
  EventEnvelope,
  EventLogBounds,
  LifecycleEvent,
  MobKitStore,
  StoreInfo,
  UnifiedEvent,
} from '@mobkit/core';
import { type PersistedEvent, draftFromEnvelope, draftFromLifecycle, persistedEvent } from './entries.js';
import { type EventQuery, toLogQuery } from './query.js';
import { type EventRetention, RetentionTask } from './retention.js';
import { EventLogWriter, type EventLogWriterStatus } from './writer.js';

/** Options of {@link RuntimeEventLog}. */
export interface RuntimeEventLogOptions {
  store: MobKitStore;
  clock: Clock;
  retention: EventRetention;
  /** The log's bounds when the runtime started (its `lastSeq` is where new seqs continue). */
  bounds: EventLogBounds;
  /** An append failed (it is retried) or a background prune failed. */
  onFailure: (what: 'flush' | 'retention', error: Error) => void;
  /** Writer bounds (tests). */
  batchSize?: number;
  queueCapacity?: number;
}

/** A listener of the log: each event with its seq, after it was appended, in seq order. */
export type PersistedEventListener = (event: PersistedEvent) => void;

/**
 * The runtime's operational event log over a store's `events` port: what the runtime records (every
 * merged-stream event with an agent event's payload, and the lifecycle stages), queries, live
 * listeners of acknowledged events, background retention, and a flush before the store closes.
 */
export class RuntimeEventLog {
  private readonly store: MobKitStore;
  private readonly clock: Clock;
  private readonly writer: EventLogWriter;
  private readonly retention: RetentionTask;
  private readonly runId: string;
  private lifecycleLogged = 0;

  constructor(options: RuntimeEventLogOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.writer = new EventLogWriter({
      log: options.store.events,
      clock: options.clock,
      lastSeq: options.bounds.lastSeq,
      onFlushFailure: (error) => options.onFailure('flush', error),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.queueCapacity === undefined ? {} : { queueCapacity: options.queueCapacity }),
    });
    this.runId = randomUUID().slice(0, 8);
    this.retention = new RetentionTask(options.store.events, options.retention, options.clock, (error) =>
      options.onFailure('retention', error),
    );
    this.retention.start();
  }

  /** The store the log lives in. */
  get storeInfo(): StoreInfo {
    return this.store.info;
  }

  /** Records a merged-stream event; an agent event's payload goes with it. False when it was dropped (counted). */
  record(envelope: EventEnvelope<UnifiedEvent>, agentPayload?: AgentEventPayload): boolean {
    return this.writer.enqueue(draftFromEnvelope(envelope, agentPayload));
  }

  /** Records the lifecycle stages of `stages` not recorded yet (they only grow). */
  recordLifecycle(stages: readonly LifecycleEvent[]): void {
    const now = this.clock.nowMs();
    for (const stage of stages.slice(this.lifecycleLogged))
      this.writer.enqueue(draftFromLifecycle(stage, this.runId, now));
    this.lifecycleLogged = Math.max(this.lifecycleLogged, stages.length);
  }

  /** Events matching `query` from the store, oldest first (checked: `limit` 1..1,000, default 100). */
  async query(query: EventQuery = {}): Promise<PersistedEvent[]> {
    const entries = await this.store.events.query(toLogQuery(query));
    return entries.map(persistedEvent);
  }

  /** The newest events of `query` (at most `limit`), newest first; unchecked, for the runtime's own readers. */
  async newest(query: Omit<EventQuery, 'limit'>, limit: number): Promise<PersistedEvent[]> {
    const entries = await this.store.events.query({ ...toLogQuery({ ...query, limit }), order: 'desc' });
    return entries.map(persistedEvent);
  }

  /** The log's first and last seq and count, as the store has them. */
  bounds(): Promise<EventLogBounds> {
    return this.store.events.bounds();
  }

  /** Live events after they were appended, in seq order; returns the unsubscribe function. */
  subscribe(listener: PersistedEventListener): () => void {
    return this.writer.subscribe((entry) => listener(persistedEvent(entry)));
  }

  /** The writer's counters (last acknowledged seq, pending, dropped). */
  status(): EventLogWriterStatus {
    return this.writer.status();
  }

  /** Resolves when everything recorded so far is appended (or after `timeoutMs`); true when flushed. */
  flush(timeoutMs: number): Promise<boolean> {
    return this.writer.flush(timeoutMs);
  }

  /** Stops retention and flushes (bounded by `timeoutMs`); resolves with how many events stayed unwritten. */
  async close(timeoutMs: number): Promise<number> {
    await this.retention.stop();
    return this.writer.close(timeoutMs);
  }
}
