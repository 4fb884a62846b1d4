/**
 * The storage ports: what MobKit's durable state is written through. Types only — the adapters
 * (in-memory, SQLite, PostgreSQL) live in `@mobkit/store`, and only the umbrella (or an app) picks one
 * and hands each package the port it needs. Domain packages (delivery, scheduling, gating, memory)
 * depend on these interfaces, never on an adapter.
 *
 * Every method is async and every value is plain JSON. A promise that resolves means the write is
 * durable as far as the adapter promises (SQLite: across a killed process; PostgreSQL: committed);
 * a write that fails rejects with a `MobKitError` and has not happened.
 * @module
 */

/** A JSON value as the ports store it (what `JSON.parse(JSON.stringify(v))` gives back). */
export type StoreJson = null | boolean | number | string | StoreJson[] | { [key: string]: StoreJson };

// ------------------------------------------------------------------------------------------ event log

/** An event to append to the log (the log assigns its `seq`). */
export interface EventLogInput {
  /** Unique id of the event; appending an id already in the log is a no-op that returns the stored entry. */
  id: string;
  /** When the event happened (milliseconds since the epoch). */
  timestampMs: number;
  /** The member (agent) the event belongs to, or null. Indexed. */
  memberId: string | null;
  /** The event's kind (`agent`, `module`, `runtime`, `lifecycle`, …). Indexed. */
  kind: string;
  /** The event's type (`run_started`, `dispatch`, …). Indexed. */
  eventType: string;
  /** The whole event as it is served (e.g. the SSE frame's data). */
  data: StoreJson;
}

/** An event in the log: its input plus the gapless sequence number the log gave it. */
export interface EventLogEntry extends EventLogInput {
  /** 1, 2, 3, … in append order, with no gaps (a batch gets consecutive numbers). */
  seq: number;
}

/** A filter over the event log; every field narrows (AND), arrays match any of their values (OR). */
export interface EventLogQuery {
  /** Only entries with a greater seq. */
  afterSeq?: number;
  /** Only entries with `timestampMs >= sinceMs`. */
  sinceMs?: number;
  /** Only entries with `timestampMs < untilMs`. */
  untilMs?: number;
  /** Only this member's entries. */
  memberId?: string;
  /** Only these kinds. */
  kinds?: readonly string[];
  /** Only these event types. */
  eventTypes?: readonly string[];
  /** At most this many entries (the adapter may cap it; default 1,000). */
  limit?: number;
  /** `asc` (default: oldest first, from `afterSeq`) or `desc` (newest first). */
  order?: 'asc' | 'desc';
}

/** What retention removes: entries older than `maxAgeMs` (by timestamp) and beyond the newest `maxRows`. */
export interface EventLogRetention {
  /** Remove entries whose `timestampMs` is older than `nowMs - maxAgeMs`. */
  maxAgeMs?: number;
  /** Keep at most this many (the newest). */
  maxRows?: number;
  /** The time retention measures age from (default `Date.now()`). */
  nowMs?: number;
}

/** The first and last seq in the log (`0` and `0` when it is empty; `first` rises as retention prunes). */
export interface EventLogBounds {
  /** The smallest seq still in the log (0 when empty). */
  firstSeq: number;
  /** The largest seq ever assigned (0 when nothing was ever appended); it never goes back. */
  lastSeq: number;
  /** How many entries the log holds. */
  count: number;
}

