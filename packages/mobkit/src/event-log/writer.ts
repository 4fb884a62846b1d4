import { randomUUID } from 'node:crypto';
import {
  type Clock,
  type EventLogEntry,
  type EventLogInput,
  type EventLogPort,
  type MobKitError,
  toMobKitError,
} from '@mobkit/core';
import { type LogEventDraft, runtimeDraft } from './entries.js';

/** Most events in one append (one transaction of the store). */
export const EVENT_LOG_BATCH_SIZE = 512;
/** Most events waiting for the writer; one more is dropped (and counted). */
export const EVENT_LOG_QUEUE_CAPACITY = 16_384;
/** First wait before a failed append is retried; it doubles up to {@link EVENT_LOG_RETRY_MAX_MS}. */
export const EVENT_LOG_RETRY_INITIAL_MS = 50;
/** Longest wait between retries of a failed append. */
export const EVENT_LOG_RETRY_MAX_MS = 2_000;

/** Options of {@link EventLogWriter}. */
export interface EventLogWriterOptions {
  /** Where the entries go. */
  log: EventLogPort;
  clock: Clock;
  /** The largest seq already in the log (from `bounds()` at start). */
  lastSeq: number;
  /** Most events per append. Default {@link EVENT_LOG_BATCH_SIZE}. */
  batchSize?: number;
  /** Most events queued. Default {@link EVENT_LOG_QUEUE_CAPACITY}. */
  queueCapacity?: number;
  /** Called on every failed append (it is retried); a throw is ignored. */
  onFlushFailure?: (error: Error) => void;
}

/** The writer's counters, as status reports them. */
export interface EventLogWriterStatus {
  /** The largest seq appended (acknowledged by the store). */
  lastSeq: number;
  /** Events queued or in the append in flight, not yet acknowledged. */
  pending: number;
  /** Events dropped because the queue was full, since start. */
  dropped: number;
}

/** A listener of acknowledged entries: called in seq order, after the append resolved. */
export type EventLogListener = (entry: EventLogEntry) => void;

/**
 * Appends the runtime's events to the store's event log with group commit: while one append is in
 * flight, new events queue and go together in the next one (at most `batchSize` per append; a batch
 * starts one event-loop turn after its first event, or as soon as the previous append resolves). The
 * store assigns the gapless seqs; listeners are told only after the append resolved (a seq a client
 * saw is durable and is never reassigned after a crash), in seq order.
 *
 * `enqueue` is synchronous (the merged stream's publish is). When `queueCapacity` events wait, a new
 * one is dropped and counted — never silently: once there is room again a `runtime`/`event_log.dropped`
 * event with the count is appended, and {@link status} reports the total. A failed append is retried
 * with the same entry ids (the append is idempotent on ids, so a batch that did land is not doubled)
 * until it succeeds, with backoff; each failure is reported to `onFlushFailure` and nothing in the
 * batch is acknowledged until then.
 */
export class EventLogWriter {
  private readonly log: EventLogPort;
  private readonly clock: Clock;
  private readonly batchSize: number;
  private readonly capacity: number;
  private readonly onFlushFailure: ((error: Error) => void) | undefined;
  private readonly listeners = new Set<EventLogListener>();
  private readonly runId = randomUUID();
  private readonly idleWaiters: Array<() => void> = [];
  private queue: EventLogInput[] = [];
  private inFlight = 0;
  private counter = 0;
  private lastSeq: number;
  private dropped = 0;
  private droppedReported = 0;
  private scheduled = false;
  private running = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;

  constructor(options: EventLogWriterOptions) {
    this.log = options.log;
    this.clock = options.clock;
    this.lastSeq = options.lastSeq;
    this.batchSize = Math.max(1, options.batchSize ?? EVENT_LOG_BATCH_SIZE);
    this.capacity = Math.max(1, options.queueCapacity ?? EVENT_LOG_QUEUE_CAPACITY);
    this.onFlushFailure = options.onFlushFailure;
  }

  /** Queues an event; false when the queue was full and it was dropped (and counted). */
  enqueue(draft: LogEventDraft): boolean {
    if (this.closed) return false;
    if (this.queue.length >= this.capacity) {
      this.dropped += 1;
      return false;
    }
    this.queue.push(this.entryInput(draft));
    this.schedule();
    return true;
  }

