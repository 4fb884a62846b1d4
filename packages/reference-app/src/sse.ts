import type { Request, Response } from 'express';

/** One Server-Sent Events frame. `data` is written as one `data:` line per line of text. */
export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/** Encodes a frame as SSE text (terminated by a blank line). Newlines in `id`/`event` are stripped. */
export function formatSseFrame(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) out += `id: ${frame.id.replace(/[\r\n]/g, '')}\n`;
  if (frame.event !== undefined) out += `event: ${frame.event.replace(/[\r\n]/g, '')}\n`;
  for (const line of frame.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** The head of every SSE answer (and of a HEAD on an SSE route): event stream, no-store, no proxy buffering. */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

/** Why a stream ended on the server's side. */
export type SseDropReason = 'buffer_limit' | 'drain_timeout';

/** What {@link ReferenceAppRouterOptions.onStreamDropped} receives. */
export interface SseDropInfo {
  /** The route of the stream (`/mob/events`, `/agents/:id/events`, `/interactions/stream`). */
  route: string;
  reason: SseDropReason;
  /** Bytes queued for the client when it was dropped. */
  bufferedBytes: number;
}

/** Limits of one SSE connection. */
export interface SseConnectionLimits {
  keepAliveMs: number;
  maxBufferedBytes: number;
  slowClientTimeoutMs: number;
  route: string;
  onDrop?: (info: SseDropInfo) => void;
}

// Frames are not written as they are sent: each connection queues them and one `setImmediate` per tick
// writes every dirty connection's queue in one `res.write`, so a burst of events costs one write (one
// chunk, one syscall) per socket per tick instead of one per frame.
const dirty = new Set<SseConnection>();
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  // A connection marked dirty while this runs (a close handler sending) is flushed in this same pass.
  for (const conn of dirty) {
    dirty.delete(conn);
    conn.flush();
  }
}

function markDirty(conn: SseConnection): void {
  dirty.add(conn);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushDirty);
  }
}

/**
 * One open SSE response with keep-alive comments and backpressure: when the client stops reading,
 * writes queue in the socket; past `maxBufferedBytes` queued, or when the queue does not drain within
 * `slowClientTimeoutMs`, the connection is destroyed, so a slow client never grows memory without bound.
 * Frames sent in one tick are written together, in order, at the end of it (see {@link SseConnection.flush}).
 */
export class SseConnection {
  private closed = false;
  private keepAlive: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly closeHandlers: Array<() => void> = [];
  /** Frames sent this tick and not yet written (whole frames, in order). */
  private pending = '';
  private pendingBytes = 0;

  constructor(
    private readonly req: Request,
    private readonly res: Response,
    private readonly limits: SseConnectionLimits,
  ) {}

  /** Writes the 200 head (no-store, no proxy buffering) and starts the keep-alive timer. */
  open(): void {
    this.res.status(200).set(SSE_HEADERS);
    this.res.flushHeaders();
    this.req.socket.setNoDelay(true);
    const onClose = () => this.finish();
    this.res.on('close', onClose);
    this.req.on('close', onClose);
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), this.limits.keepAliveMs);
    this.keepAlive.unref?.();
    this.write('retry: 3000\n: connected\n\n');
  }

  /** True once the connection ended (client gone, dropped or closed). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `fn` once when the connection ends for any reason. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHandlers.push(fn);
  }

  /** Queues one frame; false when the connection is closed (or was just dropped). */
  send(frame: SseFrame): boolean {
    return this.write(formatSseFrame(frame));
  }

  /** Queues an already formatted frame (see {@link formatSseFrame}); shared text avoids re-encoding per client. */
  sendRaw(text: string): boolean {
    return this.write(text);
  }

  /**
   * Writes the queued frames now, in one `res.write`. Runs once per tick for every connection that sent
   * something; {@link end} and {@link whenWritable} call it too.
   */
  flush(): void {
    if (this.closed || this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    this.pendingBytes = 0;
    // The socket may have gone during the tick, before its 'close' event reached this connection.
    if (this.res.destroyed || this.res.writableEnded) return;
    const flushed = this.res.write(chunk);
    if (!flushed && this.drainTimer === undefined) {
      this.drainTimer = setTimeout(
        () => this.drop('drain_timeout', this.res.writableLength),
        this.limits.slowClientTimeoutMs,
      );
      this.drainTimer.unref?.();
      this.res.once('drain', () => {
        clearTimeout(this.drainTimer);
        this.drainTimer = undefined;
      });
    }
  }

  /**
   * Resolves when the socket can take more (its queue is below the high-water mark) or the connection has
   * ended: a long replay waits on it between pages instead of queueing everything at once.
   */
  whenWritable(): Promise<void> {
    this.flush();
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        resolve();
      };
      this.res.once('drain', done);
      this.onClose(done);
    });
  }

  /** Writes what is queued and ends the response normally. */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.res.end();
    this.finish();
  }

  private write(chunk: string): boolean {
    if (this.closed) return false;
    // Never queue past the cap: a client that would exceed it is dropped instead of written to.
    const queued = this.res.writableLength + this.pendingBytes;
    const bytes = Buffer.byteLength(chunk);
    if (queued + bytes > this.limits.maxBufferedBytes) {
      this.drop('buffer_limit', queued);
      return false;
    }
    if (this.pending === '') markDirty(this);
    this.pending += chunk;
    this.pendingBytes += bytes;
    return true;
  }

  private drop(reason: SseDropReason, bufferedBytes: number): void {
    if (this.closed) return;
    this.finish();
    // Destroying the socket frees everything queued for it at once.
    this.res.destroy();
    this.req.socket.destroy();
    try {
      this.limits.onDrop?.({ route: this.limits.route, reason, bufferedBytes });
    } catch {
      // a logging hook must not break the server
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = '';
    this.pendingBytes = 0;
    dirty.delete(this);
    clearInterval(this.keepAlive);
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    for (const fn of this.closeHandlers.splice(0)) {
      try {
        fn();
      } catch {
        // cleanup handlers must not throw into the socket's close path
      }
    }
  }
}

/** A bounded ring of items ordered by an increasing `seq`; the oldest fall out first. */
export class ReplayBuffer<T extends { seq: number }> {
  private readonly items: T[] = [];
  private head = 0;
  /** The highest `seq` that fell out of the buffer (−1: none yet). */
  private evictedThrough = -1;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.capacity <= 0) {
      this.evictedThrough = Math.max(this.evictedThrough, item.seq);
      return;
    }
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    const old = this.items[this.head] as T;
    this.evictedThrough = Math.max(this.evictedThrough, old.seq);
    this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
  }

  /** Items in order. */
  toArray(): T[] {
    return [...this.items.slice(this.head), ...this.items.slice(0, this.head)];
  }

  get size(): number {
    return this.items.length;
  }

  /**
   * Items with `seq > afterSeq` that pass `filter`, and whether events after `afterSeq` may have been
   * evicted already (the client missed some).
   */
  since(afterSeq: number, filter: (item: T) => boolean = () => true): { items: T[]; truncated: boolean } {
    const items = this.toArray().filter((item) => item.seq > afterSeq && filter(item));
    return { items, truncated: afterSeq < this.evictedThrough };
  }
}
