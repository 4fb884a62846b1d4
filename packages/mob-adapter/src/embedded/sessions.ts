import type { SessionMessage } from '../member-api.js';
import type { Durable, SessionRecord } from './durable.js';

/**
 * The sessions the mob knows and their committed messages (the `readSessionHistory` log). Without
 * a store the messages live here, in memory (bounded by `historyRetention` when set); with a store
 * they live only in the store and this keeps the session records of the roster and of the retired
 * members whose final records are kept. Session indexes never move: `count` is how many messages
 * were ever committed, `first` the oldest one still kept.
 */
export class SessionLogs {
  private readonly meta = new Map<string, SessionRecord>();
  private readonly logs = new Map<string, SessionMessage[]>();

  constructor(private readonly durable: Durable) {}

  /** The session record kept in memory, if any. */
  get(sessionId: string): SessionRecord | undefined {
    return this.meta.get(sessionId);
  }

  /** The session record, from memory or (with a store) from the store. */
  async find(sessionId: string): Promise<SessionRecord | undefined> {
    const known = this.meta.get(sessionId);
    if (known || !this.durable.persistent) return known;
    return this.durable.session(sessionId);
  }

  /** Starts keeping a session record (and, without a store, its messages). */
  add(session: SessionRecord, messages: SessionMessage[] = []): void {
    this.meta.set(session.sessionId, session);
    if (!this.durable.persistent) this.logs.set(session.sessionId, messages);
  }

  /** Forgets a session (memory only; the caller deletes its records). */
  forget(sessionId: string): void {
    this.meta.delete(sessionId);
    this.logs.delete(sessionId);
  }

  /** Sessions kept in memory that belong to `memberId`. */
  ofMember(memberId: string): SessionRecord[] {
    return [...this.meta.values()].filter((s) => s.memberId === memberId);
  }

  /** Records a committed message (after its commit): appended, or replacing the same index. */
  put(sessionId: string, message: SessionMessage): void {
    const s = this.meta.get(sessionId);
    if (!s) return;
    if (message.index >= s.count) s.count = message.index + 1;
    const log = this.logs.get(sessionId);
    if (log) log[message.index - s.first] = message;
  }

  /** Drops messages below index `first` (retention), after their records were deleted. */
  pruneTo(sessionId: string, first: number): void {
    const s = this.meta.get(sessionId);
    if (!s || first <= s.first) return;
    const log = this.logs.get(sessionId);
    if (log) log.splice(0, Math.min(first - s.first, log.length));
    s.first = Math.min(first, s.count);
  }

  /** Messages of `session` from index `from`, at most `limit` (from memory or from the store). */
  async read(session: SessionRecord, from: number, limit: number | undefined): Promise<SessionMessage[]> {
    const log = this.logs.get(session.sessionId);
    if (log)
      return structuredClone(
        log.slice(from - session.first, limit === undefined ? undefined : from - session.first + limit),
      );
    if (!this.durable.persistent) return [];
    return this.durable.messages(session.sessionId, from, limit);
  }

  /** In-memory messages of a session (no store), oldest first. */
  memoryLog(sessionId: string): SessionMessage[] | undefined {
    return this.logs.get(sessionId);
  }
}
