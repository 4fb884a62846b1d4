import { type MobKitStore, MobKitError, type StoreJson, type StoreRecord } from '@mobkit/core';
import { scopedKeyOf } from './idempotency.js';
import type { DeliveryLedger, LedgerEntry } from './ledger.js';
import { type EntryFailure, type LedgerPut, type LedgerWrite, LedgerGroupWriter } from './ledger-group.js';
import { DEFAULT_HISTORY_LIMIT, DEFAULT_IDEMPOTENCY_KEY_LIMIT, DEFAULT_IDEMPOTENCY_KEY_TTL_MS } from './schema.js';
import type { DeliveryHistoryQuery, DeliveryRecordWire } from './schema.js';

/** The records namespace of deliveries: one record per delivery id (its begin entry, then its finished record). */
export const DELIVERY_NAMESPACE = 'delivery.deliveries';
/** The records namespace of idempotency keys: one record per `route_id:key`, holding its delivery's latest entry. */
export const DELIVERY_KEYS_NAMESPACE = 'delivery.keys';

/** The value of a key record: which delivery holds the key, and that delivery's latest ledger entry. */
interface KeyRow {
  delivery_id: string;
  entry: LedgerEntry;
}

/** Options of {@link StoreLedger.open}. */
export interface StoreLedgerOptions {
  /** Finished deliveries kept for the history (the newest); default 200. Begun ones are never pruned. */
  historyLimit?: number;
  /** Idempotency keys kept (the newest); default 10 000. */
  idempotencyKeyLimit?: number;
  /** How long a key is kept after its delivery's last write (ms); default 24 h. */
  idempotencyKeyTtlMs?: number;
  /** Prune (history beyond its limit, expired and excess keys) after this many finished deliveries; default 64. */
  pruneEvery?: number;
  /** The time key expiry is measured on (default `Date.now`). */
  nowMs?: () => number;
}

function scopedOf(entry: LedgerEntry): string | undefined {
  if (entry.kind === 'begin')
    return entry.idempotency_key === undefined
      ? undefined
      : scopedKeyOf(entry.resolution.route_id, entry.idempotency_key);
  return entry.record.idempotency_key === undefined
    ? undefined
    : scopedKeyOf(entry.record.route_id, entry.record.idempotency_key);
}

function deliveryIdOf(entry: LedgerEntry): string {
  return entry.kind === 'begin' ? entry.delivery_id : entry.record.delivery_id;
}

function writeFailed(what: string, error: unknown): MobKitError {
  return new MobKitError('LedgerWriteFailed', `delivery ledger (store): ${what} (${(error as Error).message})`, {
    cause: error,
    details: { namespace: DELIVERY_NAMESPACE },
  });
}

/** The caller's error for an entry the group refused on its own: a key or delivery id already taken, bad input. */
function refusal(_write: LedgerWrite, failure: EntryFailure): MobKitError {
  const { put, error } = failure;
  const conflict = error instanceof MobKitError && error.code === 'VersionConflict';
  if (conflict && put.namespace === DELIVERY_KEYS_NAMESPACE) {
    return new MobKitError(
      'IdempotencyInFlight',
      `idempotency key ${JSON.stringify(put.key)} was taken by another writer of this store; retry to get its outcome`,
      { cause: error, details: { delivery_id: (put.value as unknown as KeyRow).delivery_id } },
    );
  }
  if (conflict) {
    return new MobKitError(
      'LedgerWriteFailed',
      `delivery ledger (store): delivery id ${put.key} is already in ${DELIVERY_NAMESPACE}; it was not written`,
      { cause: error, details: { namespace: DELIVERY_NAMESPACE, delivery_id: put.key } },
    );
  }
  return writeFailed(`cannot write ${put.namespace}/${put.key}`, error);
}

/**
 * The delivery ledger on a {@link MobKitStore}'s records (the store knows nothing of deliveries).
 * A delivery is one record in {@link DELIVERY_NAMESPACE} under its delivery id (ids sort by time),
 * indexed by recipient; a keyed delivery also owns a record in {@link DELIVERY_KEYS_NAMESPACE} under
 * `route_id:key`. The begin entry — the history row and the key reservation — is written in ONE
 * transaction before the first attempt, the key created with compare-and-set (`expectedVersion: 0`),
 * so two writers never both own a key; the finished record replaces both rows in one transaction.
 * Appends of concurrent sends (begins and finished records alike) are group-committed: they share one
 * transaction per group, each entry still landing whole or not at all, a refused key failing only its
 * own send, and each append resolving only after the commit that holds it.
 * A row still `begin` when a store is reopened is a delivery whose process died mid-attempt: it
 * replays as in doubt and is never attempted again. History beyond `historyLimit` and keys past
 * their ttl or limit are pruned in the background, a few transactions per `pruneEvery` sends.
 */
