import { MobKitError, type RecordsPort, type StoreJson, type StoreTransaction, isMobKitError } from '@mobkit/core';
import {
  type SessionPersistenceRow,
  type SessionStore,
  compareCodePoints,
  materializeLatestSessionRows,
  sessionRowFromWire,
  sessionRowToWire,
} from './row.js';

/** What {@link RecordsSessionStore} writes through: a store's records and its transactions. */
export interface RecordsSessionStoreBackend {
  readonly records: RecordsPort;
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
}

/** Options of {@link RecordsSessionStore}. */
export interface RecordsSessionStoreOptions {
  /** The namespace prefix of the store's records (default `session_rows`). */
  namespace?: string;
}

/** How many times an append is retried when another writer took the same sequence number first. */
const APPEND_ATTEMPTS = 8;
/** Width of the zero-padded numbers in keys, so key order is numeric order. */
const PAD = 16;
const LIVE = 'live';
const DELETED = 'deleted';

const pad = (n: number) => String(n).padStart(PAD, '0');

/**
 * The SQL session store (spec 12's semantics on a durable store: the embedded SQLite default, or
 * PostgreSQL), written through core's `RecordsPort`, so it runs on any adapter. Three namespaces:
 * - `<ns>`: every row as a record keyed by its append sequence (`0000000000000042`), with the
 *   session id as index and `updated_at_ms` as range — `readRows` is append order;
 * - `<ns>.latest`: per session id its latest row (greater `updated_at_ms`, ties ⇒ the later append),
 *   indexed `live` or `deleted` — `readLatestRows`/`readLiveRows` read only these;
 * - `<ns>.meta`: the sequence counter, advanced by compare-and-set.
 * An append writes all three in one transaction (retried when another process took the sequence).
 */
export class RecordsSessionStore implements SessionStore {
  private readonly rowsNs: string;
  private readonly latestNs: string;
  private readonly metaNs: string;

  constructor(
    private readonly backend: RecordsSessionStoreBackend,
    options: RecordsSessionStoreOptions = {},
  ) {
    const namespace = options.namespace ?? 'session_rows';
    if (namespace.trim() === '') {
      throw new MobKitError('InvalidInput', 'RecordsSessionStore namespace must not be blank', {
        details: { field: 'namespace' },
      });
    }
    this.rowsNs = namespace;
    this.latestNs = `${namespace}.latest`;
    this.metaNs = `${namespace}.meta`;
  }

  /** Appends `rows` in one transaction: all are stored (and the latest-per-session view updated) or none. */
  async appendRows(rows: readonly SessionPersistenceRow[]): Promise<void> {
    if (rows.length === 0) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.backend.transaction((tx) => this.appendIn(tx.records, rows));
        return;
      } catch (error) {
        if (attempt < APPEND_ATTEMPTS && isMobKitError(error, 'VersionConflict')) continue;
        throw error;
      }
    }
  }

  /** Every row, in append order. */
  async readRows(): Promise<SessionPersistenceRow[]> {
    const records = await this.backend.records.list(this.rowsNs, { orderBy: 'key' });
    return records.map((record) => this.decode(record.value, `${this.rowsNs}/${record.key}`));
  }

  /** The latest row of each session, sorted by session id. */
  async readLatestRows(): Promise<SessionPersistenceRow[]> {
    return this.readLatest();
  }

  /** The latest row of each session that is not a tombstone, sorted by session id. */
  async readLiveRows(): Promise<SessionPersistenceRow[]> {
    return this.readLatest(LIVE);
  }

  private async readLatest(index?: string): Promise<SessionPersistenceRow[]> {
    const records = await this.backend.records.list(this.latestNs, index === undefined ? {} : { index });
    return records
      .map((record) => this.decode(record.value, `${this.latestNs}/${record.key}`))
      .sort((a, b) => compareCodePoints(a.sessionId, b.sessionId));
  }

  private async appendIn(records: RecordsPort, rows: readonly SessionPersistenceRow[]): Promise<void> {
    const counter = await records.get<{ next: number }>(this.metaNs, 'seq');
    let next = counter === undefined ? 1 : counter.value?.next;
    if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 1) {
      throw new MobKitError(
        'InvalidStoreData',
        `session store counter ${this.metaNs}/seq is not {next: <positive integer>}`,
        {
          details: { namespace: this.metaNs, key: 'seq' },
        },
      );
    }
    await records.put(this.metaNs, 'seq', { next: next + rows.length }, { expectedVersion: counter?.version ?? 0 });
    // Within the batch a later row for the same session replaces an earlier one, as in the file.
    for (const row of materializeLatestSessionRows(rows)) {
      const current = await records.get(this.latestNs, row.sessionId);
      if (current !== undefined && this.decode(current.value, row.sessionId).updatedAtMs > row.updatedAtMs) continue;
      await records.put(this.latestNs, row.sessionId, this.encode(row), {
        expectedVersion: current?.version ?? 0,
        index: row.deleted ? DELETED : LIVE,
        range: row.updatedAtMs,
      });
    }
    for (const row of rows) {
      await records.put(this.rowsNs, pad(next++), this.encode(row), {
        expectedVersion: 0,
        index: row.sessionId,
        range: row.updatedAtMs,
      });
    }
  }

  private encode(row: SessionPersistenceRow): StoreJson {
    try {
      return JSON.parse(JSON.stringify(sessionRowToWire(row))) as StoreJson;
    } catch (error) {
      throw new MobKitError(
        'SessionStoreSerialize',
        `session row ${row.sessionId} could not be serialized: ${(error as Error).message}`,
        {
          cause: error,
          details: { session_id: row.sessionId },
        },
      );
    }
  }

  private decode(value: StoreJson, path: string): SessionPersistenceRow {
    return sessionRowFromWire(value, { path, code: 'InvalidStoreData' });
  }
}