/** An append-only log of events with gapless sequence numbers. */
export interface EventLogPort {
  /**
   * Appends a batch in order, as one write: either every new entry is stored with consecutive seqs or
   * none is. Ids already in the log (or repeated in the batch) are skipped and their stored entry
   * returned in place. Resolves with one entry per input, in input order.
   */
  append(events: readonly EventLogInput[]): Promise<EventLogEntry[]>;
  /** Entries matching `query`, in seq order (`asc` by default). */
  query(query?: EventLogQuery): Promise<EventLogEntry[]>;
  /** The first and last seq and the count. */
  bounds(): Promise<EventLogBounds>;
  /**
   * Writes entries that keep their own seq (for `mobkit store import`: moving a log keeps its
   * `Last-Event-ID`s valid). Every seq must be greater than the log's `lastSeq` and the entries in
   * ascending seq order; gaps between them are kept (they were pruned at the source). All or nothing.
   */
  restore(entries: readonly EventLogEntry[]): Promise<void>;
  /**
   * Removes what `retention` says; resolves with how many entries went. It may leave the log empty
   * (`count` 0, `firstSeq` 0); `lastSeq` stays, and the next append gets `lastSeq + 1`: seqs are never reused.
   */
  prune(retention: EventLogRetention): Promise<number>;
  /**
   * Replaces the `data` of every entry of `memberId` with `{redacted: true, reason}` (for a purge, so
   * an operator can honour a deletion request). Seq, id, timestamp, kind and event type stay, so
   * cursors and counts do not move; `memberId` itself is kept so the redaction can be audited.
   * Resolves with how many entries were redacted (already-redacted entries count again). All or nothing.
   */
  redact(memberId: string, reason: string): Promise<number>;
}

// ------------------------------------------------------------------------------------------ records

/** A stored record: a JSON value under a key in a namespace, with a version that rises on every write. */
export interface StoreRecord<T extends StoreJson = StoreJson> {
  namespace: string;
  key: string;
  value: T;
  /** 1 on create, +1 on every put. */
  version: number;
  /** When it was last written (the adapter's clock). */
  updatedAtMs: number;
  /** The secondary index value, if the record was put with one. */
  index?: string;
  /** The numeric field range queries use, if the record was put with one. */
  range?: number;
  /** The text the full-text search indexes, if the record was put with one. */
  text?: string;
}

/** Options of {@link RecordsPort.put}. */
export interface RecordPutOptions {
  /**
   * Compare-and-set: the version the caller read. `0` means "must not exist yet"; another number means
   * "must be at exactly that version". A mismatch rejects with `MobKitError('VersionConflict')` and
   * writes nothing. Omitted: write unconditionally.
   */
  expectedVersion?: number;
  /** A secondary index value (`list({ index })` finds records by it). */
  index?: string;
  /** A numeric field for range queries (`list({ rangeMin, rangeMax })`, ordered by it). */
  range?: number;
  /** Text to index for {@link RecordsPort.search}. */
  text?: string;
}

/** A filter of {@link RecordsPort.list}; every field narrows. */
export interface RecordListQuery {
  /** Only keys starting with this. */
  prefix?: string;
  /** Only records put with this index value. */
  index?: string;
  /** Only records whose range field is `>= rangeMin`. */
  rangeMin?: number;
  /** Only records whose range field is `< rangeMax`. */
  rangeMax?: number;
  /**
   * Keyset paging: only records after this key in the listing's order — after it in key order (before it
   * with `order: 'desc'`), or, with `orderBy: 'range'`, after that record's place in (range, key) order.
   */
  afterKey?: string;
  /** Order by key (default) or by the range field (then key). */
  orderBy?: 'key' | 'range';
  /** `asc` (default) or `desc`. */
  order?: 'asc' | 'desc';
  /** At most this many (default: all). */
  limit?: number;
}

/** Options of {@link RecordsPort.delete}. */
export interface RecordDeleteOptions {
  /** Compare-and-set: delete only at this version (`VersionConflict` otherwise). */
  expectedVersion?: number;
}

/** Keyed JSON records in namespaces, with compare-and-set, a secondary index, a range field and text search. */
export interface RecordsPort {
  /** The record, or undefined. */
  get<T extends StoreJson = StoreJson>(namespace: string, key: string): Promise<StoreRecord<T> | undefined>;
  /** Creates or replaces a record; resolves with what is stored (its new version). */
  put<T extends StoreJson>(
    namespace: string,
    key: string,
    value: T,
    options?: RecordPutOptions,
  ): Promise<StoreRecord<T>>;
  /** Deletes a record; resolves true when there was one. */
  delete(namespace: string, key: string, options?: RecordDeleteOptions): Promise<boolean>;
  /** Records of a namespace matching `query`. */
  list<T extends StoreJson = StoreJson>(namespace: string, query?: RecordListQuery): Promise<StoreRecord<T>[]>;
  /**
   * Records of a namespace whose text matches every word of `text` (SQLite FTS5, PostgreSQL full-text,
   * a plain word scan in memory), best match first.
   */
  search<T extends StoreJson = StoreJson>(
    namespace: string,
    text: string,
    options?: { limit?: number },
  ): Promise<StoreRecord<T>[]>;
  /** Every namespace that holds a record, sorted. */
  namespaces(): Promise<string[]>;
}

