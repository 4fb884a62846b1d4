import { isMobKitError } from '@mobkit/core';
import type { Request } from 'express';
import { snakeCode } from './http-errors.js';
import type { SseConnection } from './sse.js';
import type { SurfaceAgentEvent, SurfaceEventLog } from './surface.js';

/** Agent events read from the log per page of a replay. */
export const REPLAY_PAGE_SIZE = 500;

/**
 * Live events one resuming stream holds while it replays from the log. Past it the held events are
 * discarded and the replay reads on from the log instead (every live event is in the log before it is
 * delivered), so a long replay under heavy traffic never grows memory without bound.
 */
const MAX_HELD_LIVE_EVENTS = 10_000;

/** The raw `Last-Event-ID` of a request (the header, else `?last_event_id=`), trimmed; undefined when absent or blank. */
export function lastEventIdOf(req: Request): string | undefined {
  const header = req.get('last-event-id');
  const query = typeof req.query.last_event_id === 'string' ? req.query.last_event_id : undefined;
  const raw = (header ?? query)?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

/** The log seq of a durable SSE id (plain decimal digits), or undefined for any other text (an old `mob:<n>` id, garbage). */
function parseLogCursor(raw: string): number | undefined {
  return /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}

/**
 * True when events after `afterSeq` may be gone: it is older than retention (`afterSeq < firstSeq − 1`;
 * when everything was pruned, anything before `lastSeq`), or ahead of the log (`afterSeq > lastSeq`: the id
 * came from another log, e.g. a store that was replaced, so the client cannot know what it missed).
 */
function cursorIsTruncated(afterSeq: number, bounds: { firstSeq: number; lastSeq: number }): boolean {
  if (afterSeq > bounds.lastSeq) return true;
  return bounds.firstSeq > 0 ? afterSeq < bounds.firstSeq - 1 : afterSeq < bounds.lastSeq;
}

/** What {@link followFromLog} streams. */
export interface LogFeed {
  log: SurfaceEventLog;
  /** Subscribes to the live events (of `member` only, when given); returns the unsubscribe function. */
  listen: (fn: (event: SurfaceAgentEvent) => void, member?: string) => () => void;
  /** Only this member's events (undefined: every member's). */
  member?: string;
  frame: (event: SurfaceAgentEvent) => string;
  /** The request's `Last-Event-ID`, if any (see {@link lastEventIdOf}). */
  lastEventId: string | undefined;
  /** Called with an unexpected failure of a log read, for logging. */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * Streams a feed resumed from the durable log, then live, with no gap and no duplicate at the seam:
 * it subscribes first and holds the live events, replays every kept event after the cursor from the log
 * in pages (waiting for the socket between pages), then sends the held events it has not sent yet and
 * follows live. Without `Last-Event-ID` it follows live at once. A cursor the log cannot serve (older
 * than retention, ahead of the log, or not a plain seq — e.g. an old `mob:<n>` id) gets a
 * `replay_truncated` frame and then every event still kept. A failed read ends the stream with a
 * `replay_failed` frame, so the client reconnects with its last id.
 */
export async function followFromLog(conn: SseConnection, feed: LogFeed): Promise<void> {
  const { frame } = feed;
  let lastSent = Number.NEGATIVE_INFINITY;
  let held: SurfaceAgentEvent[] | undefined = feed.lastEventId === undefined ? undefined : [];
  let heldOverflowed = false;
  const onLive = (e: SurfaceAgentEvent) => {
    if (held !== undefined) {
      if (held.length >= MAX_HELD_LIVE_EVENTS) {
        held = [];
        heldOverflowed = true;
      }
      held.push(e);
      return;
    }
    if (e.seq <= lastSent) return;
    lastSent = e.seq;
    conn.sendRaw(frame(e));
  };
  conn.onClose(feed.listen(onLive, feed.member));
  if (feed.lastEventId === undefined) return;
  try {
    lastSent = await replay(conn, feed, feed.lastEventId, () => {
      const overflowed = heldOverflowed;
      heldOverflowed = false;
      return overflowed;
    });
  } catch (error) {
    conn.send({
      event: 'replay_failed',
      data: JSON.stringify({
        type: 'replay_failed',
        last_event_id: feed.lastEventId,
        error: isMobKitError(error) ? snakeCode(error.code) : 'replay_failed',
      }),
    });
    conn.end();
    if (!isMobKitError(error) || error.httpStatus >= 500) feed.onError?.(error);
    return;
  }
  // No await from the last (short) read to here: every live event after it is held or still to come.
  const pending = held ?? [];
  held = undefined;
  for (const e of pending) onLive(e);
}

/**
 * Sends `replay_truncated` when the cursor cannot be served, then every kept event after it, page by
 * page, until a short page read with no held live events discarded meanwhile. Resolves with the seq the
 * stream has sent through.
 */
async function replay(
  conn: SseConnection,
  feed: LogFeed,
  lastEventId: string,
  takeOverflow: () => boolean,
): Promise<number> {
  const { log, member, frame } = feed;
  const requested = parseLogCursor(lastEventId);
  // Bounds are read after subscribing: every live event to come has a greater seq than `lastSeq`.
  const bounds = await log.bounds();
  let cursor = requested ?? -1;
  if (requested === undefined || cursorIsTruncated(requested, bounds)) {
    conn.send({
      event: 'replay_truncated',
      data: JSON.stringify({ type: 'replay_truncated', last_event_id: lastEventId }),
    });
    cursor = bounds.firstSeq > 0 ? bounds.firstSeq - 1 : bounds.lastSeq;
  }
  for (;;) {
    takeOverflow();
    const page = await log.readAgentEvents({
      afterSeq: cursor,
      limit: REPLAY_PAGE_SIZE,
      ...(member === undefined ? {} : { memberId: member }),
    });
    for (const e of page) {
      if (e.seq <= cursor) continue;
      if (!conn.sendRaw(frame(e))) return cursor;
      cursor = e.seq;
    }
    // Held live events were discarded during this read: some may be newer than it, so read on.
    if (page.length < REPLAY_PAGE_SIZE && !takeOverflow()) return cursor;
    await conn.whenWritable();
    if (conn.isClosed) return cursor;
  }
}