  /** Tells `listener` of every acknowledged entry from now on; returns the unsubscribe function. */
  subscribe(listener: EventLogListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The writer's counters. */
  status(): EventLogWriterStatus {
    return { lastSeq: this.lastSeq, pending: this.queue.length + this.inFlight, dropped: this.dropped };
  }

  /** Resolves when every event queued so far (and any drop notice owed) is acknowledged, or after `timeoutMs`; true when flushed. */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.idle()) return true;
    if (this.closed) return false;
    this.wakeRetry?.();
    let timer: NodeJS.Timeout | undefined;
    const flushed = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([flushed, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Flushes (bounded by `timeoutMs`), then accepts nothing more; resolves with how many events stayed unwritten. */
  async close(timeoutMs: number): Promise<number> {
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    this.listeners.clear();
    return this.queue.length + this.inFlight;
  }

  private idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0 && this.dropped === this.droppedReported;
  }

  private entryInput(draft: LogEventDraft): EventLogInput {
    this.counter += 1;
    return { id: `${this.runId}:${this.counter}`, ...draft };
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  /** The single append loop: one batch in flight at a time, so acknowledgements come in seq order. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        this.noteDrops();
        if (this.queue.length === 0 || this.closed) break;
        const batch = this.queue.splice(0, this.batchSize);
        this.inFlight = batch.length;
        const entries = await this.appendUntilDone(batch);
        this.inFlight = 0;
        if (entries === undefined) {
          this.queue.unshift(...batch);
          break;
        }
        this.acknowledge(entries);
      }
    } finally {
      this.running = false;
      if (this.idle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Queues the `event_log.dropped` notice owed, when there is room for it. */
  private noteDrops(): void {
    const owed = this.dropped - this.droppedReported;
    if (owed === 0 || this.queue.length >= this.capacity) return;
    this.droppedReported = this.dropped;
    const now = this.clock.nowMs();
    this.queue.push(
      this.entryInput(
        runtimeDraft(`evt-event-log-dropped-${this.runId}-${this.counter + 1}`, 'runtime', 'event_log.dropped', now, {
          dropped: owed,
          total_dropped: this.dropped,
        }),
      ),
    );
  }

  /**
   * Appends, retrying with backoff until the store takes the batch; undefined when closed meanwhile.
   * Once a batch lands after failures, a `runtime`/`event_log.flush_failed` event (how many attempts
   * failed, the last error and its code, since when) is queued, so the outage is in the log itself.
   */
  private async appendUntilDone(batch: EventLogInput[]): Promise<EventLogEntry[] | undefined> {
    let delayMs = EVENT_LOG_RETRY_INITIAL_MS;
    let failures = 0;
    let firstFailedAtMs = 0;
    let lastError: MobKitError | undefined;
    for (;;) {
      try {
        const entries = await this.log.append(batch);
        if (lastError !== undefined) this.noteRecovery(failures, firstFailedAtMs, lastError);
        return entries;
      } catch (error) {
        lastError = toMobKitError(error);
        if (failures === 0) firstFailedAtMs = this.clock.nowMs();
        failures += 1;
        this.reportFailure(error);
        if (this.closed) return undefined;
        await this.pause(delayMs);
        if (this.closed) return undefined;
        delayMs = Math.min(delayMs * 2, EVENT_LOG_RETRY_MAX_MS);
      }
    }
  }

  private noteRecovery(failures: number, firstFailedAtMs: number, error: MobKitError): void {
    const now = this.clock.nowMs();
    this.queue.push(
      this.entryInput(
        runtimeDraft(
          `evt-event-log-flush-failed-${this.runId}-${this.counter + 1}`,
          'runtime',
          'event_log.flush_failed',
          now,
          {
            failed_attempts: failures,
            error: error.message,
            code: error.code,
            first_failed_at_ms: firstFailedAtMs,
            recovered_at_ms: now,
          },
        ),
      ),
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.wakeRetry = undefined;
        resolve();
      };
      this.wakeRetry = done;
      this.retryTimer = setTimeout(done, ms);
      this.retryTimer.unref();
    });
  }

  private reportFailure(error: unknown): void {
    const hook = this.onFlushFailure;
    if (!hook) return;
    try {
      hook(toMobKitError(error));
    } catch {
      // The hook's failure is its own.
    }
  }

  private acknowledge(entries: EventLogEntry[]): void {
    for (const entry of entries) {
      if (entry.seq > this.lastSeq) this.lastSeq = entry.seq;
      for (const listener of [...this.listeners]) {
        try {
          listener(entry);
        } catch {
          // A listener's failure is its own; the log goes on.
        }
      }
    }
  }
}
