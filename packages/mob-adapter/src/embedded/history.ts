import type { LlmMessage } from '../llm/types.js';

/** The default byte bound of one member's in-memory history: 8 MiB. */
export const DEFAULT_HISTORY_MAX_BYTES = 8 * 1024 * 1024;
/** The default count bound of one member's in-memory history: 1,000 messages. */
export const DEFAULT_HISTORY_MAX_MESSAGES = 1000;

/** How much of a member's conversation is kept in memory. */
export interface HistoryLimits {
  maxBytes: number;
  maxMessages: number;
}

/** The size a message counts for: its UTF-8 bytes as JSON (deterministic, unlike heap use). */
function messageBytes(message: LlmMessage): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/**
 * One member's conversation, bounded by bytes and by count. When a push passes either bound, the
 * oldest messages are evicted first, a whole exchange at a time (a kept history always starts with a
 * user message, so no reply or tool result is left without what it answers). The messages of the
 * run in progress (from {@link beginRun} to {@link endRun}) are never evicted, so the model always
 * sees its trigger and its own tool calls; the bound is restored when the run ends. The system
 * prompt is not part of the history and never evicted.
 */
export class MemberHistory {
  private items: LlmMessage[] = [];
  private sizes: number[] = [];
  /** The session index each message was committed at (undefined: not known). */
  private indexes: Array<number | undefined> = [];
  private totalBytes = 0;
  /** Index of the current run's first message, while a run is in progress. */
  private runStart: number | undefined;

  constructor(private readonly limits: HistoryLimits) {}

  /** Messages kept. */
  get length(): number {
    return this.items.length;
  }

  /** Bytes kept (the sum of {@link messageBytes}). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The newest message. */
  last(): LlmMessage | undefined {
    return this.items[this.items.length - 1];
  }

  /** A copy of the list (the messages themselves are shared; treat them as read-only). */
  messages(): LlmMessage[] {
    return this.items.slice();
  }

  /** The session index of the message at `position`, when known. */
  indexAt(position: number): number | undefined {
    return this.indexes[position];
  }

  /** Appends `message` (committed at session index `index`), then evicts what passes the bounds. */
  push(message: LlmMessage, index?: number): void {
    const size = messageBytes(message);
    this.items.push(message);
    this.indexes.push(index);
    this.sizes.push(size);
    this.totalBytes += size;
    this.trim();
  }

  /** Pins every message pushed from now on until {@link endRun}. */
  beginRun(): void {
    this.runStart = this.items.length;
  }

  /** Unpins the run's messages and restores the bounds. */
  endRun(): void {
    this.runStart = undefined;
    this.trim();
  }

  /**
   * Replaces the first `count` messages by `summary` (history compaction). The run in progress is
   * never among them (the caller cuts before it).
   */
  compact(count: number, summary: LlmMessage, index?: number): void {
    const n = Math.min(count, this.runStart ?? this.items.length);
    if (n <= 0) return;
    let removed = 0;
    for (let i = 0; i < n; i++) removed += this.sizes[i] ?? 0;
    const size = messageBytes(summary);
    this.items.splice(0, n, summary);
    this.sizes.splice(0, n, size);
    this.indexes.splice(0, n, index);
    this.totalBytes += size - removed;
    if (this.runStart !== undefined) this.runStart -= n - 1;
  }

  /** Drops everything (a retired member). */
  clear(): void {
    this.items = [];
    this.indexes = [];
    this.sizes = [];
    this.totalBytes = 0;
    this.runStart = undefined;
  }

  private over(bytes: number, count: number): boolean {
    return bytes > this.limits.maxBytes || count > this.limits.maxMessages;
  }

  private trim(): void {
    const evictable = this.runStart ?? this.items.length;
    let drop = 0;
    let bytes = this.totalBytes;
    while (drop < evictable && this.over(bytes, this.items.length - drop)) {
      // one exchange: the oldest message, then whatever follows it up to the next user message
      do {
        bytes -= this.sizes[drop] ?? 0;
        drop++;
      } while (drop < evictable && this.items[drop]?.role !== 'user');
    }
    if (drop === 0) return;
    this.items.splice(0, drop);
    this.indexes.splice(0, drop);
    this.sizes.splice(0, drop);
    this.totalBytes = bytes;
    if (this.runStart !== undefined) this.runStart -= drop;
  }
}