export class StoreLedger implements DeliveryLedger {
  private closed = false;
  /**
   * Keys this ledger knows exist in the store (so a new key is created with compare-and-set), oldest
   * write first (a key written again moves to the end), so pruning takes them from the front.
   */
  private readonly keys = new Map<string, { deliveryId: string; atMs: number }>();
  private finishedSincePrune = 0;
  private pruning: Promise<void> = Promise.resolve();
  private readonly writer: LedgerGroupWriter;
  private readonly historyLimit: number;
  private readonly keyLimit: number;
  private readonly keyTtlMs: number;
  private readonly pruneEvery: number;
  private readonly nowMs: () => number;

  private constructor(
    private readonly store: MobKitStore,
    private readonly loaded: LedgerEntry[],
    /** Finished deliveries in the store, oldest first: what pruning the history removes from the front. */
    private readonly finished: string[],
    options: StoreLedgerOptions,
  ) {
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    this.keyLimit = options.idempotencyKeyLimit ?? DEFAULT_IDEMPOTENCY_KEY_LIMIT;
    this.keyTtlMs = options.idempotencyKeyTtlMs ?? DEFAULT_IDEMPOTENCY_KEY_TTL_MS;
    this.pruneEvery = options.pruneEvery ?? 64;
    this.nowMs = options.nowMs ?? Date.now;
    this.writer = new LedgerGroupWriter(store, refusal, (error) =>
      writeFailed('cannot write a group of entries', error),
    );
  }

