import type { Clock } from '@mobkit/core';
import type { MobLogEvent } from '../shared/event-log.js';

/**
 * Follows the durable mob log of an rkat-rpc mob (`mob/events` by cursor) while someone listens:
 * reads everything after the last cursor seen, every `intervalMs` on the clock, and hands each
 * event on. A failed read is retried on the next tick.
 */
export class MobLogPoller {
  private cursor = 0;
  private loop: AbortController | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly read: (afterCursor: number, limit: number) => Promise<MobLogEvent[]>,
    private readonly deliver: (event: MobLogEvent) => void,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Starts polling (idempotent). */
  start(): void {
    if (this.loop) return;
    const loop = new AbortController();
    this.loop = loop;
    void (async () => {
      while (!loop.signal.aborted) {
        await this.drain();
        await this.clock.sleep(this.intervalMs, loop.signal).catch(() => undefined);
      }
    })();
  }

  /** Stops polling; a read in flight still delivers what it got. */
  stop(): void {
    this.loop?.abort();
    this.loop = undefined;
  }

  /** Reads and delivers everything after the last cursor (joins a read already in flight). */
  drain(): Promise<void> {
    this.reading ??= this.readAll().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readAll(): Promise<void> {
    try {
      for (;;) {
        const batch = await this.read(this.cursor, 100);
        for (const e of batch) {
          this.cursor = Math.max(this.cursor, e.cursor);
          this.deliver(e);
        }
        if (batch.length < 100) break;
      }
    } catch {
      // the next tick retries; a dead process stops the poller in close()
    }
  }
}
