import { MobRuntimeError } from '../errors.js';
import type { MobEvent, MobLogPayload, SubscribeOptions } from '../types.js';

/** A mob log event as delivered to subscribers and returned by `events()`. */
export type MobLogEvent = Extract<MobEvent, { kind: 'mob' }>;

interface Listener {
  fn: (event: MobEvent) => void;
  /** Only agent events of this member (mob log events are then skipped). */
  member: string | undefined;
}

/**
 * The subscribers of one mob handle and its event sequence: `seq` goes up by one per event, and
 * each event goes to every listener whose member filter matches. A listener that throws is
 * ignored, so it cannot break the mob.
 */
export class EventFanout {
  private readonly listeners = new Set<Listener>();
  private seq = 0;

  /** How many listeners are subscribed. */
  get size(): number {
    return this.listeners.size;
  }

  /** Takes the next sequence number (call it even when nobody listens, so `seq` counts every event). */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(fn: (event: MobEvent) => void, options: SubscribeOptions = {}): () => void {
    const entry: Listener = { fn, member: options.member };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Delivers `event`: member-filtered listeners get only that member's agent events. */
  publish(event: MobEvent): void {
    const memberId = event.kind === 'agent' ? event.memberId : undefined;
    for (const l of this.listeners) {
      if (l.member !== undefined && l.member !== memberId) continue;
      try {
        l.fn(event);
      } catch {
        // a listener's failure must not break the mob
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}

/**
 * The mob log: events with consecutive cursors (1, 2, …), bounded to the last `limit`. Reads slice
 * from the cursor's position; a cursor older than what is kept is `STALE_CURSOR` (as `mob/events`
 * with `strict`).
 */
export class CursorLog {
  private readonly entries: MobLogEvent[] = [];
  private cursor = 0;

  constructor(private readonly limit: number) {}

  /** Appends a log event with the next cursor, stamped with `seq` and `timestampMs`; returns it. */
  append(event: MobLogPayload, seq: number, timestampMs: number): MobLogEvent {
    this.cursor += 1;
    const entry: MobLogEvent = { kind: 'mob', seq, timestampMs, cursor: this.cursor, event };
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return entry;
  }

  /** Up to `limit` events after `afterCursor`, oldest first. */
  after(afterCursor = 0, limit = 100): MobLogEvent[] {
    const first = this.entries[0];
    if (!first) return [];
    if (afterCursor > 0 && afterCursor < first.cursor - 1) {
      throw new MobRuntimeError(
        'STALE_CURSOR',
        `event cursor ${afterCursor} was pruned (oldest kept is ${first.cursor}); re-read from 0`,
        { details: { watermark: first.cursor - 1, requested: afterCursor } },
      );
    }
    const start = Math.max(0, afterCursor - first.cursor + 1);
    return this.entries.slice(start, start + Math.max(0, limit));
  }
}