  /**
   * Reads what earlier runs left in `store`: the newest `historyLimit` deliveries, every delivery
   * still begun, and the newest `idempotencyKeyLimit` keys within their ttl.
   */
  static async open(store: MobKitStore, options: StoreLedgerOptions = {}): Promise<StoreLedger> {
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    const keyLimit = options.idempotencyKeyLimit ?? DEFAULT_IDEMPOTENCY_KEY_LIMIT;
    const ttl = options.idempotencyKeyTtlMs ?? DEFAULT_IDEMPOTENCY_KEY_TTL_MS;
    const now = (options.nowMs ?? Date.now)();
    const [recent, keyRows] = await Promise.all([
      store.records.list<StoreJson>(DELIVERY_NAMESPACE, { orderBy: 'range', order: 'desc', limit: historyLimit }),
      store.records.list<StoreJson>(DELIVERY_KEYS_NAMESPACE, {
        orderBy: 'range',
        order: 'desc',
        rangeMin: now - ttl,
        limit: keyLimit,
      }),
    ]);
    const byId = new Map<string, LedgerEntry>();
    for (const row of keyRows) {
      const value = row.value as unknown as KeyRow;
      byId.set(value.delivery_id, value.entry);
    }
    for (const row of recent) byId.set(row.key, row.value as unknown as LedgerEntry);
    // Begun deliveries older than the history window (a long retry when the process died) are in doubt too.
    const begun =
      recent.length < historyLimit
        ? []
        : await store.records.list<StoreJson>(DELIVERY_NAMESPACE, {
            orderBy: 'range',
            order: 'asc',
            rangeMax: (recent.at(-1)?.range ?? 0) + 1,
          });
    for (const row of begun) {
      const entry = row.value as unknown as LedgerEntry;
      if (entry.kind === 'begin') byId.set(row.key, entry);
    }
    // Finished rows oldest first: those before the window (left by a run that died before pruning), then the window's.
    const finished = new Set<string>();
    for (const row of [...begun, ...[...recent].reverse()]) {
      if ((row.value as unknown as LedgerEntry).kind === 'record') finished.add(row.key);
    }
    const entries = [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    const ledger = new StoreLedger(store, entries, [...finished], options);
    for (const row of [...keyRows].reverse()) {
      const value = row.value as unknown as KeyRow;
      ledger.keys.set(row.key, { deliveryId: value.delivery_id, atMs: row.range ?? 0 });
    }
    return ledger;
  }

  replay(): Iterable<LedgerEntry> {
    return [...this.loaded];
  }

  /**
   * `begin`: the delivery row and (for a keyed send) the key row, durable when it resolves.
   * `record`: the finished record over both rows. Concurrent appends share one transaction (see
   * {@link LedgerGroupWriter}); each resolves only once the commit holding it did.
   */
  async append(entry: LedgerEntry): Promise<void> {
    if (this.closed) throw new MobKitError('LedgerWriteFailed', 'delivery ledger (store): closed');
    await this.writer.submit(this.planOf(entry));
    if (entry.kind === 'record' && ++this.finishedSincePrune >= this.pruneEvery) {
      this.finishedSincePrune = 0;
      this.pruning = this.pruning.then(() => this.prune()).catch(() => undefined);
    }
  }

  /**
   * The puts of `entry`. A keyed begin writes its key row FIRST, created with compare-and-set when
   * this ledger never saw the key, so a key taken by another writer fails only this entry (nothing
   * written); the delivery row is created with compare-and-set too (ids never repeat). A finished
   * record replaces the delivery row, and the key row while the key still names this delivery.
   */
  private planOf(entry: LedgerEntry): LedgerWrite {
    const deliveryId = deliveryIdOf(entry);
    const scoped = scopedOf(entry);
    const owned = scoped === undefined ? undefined : this.keys.get(scoped);
    const begin = entry.kind === 'begin';
    const atMs = begin ? entry.at_ms : entry.record.final_attempt_ms;
    const deliveryPut: LedgerPut = {
      namespace: DELIVERY_NAMESPACE,
      key: deliveryId,
      value: entry as unknown as StoreJson,
      options: {
        index: begin ? entry.resolution.recipient : entry.record.recipient,
        range: begin ? entry.at_ms : entry.record.first_attempt_ms,
        ...(begin ? { expectedVersion: 0 } : {}),
      },
    };
    const finished = () => {
      if (!begin) this.finished.push(deliveryId);
    };
    if (scoped === undefined || !(begin || owned?.deliveryId === deliveryId))
      return { puts: [deliveryPut], committed: finished };
    const keyRow: KeyRow = { delivery_id: deliveryId, entry };
    const keyPut: LedgerPut = {
      namespace: DELIVERY_KEYS_NAMESPACE,
      key: scoped,
      value: keyRow as unknown as StoreJson,
      // A key this ledger never saw must not exist yet: compare-and-set against another writer.
      options: { range: atMs, ...(begin && owned === undefined ? { expectedVersion: 0 } : {}) },
    };
    return {
      puts: begin ? [keyPut, deliveryPut] : [deliveryPut, keyPut],
      committed: () => {
        finished();
        this.keys.delete(scoped);
        this.keys.set(scoped, { deliveryId, atMs });
      },
    };
  }

  /**
   * The newest `limit` finished deliveries matching `recipient`/`sink`, newest first, read from the
   * store (recipient by its index; sink filtered while paging back through the history).
   */
  async history(query: DeliveryHistoryQuery & { limit: number }): Promise<DeliveryRecordWire[]> {
    // The history keeps the newest `historyLimit`; rows past it wait for the next prune.
    const limit = Math.min(query.limit, this.historyLimit);
    const base = {
      ...(query.recipient === undefined ? {} : { index: query.recipient }),
      orderBy: 'range' as const,
      order: 'desc' as const,
    };
    // The namespace is bounded (the history limit, the sends in flight, the prune slack), so when
    // the first page does not hold enough matches the rest is read whole.
    const page = limit + 64;
    let rows = await this.store.records.list<StoreJson>(DELIVERY_NAMESPACE, { ...base, limit: page });
    let out = matching(rows, query.sink);
    if (out.length < limit && rows.length === page) {
      rows = await this.store.records.list<StoreJson>(DELIVERY_NAMESPACE, base);
      out = matching(rows, query.sink);
    }
    // Delivery ids sort by admission time, within a millisecond too.
    return out.sort((a, b) => (a.delivery_id < b.delivery_id ? 1 : -1)).slice(0, limit);
  }

  /**
   * Removes finished deliveries beyond the history limit (the oldest this ledger knows of: none is
   * ever written again, and a begun one is never among them) and keys past their ttl or the key limit,
   * in one transaction, without reading the store.
   */
  private async prune(): Promise<void> {
    if (this.closed) return;
    const oldDeliveries = this.finished.splice(0, Math.max(0, this.finished.length - this.historyLimit));
    const horizon = this.nowMs() - this.keyTtlMs;
    let excess = this.keys.size - this.keyLimit;
    const oldKeys: string[] = [];
    for (const [key, k] of this.keys) {
      if (excess <= 0 && k.atMs >= horizon) break;
      oldKeys.push(key);
      excess--;
    }
    if (oldDeliveries.length === 0 && oldKeys.length === 0) return;
    for (const key of oldKeys) this.keys.delete(key);
    try {
      await this.store.transaction(async (tx) => {
        await Promise.all([
          ...oldDeliveries.map((id) => tx.records.delete(DELIVERY_NAMESPACE, id)),
          ...oldKeys.map((key) => tx.records.delete(DELIVERY_KEYS_NAMESPACE, key)),
        ]);
      });
    } catch (error) {
      // Nothing was removed: the next prune takes these deliveries again (an expired key is never read back).
      this.finished.unshift(...oldDeliveries);
      throw error;
    }
  }

  /** Waits for queued appends and a running prune; later appends fail. The store stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.idle();
    await this.pruning;
  }
}

/** The finished records among `rows`, of `sink` when given. */
function matching(rows: readonly StoreRecord<StoreJson>[], sink: string | undefined): DeliveryRecordWire[] {
  const out: DeliveryRecordWire[] = [];
  for (const row of rows) {
    const entry = row.value as unknown as LedgerEntry;
    if (entry.kind === 'record' && (sink === undefined || entry.record.sink === sink)) out.push(entry.record);
  }
  return out;
}
