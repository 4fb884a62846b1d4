/**
 * `openPostgresStore`: a {@link MobKitStore} on PostgreSQL through a `pg` pool, with migrations at open
 * and group commit for writes.
 * @module
 */
import { type Clock, MobKitError, systemClock } from '@mobkit/core';
import type { MobKitStore, StoreInfo, StoreTransaction } from '@mobkit/core';
import pg from 'pg';
import { postgresClaims, postgresLeases } from './claims.js';
import { type PostgresTarget, locationOf, parsePostgresUrl, targetOfPool } from './connection.js';
import { postgresEventLog } from './events.js';
import { migrate } from './migrations.js';
import { type RecordWrite, putMany, putOne, rowIdOf } from './record-writes.js';
import { PutBatcher } from './put-batcher.js';
import { postgresRecords } from './records.js';
import { type Exec, type Queryable, tablesOf, wrapError } from './sql.js';
import { GroupWriter } from './writer.js';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (required unless `pool` is given). */
  url?: string;
  /** A pool to use instead of making one from `url`; the store leaves it open on `close()`. */
  pool?: pg.Pool;
  /** The schema the store's tables live in (default `mobkit`); a plain lower-case identifier. */
  schema?: string;
  /** The clock for `updatedAtMs` and for claim and lease expiry (default: the system clock). */
  clock?: Clock;
  /** The most connections the store's own pool opens (default 10). */
  max?: number;
  /** How long opening waits for the server before `StoreUnavailable` (default 5,000 ms). */
  connectTimeoutMs?: number;
}

function checkSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new MobKitError(
      'InvalidConfig',
      `store.schema ${JSON.stringify(schema)} is not a plain lower-case identifier (a-z, 0-9, _; e.g. "mobkit")`,
      { details: { field: 'store.schema' } },
    );
  }
  return schema;
}

function makePool(options: PostgresStoreOptions): { pool: pg.Pool; target: PostgresTarget; owned: boolean } {
  if (options.pool !== undefined) return { pool: options.pool, target: targetOfPool(options.pool), owned: false };
  const target = parsePostgresUrl(options.url);
  const max = options.max ?? 10;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new MobKitError('InvalidConfig', `store.max must be a positive integer, got ${max}`, {
      details: { field: 'store.max' },
    });
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // Statements a caller does not wait on (BEGIN, SAVEPOINT) go out with the next one.
    pipeline: true,
  });
  return { pool, target, owned: true };
}

/**
 * Opens a MobKit store on PostgreSQL: connects (within `connectTimeoutMs`), runs the schema's
 * migrations under an advisory lock (replicas opening at once are safe) and resolves with the store.
 *
 * Fails before anything is started: a malformed `url` → `InvalidConfig` naming `store.url`; a server
 * that is down, refuses the login or lacks the database → `StoreUnavailable` naming
 * `postgres://host:port/database` (never the password); a schema written by a newer MobKit →
 * `StoreSchemaTooNew`, nothing written.
 *
 * Writes: every write through the store's ports, and every `transaction(fn)`, joins a group that
 * commits as one PostgreSQL transaction (group commit); a promise resolves only once its group's COMMIT
 * is acknowledged. A write that fails (connection lost, server error) rejects with `StoreWriteFailed`
 * and is not acknowledged. Retried only where that is safe: a plain port write whose group the server
 * rolled back (so nothing of it landed) is re-run once, alone; a `transaction(fn)` is never re-run, and
 * nothing is retried when the answer to COMMIT was lost. Statements are pipelined (see the writer):
 * a group of plain record writes is one round trip. Reads run on the pool and fail with
 * `StoreUnavailable` when the server cannot be reached.
 *
 * `transaction(fn)` runs `fn` inside its group under a savepoint: its writes land with the group or,
 * when `fn` rejects, are rolled back alone. Transactions run one after another (one group at a time,
 * on one connection). Writes through the store's own ports while `fn` runs wait for the group, so `fn`
 * must use the ports it is given, never the store's.
 */
