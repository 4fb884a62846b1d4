import { type Clock, type EventLogPort, toMobKitError } from '@mobkit/core';

/** How long and how many events the log keeps; whichever limit is reached first prunes. */
export interface EventRetention {
  /** Entries older than this go. */
  maxAgeMs: number;
  /** At most this many entries are kept (the newest). */
  maxRows: number;
}

/** Default age limit: 7 days. */
export const DEFAULT_EVENT_RETENTION_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Default row limit of a durable store (SQLite, PostgreSQL, your own): 1,000,000 events. */
export const DEFAULT_EVENT_RETENTION_MAX_ROWS = 1_000_000;
/** Default row limit of the in-memory store (used without `.store()` or `.persistentState()`): 100,000 events. */
export const DEFAULT_MEMORY_EVENT_RETENTION_MAX_ROWS = 100_000;
/** How often retention runs in the background. */
export const EVENT_RETENTION_INTERVAL_MS = 60_000;

/**
 * Prunes the log in the background: once at start, then every {@link EVENT_RETENTION_INTERVAL_MS}
 * on an unref'd timer (it never keeps the process alive). A failing prune is reported and tried
 * again at the next tick. {@link stop} ends it and waits for a prune in progress.
 */
export class RetentionTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: EventLogPort,
    private readonly retention: EventRetention,
    private readonly clock: Clock,
    private readonly onFailure: (error: Error) => void,
    private readonly intervalMs = EVENT_RETENTION_INTERVAL_MS,
  ) {}

  /** Starts the background pruning. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Prunes once now (what a tick does); resolves with how many entries went. */
  async pruneNow(): Promise<number> {
    return this.log.prune({ ...this.retention, nowMs: this.clock.nowMs() });
  }

  /** Stops the timer and waits for a prune in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.pruneNow()
      .then(
        () => undefined,
        (error: unknown) => {
          try {
            this.onFailure(toMobKitError(error));
          } catch {
            // The reporter's failure is its own.
          }
        },
      )
      .finally(() => {
        this.running = undefined;
      });
  }
}
