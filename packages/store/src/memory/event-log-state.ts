import type { EventLogEntry } from '@mobkit/core';

/** An entry as the memory log keeps it: its data as JSON text, so every read hands out a fresh copy. */
export interface StoredEvent {
  readonly seq: number;
  readonly id: string;
  readonly timestampMs: number;
  readonly memberId: string | null;
  readonly kind: string;
  readonly eventType: string;
  readonly dataJson: string;
}

/** A fresh {@link EventLogEntry} of a stored one. */
export function toEntry(stored: StoredEvent): EventLogEntry {
  return {
    seq: stored.seq,
    id: stored.id,
    timestampMs: stored.timestampMs,
    memberId: stored.memberId,
    kind: stored.kind,
    eventType: stored.eventType,
    data: JSON.parse(stored.dataJson),
  };
}

/** What the event log port reads and writes: the committed log, or a transaction's view of it. */
export interface EventLogView {
  /** The largest seq ever assigned (0 before the first). */
  readonly lastSeq: number;
  /** How many entries the log holds. */
  readonly count: number;
  /** The entry with this id, if it is in the log. */
  byId(id: string): StoredEvent | undefined;
  /** Visits entries with `seq > afterSeq` in `order` until `visit` returns false. */
  scan(order: 'asc' | 'desc', afterSeq: number, visit: (entry: StoredEvent) => boolean): void;
  /** Adds entries whose seqs are all greater than `lastSeq`, ascending; `lastSeq` becomes the last one's. */
  add(entries: readonly StoredEvent[]): void;
  /** Removes the entries with these seqs (`lastSeq` stays). */
  remove(seqs: ReadonlySet<number>): void;
  /** Puts `entry` in place of the entry with its seq (a redaction). */
  replace(entry: StoredEvent): void;
}

/** The committed log: entries in seq order, an id index, and the seq counter. */
export class EventLogState implements EventLogView {
  private entries: StoredEvent[] = [];
  private readonly ids = new Map<string, StoredEvent>();
  private last = 0;

  get lastSeq(): number {
    return this.last;
  }

  get count(): number {
    return this.entries.length;
  }

  byId(id: string): StoredEvent | undefined {
    return this.ids.get(id);
  }

  scan(order: 'asc' | 'desc', afterSeq: number, visit: (entry: StoredEvent) => boolean): void {
    const start = this.firstIndexAfter(afterSeq);
    if (order === 'asc') {
      for (let i = start; i < this.entries.length; i++) if (!visit(this.entries[i] as StoredEvent)) return;
    } else {
      for (let i = this.entries.length - 1; i >= start; i--) if (!visit(this.entries[i] as StoredEvent)) return;
    }
  }

  add(entries: readonly StoredEvent[]): void {
    for (const entry of entries) {
      this.entries.push(entry);
      this.ids.set(entry.id, entry);
      this.last = entry.seq;
    }
  }

  /** Raises the seq counter to `seq` (a transaction that appended and then pruned its own entries). */
  advanceTo(seq: number): void {
    if (seq > this.last) this.last = seq;
  }

  remove(seqs: ReadonlySet<number>): void {
    if (seqs.size === 0) return;
    const kept: StoredEvent[] = [];
    for (const entry of this.entries) {
      if (seqs.has(entry.seq)) this.ids.delete(entry.id);
      else kept.push(entry);
    }
    this.entries = kept;
  }

  replace(entry: StoredEvent): void {
    const i = this.firstIndexAfter(entry.seq - 1);
    const old = this.entries[i];
    if (old === undefined || old.seq !== entry.seq) return;
    this.entries[i] = entry;
    this.ids.set(entry.id, entry);
  }

  /** The index of the first entry with `seq > afterSeq` (binary search: entries are in seq order). */
  private firstIndexAfter(afterSeq: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as StoredEvent).seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * A transaction's view of the log: the committed entries minus what it pruned, plus what it added.
 * Nothing reaches the committed log until {@link EventLogDraft.commit}, so readers outside the
 * transaction never see a seq that a rollback would hand out again.
 */
export class EventLogDraft implements EventLogView {
  private readonly added: StoredEvent[] = [];
  private readonly addedIds = new Map<string, StoredEvent>();
  private readonly removed = new Set<number>();
  private readonly replaced = new Map<number, StoredEvent>();
  private last: number;

  constructor(private readonly base: EventLogState) {
    this.last = base.lastSeq;
  }

  get lastSeq(): number {
    return this.last;
  }

  get count(): number {
    return this.base.count - this.removed.size + this.added.length;
  }

  byId(id: string): StoredEvent | undefined {
    const added = this.addedIds.get(id);
    if (added) return added;
    const committed = this.base.byId(id);
    if (!committed || this.removed.has(committed.seq)) return undefined;
    return this.replaced.get(committed.seq) ?? committed;
  }

  scan(order: 'asc' | 'desc', afterSeq: number, visit: (entry: StoredEvent) => boolean): void {
    let going = true;
    const visitCommitted = (entry: StoredEvent) => {
      if (this.removed.has(entry.seq)) return true;
      going = visit(this.replaced.get(entry.seq) ?? entry);
      return going;
    };
    const visitAdded = () => {
      const list = order === 'asc' ? this.added : [...this.added].reverse();
      for (const entry of list) {
        if (entry.seq <= afterSeq) continue;
        going = visit(entry);
        if (!going) return;
      }
    };
    if (order === 'asc') {
      this.base.scan('asc', afterSeq, visitCommitted);
      if (going) visitAdded();
    } else {
      visitAdded();
      if (going) this.base.scan('desc', afterSeq, visitCommitted);
    }
  }

  add(entries: readonly StoredEvent[]): void {
    for (const entry of entries) {
      this.added.push(entry);
      this.addedIds.set(entry.id, entry);
      this.last = entry.seq;
    }
  }

  remove(seqs: ReadonlySet<number>): void {
    for (let i = this.added.length - 1; i >= 0; i--) {
      const entry = this.added[i] as StoredEvent;
      if (!seqs.has(entry.seq)) continue;
      this.added.splice(i, 1);
      this.addedIds.delete(entry.id);
    }
    for (const seq of seqs) if (seq <= this.base.lastSeq) this.removed.add(seq);
  }

  replace(entry: StoredEvent): void {
    const i = this.added.findIndex((e) => e.seq === entry.seq);
    if (i >= 0) {
      this.added[i] = entry;
      this.addedIds.set(entry.id, entry);
    } else if (entry.seq <= this.base.lastSeq) this.replaced.set(entry.seq, entry);
  }

  /** Writes the transaction's changes into the committed log. */
  commit(): void {
    for (const entry of this.replaced.values()) this.base.replace(entry);
    this.base.remove(this.removed);
    this.base.add(this.added);
    this.base.advanceTo(this.last);
  }
}