export async function openPostgresStore(options: PostgresStoreOptions = {}): Promise<MobKitStore> {
  const t = tablesOf(checkSchema(options.schema ?? 'mobkit'));
  const clock = options.clock ?? systemClock;
  const { pool, target, owned } = makePool(options);
  const location = locationOf(target);
  // An idle client whose connection drops emits on the pool; without a listener that ends the process.
  const onPoolError = () => undefined;
  pool.on('error', onPoolError);
  let schemaVersion: number;
  try {
    schemaVersion = await connectAndMigrate(pool, t, location);
  } catch (error) {
    pool.removeListener('error', onPoolError);
    if (owned) await pool.end().catch(() => undefined);
    throw error;
  }
  return assemble({ pool, owned, clock, t, onPoolError, info: { kind: 'postgres', location, schemaVersion } });
}

async function connectAndMigrate(pool: pg.Pool, t: ReturnType<typeof tablesOf>, location: string): Promise<number> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    const cause = error instanceof Error ? error.message || error.name : String(error);
    throw new MobKitError('StoreUnavailable', `cannot connect to the PostgreSQL store at ${location}: ${cause}`, {
      cause: error,
      details: { location, cause },
    });
  }
  try {
    return await migrate(client, t, location);
  } catch (error) {
    throw wrapError(error, 'StoreUnavailable', location, 'migrating the schema');
  } finally {
    client.release();
  }
}

interface Parts {
  pool: pg.Pool;
  owned: boolean;
  clock: Clock;
  t: ReturnType<typeof tablesOf>;
  onPoolError: () => void;
  info: StoreInfo;
}

function portsOver(exec: Exec, t: Parts['t']): StoreTransaction {
  return { events: postgresEventLog(exec, t), records: postgresRecords(exec, t), claims: postgresClaims(exec, t) };
}

function assemble(parts: Parts): MobKitStore {
  const { pool, clock, t, info } = parts;
  const writer = new GroupWriter(pool, info.location, (q, payloads) => putMany(q, t, payloads as RecordWrite[]));
  let closing: Promise<void> | undefined;
  const open = () => {
    if (closing !== undefined) {
      throw new MobKitError('StoreClosed', `the PostgreSQL store at ${info.location} is closed`, {
        details: { location: info.location },
      });
    }
  };
  const exec: Exec = {
    async read(fn) {
      open();
      try {
        return await fn(pool);
      } catch (error) {
        throw wrapError(error, 'StoreUnavailable', info.location, 'a read');
      }
    },
    async write(fn, independent) {
      open();
      return writer.submit(fn, independent === true ? 'independent' : 'serial');
    },
    async putRecord(write) {
      open();
      return writer.submit((q) => putOne(q, t, write), 'independent', { rowId: rowIdOf(write), payload: write });
    },
    nowMs: () => clock.nowMs(),
  };
  const ports = portsOver(exec, t);
  return {
    info,
    ...ports,
    leases: postgresLeases(exec, t),
    async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      open();
      return (await writer.submit((client) => runTransaction(client, info.location, clock, t, fn), 'isolated')) as T;
    },
    close() {
      closing ??= (async () => {
        await writer.idle();
        pool.removeListener('error', parts.onPoolError);
        if (parts.owned) await pool.end();
      })();
      return closing;
    },
  };
}

async function runTransaction<T>(
  client: Queryable,
  location: string,
  clock: Clock,
  t: Parts['t'],
  fn: (tx: StoreTransaction) => Promise<T>,
): Promise<T> {
  let ended = false;
  const live = () => {
    if (ended) throw new MobKitError('StoreClosed', 'the transaction has ended; use its ports only inside fn');
  };
  const puts = new PutBatcher(client, t);
  const exec: Exec = {
    async read(run) {
      live();
      puts.flush();
      try {
        return await run(client);
      } catch (error) {
        throw wrapError(error, 'StoreUnavailable', location, 'a read in a transaction');
      }
    },
    async write(run) {
      live();
      puts.flush();
      try {
        return await run(client);
      } catch (error) {
        throw wrapError(error, 'StoreWriteFailed', location, 'a write in a transaction');
      }
    },
    async putRecord(write) {
      live();
      try {
        return await puts.put(write);
      } catch (error) {
        throw wrapError(error, 'StoreWriteFailed', location, 'a write in a transaction');
      }
    },
    nowMs: () => clock.nowMs(),
  };
  try {
    return await fn(portsOver(exec, t));
  } finally {
    ended = true;
  }
}
