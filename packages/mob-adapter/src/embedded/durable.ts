import type { MobKitStore, RecordPutOptions, RecordsPort, StoreJson, StoreRecord } from '@mobkit/core';
import type { SessionMessage } from '../member-api.js';
import type { MemberState, MobStatus, SpawnMemberSpec } from '../types.js';
import type { RuntimeMode } from '../definition.js';
import type { MemberStats, OpenRun } from './member.js';

/**
 * The embedded mob's records in a store. Every namespace starts with `mob.`; every key starts with
 * the URI-encoded mob id and a `/`, so several mobs share one store and a prefix never matches
 * another mob's keys (an encoded id has no `/`).
 */
export const NS = Object.freeze({
  /** One record per mob: state and labels. */
  meta: 'mob.meta',
  /** The roster: one record per active (or retiring) member. */
  members: 'mob.members',
  /** Usage, last answer and last error per member. */
  stats: 'mob.stats',
  /** Sessions: member, created, message count, first retained index. */
  sessions: 'mob.sessions',
  /** Every committed session message (range: its index). */
  messages: 'mob.messages',
  /** Accepted host and peer messages not yet consumed by a run. */
  inbox: 'mob.inbox',
  /** The run each member has open (present only while it runs). */
  runs: 'mob.runs',
  /** Retired members' final records (range: when they retired). */
  finals: 'mob.finals',
});

/** The mob record. */
export interface MetaRecord {
  state: MobStatus;
  labels: Record<string, string>;
}

/** A roster record. */
export interface MemberRecord {
  memberId: string;
  profile: string;
  spec: SpawnMemberSpec;
  labels: Record<string, string>;
  runtimeMode: RuntimeMode;
  state: MemberState;
  sessionId: string;
  wired: string[];
}

/** A session record. */
export interface SessionRecord {
  sessionId: string;
  memberId: string;
  createdAtMs: number;
  /** Messages ever committed (the next message's index). */
  count: number;
  /** The oldest index still kept (above 0 once retention pruned). */
  first: number;
}

/** An inbox record (`item` is the {@link Inbound} without its seq). */
export interface InboxRecord {
  memberId: string;
  seq: number;
  acceptedAtMs: number;
  item: { kind: 'external'; content: unknown; source?: 'resume' } | { kind: 'peer'; from: string; body: string };
}

/** An open run record. */
export interface RunRecord extends OpenRun {
  memberId: string;
  status: 'running';
}

/** A retired member's final record (what `memberStatus` and `collectCompleted` answer after retirement). */
export interface FinalRecord {
  memberId: string;
  profile: string;
  runtimeMode: RuntimeMode;
  labels: Record<string, string>;
  sessionId: string;
  retiredAtMs: number;
  stats: MemberStats;
}

type Op =
  | { kind: 'put'; ns: string; key: string; value: StoreJson; options: RecordPutOptions | undefined }
  | { kind: 'delete'; ns: string; key: string };

/** Writes that commit together (one store transaction). */
export class Batch {
  readonly ops: Op[] = [];

  /** Puts `value` (undefined fields dropped) under `key`. */
  put(ns: string, key: string, value: unknown, options?: RecordPutOptions): this {
    this.ops.push({ kind: 'put', ns, key, value: toJson(value), options });
    return this;
  }

  /** Deletes `key`. */
  delete(ns: string, key: string): this {
    this.ops.push({ kind: 'delete', ns, key });
    return this;
  }
}

/** `value` as plain JSON (undefined fields dropped). */
function toJson(value: unknown): StoreJson {
  return JSON.parse(JSON.stringify(value ?? null)) as StoreJson;
}

/** A fixed-width decimal, so keys sort like the numbers. */
function pad(n: number): string {
  return n.toString().padStart(12, '0');
}

function applyOp(records: RecordsPort, op: Op): Promise<unknown> {
  return op.kind === 'put' ? records.put(op.ns, op.key, op.value, op.options) : records.delete(op.ns, op.key);
}

/** How many records one list page reads while restoring. */
const PAGE = 5000;

/**
 * The mob's view of its store: keys, one-transaction commits, and the bulk reads of a restore.
 * Without a store every commit is `undefined` (nothing to wait for), so the in-memory mob keeps
 * its synchronous paths.
 */
export class Durable {
  /** The URI-encoded mob id every key starts with. */
  readonly mobKey: string;

  constructor(
    readonly store: MobKitStore | undefined,
    mobId: string,
  ) {
    this.mobKey = encodeURIComponent(mobId);
  }

  /** True with a store. */
  get persistent(): boolean {
    return this.store !== undefined;
  }

  /** `<mob>/<member>`: member, stats, run and final records. */
  memberKey(memberId: string): string {
    return `${this.mobKey}/${encodeURIComponent(memberId)}`;
  }

  /** `<mob>/<session>`. */
  sessionKey(sessionId: string): string {
    return `${this.mobKey}/${encodeURIComponent(sessionId)}`;
  }

  /** `<mob>/<session>/` (every message of the session). */
  messagePrefix(sessionId: string): string {
    return `${this.sessionKey(sessionId)}/`;
  }

