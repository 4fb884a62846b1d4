import type { Request, Response } from 'express';
import { RouteError } from './http-errors.js';
import type { ResolvedRouterOptions } from './options.js';
import { followFromLog, lastEventIdOf } from './resume.js';
import { ReplayBuffer, SSE_HEADERS, SseConnection, formatSseFrame } from './sse.js';
import type { ReferenceAppRuntimeSurface, SurfaceAgentEvent, SurfaceEventLog } from './surface.js';

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type AgentEventListener = (event: SurfaceAgentEvent) => void;

/**
 * Fans the runtime's agent events out to SSE clients; without a durable log it also keeps the bounded
 * replay buffer streams resume from.
 */
export class AgentEventHub {
  /** The replay buffer (undefined when the runtime has a durable log: streams resume from it instead). */
  readonly buffer: ReplayBuffer<SurfaceAgentEvent> | undefined;
  /** The seq of the newest event seen (−1: none). */
  lastSeq = -1;
  // Listeners of every member, and listeners of one member by id: an event visits only its own.
  private readonly all = new Set<AgentEventListener>();
  private readonly byMember = new Map<string, Set<AgentEventListener>>();
  private readonly detach: () => void;

  constructor(surface: ReferenceAppRuntimeSurface, capacity: number | undefined) {
    this.buffer = capacity === undefined ? undefined : new ReplayBuffer(capacity);
    this.detach =
      surface.mobId() === undefined ? () => undefined : surface.subscribeAgentEvents((event) => this.publish(event));
  }

  private publish(event: SurfaceAgentEvent): void {
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    this.buffer?.push(event);
    // A Set may lose members while it is iterated (a listener ending its stream), so no copy is needed.
    for (const fn of this.all) fn(event);
    const own = this.byMember.get(event.memberId);
    if (own) for (const fn of own) fn(event);
  }

  /** Calls `fn` with every live event (of `member` only, when given); returns the unsubscribe function. */
  listen(fn: AgentEventListener, member?: string): () => void {
    if (member === undefined) {
      this.all.add(fn);
      return () => this.all.delete(fn);
    }
    let set = this.byMember.get(member);
    if (set === undefined) {
      set = new Set();
      this.byMember.set(member, set);
    }
    const own = set;
    own.add(fn);
    return () => {
      own.delete(fn);
      if (own.size === 0 && this.byMember.get(member) === own) this.byMember.delete(member);
    };
  }

  close(): void {
    this.detach();
    this.all.clear();
    this.byMember.clear();
  }
}

// Each event is encoded once per stream kind and id style and shared by every client (fan-out costs one
// queued write each).
const frameCaches = {
  mob: new WeakMap<SurfaceAgentEvent, string>(),
  mobDurable: new WeakMap<SurfaceAgentEvent, string>(),
  agent: new WeakMap<SurfaceAgentEvent, string>(),
  agentDurable: new WeakMap<SurfaceAgentEvent, string>(),
};

function cachedFrame(cache: WeakMap<SurfaceAgentEvent, string>, e: SurfaceAgentEvent, encode: () => string): string {
  let text = cache.get(e);
  if (text === undefined) {
    text = encode();
    cache.set(e, text);
  }
  return text;
}

/**
 * The `/mob/events` frame of an event: data `{member_id, source, payload, timestamp_ms}`; id the log's
 * `<seq>` when `durable` (the runtime has an event log), else `mob:<seq>`.
 */
function mobFrame(e: SurfaceAgentEvent, durable = false): string {
  return cachedFrame(durable ? frameCaches.mobDurable : frameCaches.mob, e, () =>
    formatSseFrame({
      id: durable ? String(e.seq) : `mob:${e.seq}`,
      event: e.type,
      data: JSON.stringify({ member_id: e.memberId, source: 'agent', payload: e.payload, timestamp_ms: e.timestampMs }),
    }),
  );
}

/** The per-member frame of an event: data the AgentEvent JSON; id `<seq>` when `durable`, else `<member>:<seq>`. */
function agentFrame(e: SurfaceAgentEvent, durable = false): string {
  return cachedFrame(durable ? frameCaches.agentDurable : frameCaches.agent, e, () =>
    formatSseFrame({
      id: durable ? String(e.seq) : `${e.memberId}:${e.seq}`,
      event: e.type,
      data: JSON.stringify(e.payload),
    }),
  );
}

/** The seq after `<prefix>:` in `Last-Event-ID` (or `?last_event_id=`), or undefined (the replay buffer's ids). */
function resumeFrom(req: Request, prefix: string): { raw: string; seq: number } | undefined {
  const raw = lastEventIdOf(req);
  if (raw === undefined || !raw.startsWith(`${prefix}:`)) return undefined;
  const digits = raw.slice(prefix.length + 1);
  if (!/^\d{1,15}$/.test(digits)) return undefined;
  return { raw, seq: Number(digits) };
}

/** Which stream {@link StreamRegistry.replayAndFollow} serves. */
export type StreamKind = 'mob' | 'agent';

/** What {@link StreamRegistry.replayAndFollow} streams: whose events, in which kind of frame. */
export interface StreamFeed {
  kind: StreamKind;
  /** Only this member's events (undefined: every member's); required for `agent`. */
  member?: string;
}

/**
 * The open SSE streams of one router: the stream cap, the shutdown switch (the router's `signal`), the
 * token-expiry timer of each stream, and the agent event hub with its replay buffer.
 */