// ------------------------------------------------------------------------------------------ claims

/** Who holds a claim. */
export interface ClaimHolder {
  key: string;
  owner: string;
  claimedAtMs: number;
  /** When the claim lapses and another owner may take it (undefined: never). */
  expiresAtMs?: number;
}

/** The answer of {@link ClaimsPort.claim}: whether the caller got it, and who holds it now. */
export interface ClaimResult {
  /** True when this call took the claim (it was free, expired, or already the caller's). */
  claimed: boolean;
  holder: ClaimHolder;
}

/** Claim a key once: the first owner wins until it releases or its claim expires; holds across processes. */
export interface ClaimsPort {
  /** Takes `key` for `owner` (for `ttlMs`, or for good when omitted) unless another owner holds it. */
  claim(namespace: string, key: string, owner: string, options?: { ttlMs?: number }): Promise<ClaimResult>;
  /** Gives a claim back; resolves true when `owner` held it. */
  release(namespace: string, key: string, owner: string): Promise<boolean>;
  /** Who holds `key` now (undefined when free or expired). */
  holder(namespace: string, key: string): Promise<ClaimHolder | undefined>;
  /** The live claims of a namespace, by key. */
  list(namespace: string, options?: { prefix?: string; limit?: number }): Promise<ClaimHolder[]>;
  /** Every namespace that holds a live (unexpired) claim, sorted; for export and for the console. */
  namespaces(): Promise<string[]>;
}

// ------------------------------------------------------------------------------------------ leases

/** A held lease: one owner at a time, kept alive by renewing before `expiresAtMs`. */
export interface Lease {
  name: string;
  owner: string;
  /** Rises each time the lease changes hands (a fencing token). */
  token: number;
  expiresAtMs: number;
}

/** Leases with a TTL, for electing one replica among several on one database. */
export interface LeasesPort {
  /** Takes the lease for `ttlMs` if it is free, expired or already `owner`'s; undefined when another owner holds it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends `owner`'s lease by `ttlMs` from now; undefined when `owner` no longer holds it (it lapsed — taken or not: acquire again). */
  renew(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Releases `owner`'s lease; resolves true when it held it. */
  release(name: string, owner: string): Promise<boolean>;
  /** The current holder (undefined when free or expired). */
  current(name: string): Promise<Lease | undefined>;
}

// ------------------------------------------------------------------------------------------ the store

/** The ports a transaction can write through: all of its writes land together or none does. */
export interface StoreTransaction {
  readonly events: EventLogPort;
  readonly records: RecordsPort;
  readonly claims: ClaimsPort;
}

/** What a store is, for status and the console. */
export interface StoreInfo {
  /** `memory`, `sqlite`, `postgres`, or a user adapter's name. */
  kind: string;
  /** Where it keeps its data, safe to show (a file path, a host/database without password; `memory`). */
  location: string;
  /** The schema version the adapter wrote (0 for memory). */
  schemaVersion: number;
}

/**
 * A durable store: the four ports and transactions over them. Obtain one from `@mobkit/store`
 * (`openStore({ kind: 'sqlite', path })`, …); close it when done.
 */
export interface MobKitStore {
  readonly info: StoreInfo;
  readonly events: EventLogPort;
  readonly records: RecordsPort;
  readonly claims: ClaimsPort;
  readonly leases: LeasesPort;
  /**
   * Runs `fn` with ports whose writes commit together when it resolves, and are rolled back when it
   * rejects (its error is rethrown). Writes through the store's own ports while `fn` runs wait for it
   * (so `fn` must not call them: it would wait for itself). `fn` may call the transaction's ports
   * concurrently (issue several puts, then await them together); they apply in the order issued.
   * Transactions run one after another.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Releases files and connections; later calls reject with `StoreClosed`. Idempotent. */
  close(): Promise<void>;
}