  /** `<mob>/<session>/<index>`. */
  messageKey(sessionId: string, index: number): string {
    return `${this.messagePrefix(sessionId)}${pad(index)}`;
  }

  /** `<mob>/<member>/` (the member's inbox). */
  inboxPrefix(memberId: string): string {
    return `${this.memberKey(memberId)}/`;
  }

  /** `<mob>/<member>/<seq>`. */
  inboxKey(memberId: string, seq: number): string {
    return `${this.inboxPrefix(memberId)}${pad(seq)}`;
  }

  /** Puts a session message (range: its index). */
  putMessage(batch: Batch, sessionId: string, message: SessionMessage): void {
    batch.put(NS.messages, this.messageKey(sessionId, message.index), message, { range: message.index });
  }

  /** Puts a session record (index: its member, for a purge). */
  putSession(batch: Batch, session: SessionRecord): void {
    batch.put(NS.sessions, this.sessionKey(session.sessionId), session, { index: this.memberKey(session.memberId) });
  }

  /**
   * Commits `batch` in one transaction (a single write goes straight to the records port). Resolves
   * once durable; rejects with the store's `MobKitError`, and then nothing of it was written.
   * Undefined without a store or with nothing to write.
   */
  commit(batch: Batch): Promise<void> | undefined {
    const store = this.store;
    if (!store || batch.ops.length === 0) return undefined;
    const [only] = batch.ops;
    if (batch.ops.length === 1 && only) return applyOp(store.records, only).then(() => undefined);
    return store.transaction(async (tx) => {
      await Promise.all(batch.ops.map((op) => applyOp(tx.records, op)));
    });
  }

  private requireStore(): MobKitStore {
    if (!this.store) throw new Error('the embedded mob has no store');
    return this.store;
  }

  /** Every record of `ns` under this mob, read in pages (key order). */
  async listAll<T extends StoreJson>(ns: string, prefix = `${this.mobKey}/`): Promise<StoreRecord<T>[]> {
    const records = this.requireStore().records;
    const out: StoreRecord<T>[] = [];
    let afterKey: string | undefined;
    for (;;) {
      const page = await records.list<T>(ns, { prefix, limit: PAGE, ...(afterKey ? { afterKey } : {}) });
      out.push(...page);
      if (page.length < PAGE) return out;
      afterKey = page[page.length - 1]?.key;
    }
  }

  /** The mob record, if the store holds this mob. */
  async meta(): Promise<MetaRecord | undefined> {
    const rec = await this.requireStore().records.get(NS.meta, this.mobKey);
    return rec?.value as unknown as MetaRecord | undefined;
  }

  /** A session record from the store. */
  async session(sessionId: string): Promise<SessionRecord | undefined> {
    const rec = await this.requireStore().records.get(NS.sessions, this.sessionKey(sessionId));
    return rec?.value as unknown as SessionRecord | undefined;
  }

  /** Up to `limit` messages of a session from index `from` on, in order. */
  async messages(sessionId: string, from: number, limit: number | undefined): Promise<SessionMessage[]> {
    const recs = await this.requireStore().records.list(NS.messages, {
      prefix: this.messagePrefix(sessionId),
      rangeMin: from,
      orderBy: 'range',
      ...(limit !== undefined ? { limit } : {}),
    });
    return recs.map((r) => r.value as unknown as SessionMessage);
  }

  /** The newest `limit` messages of a session, in order. */
  async newestMessages(sessionId: string, limit: number): Promise<SessionMessage[]> {
    const recs = await this.requireStore().records.list(NS.messages, {
      prefix: this.messagePrefix(sessionId),
      orderBy: 'range',
      order: 'desc',
      limit,
    });
    return recs.map((r) => r.value as unknown as SessionMessage).reverse();
  }

  /**
   * The newest `window` messages of each session in `sessions`: one paged scan of the mob's
   * messages when that reads little more than what is needed (`storedTotal`: what the mob's session
   * records count), else one bounded query per session.
   */
  async tails(
    sessions: readonly SessionRecord[],
    window: number,
    storedTotal: number,
  ): Promise<Map<string, SessionMessage[]>> {
    const out = new Map<string, SessionMessage[]>();
    const wanted = new Map<string, SessionRecord>();
    let needed = 0;
    for (const s of sessions) {
      wanted.set(s.sessionId, s);
      needed += Math.min(window, s.count - s.first);
    }
    if (wanted.size === 0) return out;
    if (storedTotal <= needed * 2 + PAGE) {
      for (const rec of await this.listAll(NS.messages)) {
        const msg = rec.value as unknown as SessionMessage;
        const sessionId = decodeURIComponent(rec.key.slice(this.mobKey.length + 1, rec.key.lastIndexOf('/')));
        const s = wanted.get(sessionId);
        if (!s || msg.index < s.count - window) continue;
        let list = out.get(sessionId);
        if (!list) {
          list = [];
          out.set(sessionId, list);
        }
        list.push(msg);
      }
      return out;
    }
    for (const s of sessions) out.set(s.sessionId, await this.newestMessages(s.sessionId, window));
    return out;
  }
}