export class StreamRegistry {
  readonly hub: AgentEventHub;
  /** The runtime's durable event log (read once, when the router is built), or undefined. */
  readonly log: SurfaceEventLog | undefined;
  private readonly open = new Set<SseConnection>();
  private closed = false;

  constructor(
    surface: ReferenceAppRuntimeSurface,
    private readonly options: ResolvedRouterOptions,
  ) {
    this.log = surface.eventLog?.();
    this.hub = new AgentEventHub(surface, this.log === undefined ? options.replayBufferSize : undefined);
    const { signal } = options;
    if (signal?.aborted) this.close();
    else signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Ends every open stream and detaches from the runtime; new streams are refused `shutting_down`. */
  close(): void {
    this.closed = true;
    this.hub.close();
    for (const conn of [...this.open]) conn.end();
  }

  /** Throws what a new stream would be refused with now: `shutting_down`, or `too_many_streams` at the cap. */
  private admit(): void {
    if (this.closed) throw new RouteError('shutting_down', 'the server is shutting down');
    const { maxStreams } = this.options;
    if (this.open.size >= maxStreams) {
      throw new RouteError(
        'too_many_streams',
        `at most ${maxStreams} event streams may be open at once; close one and retry`,
      );
    }
  }

  /**
   * Answers a HEAD on an SSE route: the status and head a GET would get now, and no body. No stream is
   * opened and no slot of the cap is taken, so HEAD requests cannot exhaust it.
   */
  answerHead(res: Response): void {
    this.admit();
    res.status(200).set(SSE_HEADERS).end();
  }

  /**
   * Opens an SSE response for `route`. Throws {@link RouteError} `shutting_down` once the router is closed
   * and `too_many_streams` at the cap (nothing is written then, so the error handler answers).
   */
  openStream(req: Request, res: Response, route: string): SseConnection {
    this.admit();
    const conn = new SseConnection(req, res, {
      keepAliveMs: this.options.keepAliveMs,
      maxBufferedBytes: this.options.maxBufferedBytes,
      slowClientTimeoutMs: this.options.slowClientTimeoutMs,
      route,
      onDrop: this.options.onStreamDropped,
    });
    this.open.add(conn);
    conn.onClose(() => this.open.delete(conn));
    conn.open();
    this.endAtTokenExpiry(req, conn);
    return conn;
  }

  /** The frame of `e` on a stream of `kind`, with the id style of this router (log seqs when it has a log). */
  frame(kind: StreamKind, e: SurfaceAgentEvent): string {
    return kind === 'mob' ? mobFrame(e, this.log !== undefined) : agentFrame(e, this.log !== undefined);
  }

  /**
   * Resumes after the request's `Last-Event-ID` and follows the live events until the stream ends: from
   * the durable log when the runtime has one (see {@link followFromLog}), else from the replay buffer
   * (ids `mob:<seq>` / `<member>:<seq>`; a `replay_truncated` frame first when some were evicted).
   */
  replayAndFollow(req: Request, conn: SseConnection, feed: StreamFeed): void {
    const frame = (e: SurfaceAgentEvent) => this.frame(feed.kind, e);
    if (this.log !== undefined) {
      void followFromLog(conn, {
        log: this.log,
        listen: (fn, member) => this.hub.listen(fn, member),
        frame,
        lastEventId: lastEventIdOf(req),
        onError: this.options.onError,
        ...(feed.member === undefined ? {} : { member: feed.member }),
      });
      return;
    }
    const { member } = feed;
    const resume = resumeFrom(req, feed.kind === 'mob' ? 'mob' : (member as string));
    if (resume && this.hub.buffer) {
      const { items, truncated } = this.hub.buffer.since(
        resume.seq,
        member === undefined ? undefined : (e) => e.memberId === member,
      );
      if (truncated)
        conn.send({
          event: 'replay_truncated',
          data: JSON.stringify({ type: 'replay_truncated', last_event_id: resume.raw }),
        });
      for (const e of items) if (!conn.sendRaw(frame(e))) return;
    }
    conn.onClose(this.hub.listen((e) => void conn.sendRaw(frame(e)), member));
  }

  /**
   * A stream opened with a token ends when the token would no longer be accepted (its exp plus the auth
   * leeway), with an `auth_expired` frame; the client reconnects with a fresh one.
   */
  private endAtTokenExpiry(req: Request, conn: SseConnection): void {
    const exp = req.mobkitIdentity?.jwt.expiresAtEpochSeconds;
    if (exp === undefined) return;
    const expire = () => {
      conn.send({
        event: 'auth_expired',
        data: JSON.stringify({ type: 'auth_expired', expired_at_epoch_seconds: exp }),
      });
      conn.end();
    };
    const deadlineMs = (exp + this.options.authLeewaySeconds) * 1000;
    let timer: NodeJS.Timeout | undefined;
    // setTimeout holds at most 2^31−1 ms (~24.8 days): a later deadline is re-armed when that elapses.
    const arm = () => {
      const ms = deadlineMs - Date.now();
      if (ms <= 0) {
        expire();
        return;
      }
      timer = setTimeout(arm, Math.min(ms, MAX_TIMER_MS));
      timer.unref?.();
    };
    arm();
    conn.onClose(() => clearTimeout(timer));
  }
}
