import { accessSync, constants, mkdirSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Clock, MobKitError, type MobKitStore, type StoreTransaction, systemClock } from '@mobkit/core';
import { sqliteClaims } from './claims.js';
import { SqliteConnection } from './connection.js';
import { sqliteEventLog } from './events.js';
import { sqliteLeases } from './leases.js';
import { sqliteRecords } from './records.js';
import { migrate, SQLITE_SCHEMA_VERSION } from './schema.js';
import {
  corruptStore,
  isCorruption,
  isThenable,
  readFailure,
  type SqlPortContext,
  type SqlRunner,
  type WriteRunner,
} from './sql.js';
import { closedError, GroupCommitWriter } from './writer.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; missing parent directories are created. Relative paths resolve against the working directory. */
  path: string;
  /** The clock for `updatedAtMs`, claim and lease expiry (default: the system clock). */
  clock?: Clock;
  /** How long a write waits for another process's write lock before failing (default 5,000 ms). */
  busyTimeoutMs?: number;
}

/** What a SQLite store keeps beside its ports, for {@link backupSqliteStore}. */
interface SqliteInternals {
  readonly location: string;
  readonly reader: SqliteConnection;
  readonly isClosed: () => boolean;
}

const internals = new WeakMap<MobKitStore, SqliteInternals>();

/** The internals of a store opened by {@link openSqliteStore}, or undefined for any other store. */
export function sqliteInternals(store: MobKitStore): SqliteInternals | undefined {
  return internals.get(store);
}

const SQLITE_HEADER = 'SQLite format 3\u0000';
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

function unavailable(location: string, what: string, cause?: unknown): MobKitError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new MobKitError('StoreUnavailable', `${what}${reason}`, { cause, details: { location } });
}

/** Checks the path before SQLite sees it: the directory exists (created) and is writable, the file is SQLite. */
function preparePath(location: string): void {
  const dir = dirname(location);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw unavailable(
      location,
      `the SQLite store's data directory ${dir} cannot be created or written; choose a writable path for the store, or fix the directory's permissions`,
      error,
    );
  }
  let size: number;
  try {
    const stats = statSync(location);
    if (stats.isDirectory()) {
      throw unavailable(
        location,
        `the SQLite store path ${location} is a directory; give the path of a file (e.g. ${location}/mobkit.db)`,
      );
    }
    size = stats.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (size === 0) return;
  const header = Buffer.alloc(16);
  const fd = openSync(location, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || header.toString('latin1') !== SQLITE_HEADER) {
    throw corruptStore(location, undefined, 'it is not an SQLite database');
  }
}

function openConnection(location: string, busyTimeoutMs: number): SqliteConnection {
  try {
    return new SqliteConnection(location, busyTimeoutMs);
  } catch (error) {
    if (isCorruption(error)) throw corruptStore(location, error);
    throw unavailable(
      location,
      `the SQLite store at ${location} could not be opened; check the path and its permissions`,
      error,
    );
  }
}

/** Maps anything an open step threw to the store's open errors. */
function openFailure(error: unknown, location: string): MobKitError {
  if (error instanceof MobKitError) return error;
  if (isCorruption(error)) return corruptStore(location, error);
  return unavailable(
    location,
    `the SQLite store at ${location} could not be opened; check the path and its permissions`,
    error,
  );
}

function configure(conn: SqliteConnection, location: string): number {
  // Read the schema version (and refuse a newer one) before anything is written, WAL mode included.
  const found = migrate(conn, location);
  const mode = conn.all('PRAGMA journal_mode = WAL');
  if (String(mode[0]?.journal_mode).toLowerCase() !== 'wal') {
    throw unavailable(
      location,
      `the SQLite store at ${location} could not switch to WAL mode (the file system may not support it)`,
    );
  }
  conn.exec('PRAGMA synchronous = NORMAL');
  return found;
}

/**
 * Opens (creating it if missing) the SQLite store in one file: WAL, `synchronous=NORMAL` (an
 * acknowledged write survives a killed process; not a power loss), a busy timeout so that several
 * processes can share the file, and the schema migrated to {@link SQLITE_SCHEMA_VERSION} in one
 * transaction. Statements run on the synchronous `libsql` driver with prepared statements cached per
 * connection. Writes go through one connection in group commits (at most 512 operations
 * or 20 ms of work per group, yielding to the event loop between groups; a write that
 * finds another process holding the lock waits on timers, up to `busyTimeoutMs`); reads use a second
 * connection and see only committed data.
 *
 * Fails before anything is started: `StoreUnavailable` when the directory cannot be created or
 * written, `StoreCorrupt` when the file is not a MobKit SQLite store or is damaged,
 * `StoreSchemaTooNew` when a newer MobKit wrote it. `info.location` is the absolute path.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<MobKitStore> {
  if (typeof options?.path !== 'string' || options.path.trim() === '') {
    throw new MobKitError('InvalidConfig', 'sqlite store: path must be a non-empty file path', {
      details: { field: 'path' },
    });
  }
  const location = resolve(options.path);
  const clock = options.clock ?? systemClock;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new MobKitError(
      'InvalidConfig',
      `sqlite store: busyTimeoutMs must be a whole number >= 0, got ${busyTimeoutMs}`,
      {
        details: { field: 'busyTimeoutMs' },
      },
    );
  }
  preparePath(location);
  const writeConn = openConnection(location, busyTimeoutMs);
  let reader: SqliteConnection | undefined;
  let writer: GroupCommitWriter;
  try {
    configure(writeConn, location);
    writer = new GroupCommitWriter(writeConn, location, busyTimeoutMs);
    reader = openConnection(location, busyTimeoutMs);
    // The read connection never writes; this makes SQLite refuse it if a bug ever tried.
    reader.exec('PRAGMA query_only = 1');
  } catch (error) {
    writeConn.close();
    reader?.close();
    throw openFailure(error, location);
  }
  return buildStore(location, clock, { writeConn, writer, reader });
}

interface Connections {
  readonly writeConn: SqliteConnection;
  readonly writer: GroupCommitWriter;
  readonly reader: SqliteConnection;
}

function buildStore(location: string, clock: Clock, { writeConn, writer, reader }: Connections): MobKitStore {
  let closed = false;
  const readGuard = <T>(statement: () => T): T => {
    if (closed) throw closedError(location);
    try {
      return statement();
    } catch (error) {
      throw readFailure(error, location);
    }
  };
  // One read connection is enough: its calls are synchronous, so they never overlap in this process.
  const read: SqlRunner = {
    all: (sql, args) => readGuard(() => reader.all(sql, args)),
    get: (sql, args) => readGuard(() => reader.get(sql, args)),
    run: (sql, args) => readGuard(() => reader.run(sql, args)),
  };
  const nowMs = () => clock.nowMs();
  const write: WriteRunner = (op, atomic) => writer.submit(op, atomic);
  const ctx: SqlPortContext = { read, write, nowMs };

  const store: MobKitStore = {
    info: { kind: 'sqlite', location, schemaVersion: SQLITE_SCHEMA_VERSION },
    events: sqliteEventLog(ctx),
    records: sqliteRecords(ctx),
    claims: sqliteClaims(ctx),
    leases: sqliteLeases(ctx),
    transaction: (fn) => writer.submit((sql) => runTransaction(sql, nowMs, location, fn), false),
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      writeConn.close();
      reader.close();
    },
  };
  internals.set(store, { location, reader, isClosed: () => closed });
  return store;
}

/**
 * Runs `fn` inside the group's write transaction (in its own savepoint, which the writer rolls back
 * when `fn` rejects). Its ports read and write on the transaction, so they see their own writes; each
 * multi-statement write gets a nested savepoint, so a write that fails and is caught by `fn` leaves
 * nothing half-done. The ports refuse use after `fn` settled.
 */
async function runTransaction<T>(
  sql: SqlRunner,
  nowMs: () => number,
  location: string,
  fn: (tx: StoreTransaction) => Promise<T>,
): Promise<T> {
  let open = true;
  const ended = () =>
    new MobKitError('StoreClosed', `a transaction of the SQLite store at ${location} was used after it ended`);
  const guarded: SqlRunner = {
    all(statement, args) {
      if (!open) throw ended();
      return sql.all(statement, args);
    },
    get(statement, args) {
      if (!open) throw ended();
      return sql.get(statement, args);
    },
    run(statement, args) {
      if (!open) throw ended();
      return sql.run(statement, args);
    },
  };
  const write: WriteRunner = async (op, atomic) => {
    if (atomic) return op(guarded);
    guarded.run('SAVEPOINT mobkit_tx_write');
    try {
      // A synchronous operation runs start to end without yielding, so concurrent writes inside `fn`
      // never interleave their savepoints.
      let value = op(guarded);
      if (isThenable(value)) value = await value;
      guarded.run('RELEASE mobkit_tx_write');
      return value;
    } catch (error) {
      guarded.run('ROLLBACK TO mobkit_tx_write');
      guarded.run('RELEASE mobkit_tx_write');
      throw error;
    }
  };
  const ctx: SqlPortContext = { read: guarded, write, nowMs };
  try {
    return await fn({ events: sqliteEventLog(ctx), records: sqliteRecords(ctx), claims: sqliteClaims(ctx) });
  } finally {
    open = false;
  }
}
