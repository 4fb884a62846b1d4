import { MobKitError } from '@mobkit/core';
import type { SqliteConnection } from './connection.js';
import { isThenable, type SqlRunner, sqliteCode, writeFailure } from './sql.js';

interface PendingWrite {
  readonly op: (sql: SqlRunner) => unknown;
  readonly atomic: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface RanWrite {
  readonly write: PendingWrite;
  readonly value: unknown;
}

/**
 * The most operations one group commit takes. Statements run synchronously, so a group holds the
 * event loop for as long as its operations run; this and {@link GROUP_BUDGET_MS} bound that.
 */
const MAX_GROUP = 512;
/** After this many milliseconds a group takes no further operations and commits. */
const GROUP_BUDGET_MS = 20;
/**
 * How long one `BEGIN IMMEDIATE` may block inside SQLite waiting for another process's write lock;
 * longer waits are retried on timers, so the event loop keeps running while another process writes.
 */
const BEGIN_WAIT_SLICE_MS = 25;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The one writer of a SQLite store in this process: every write goes through its queue onto the one
 * write connection. Writes that arrive while a group is in flight are GROUP-COMMITTED: the next
 * `BEGIN IMMEDIATE … COMMIT` runs all of them (up to {@link MAX_GROUP}, or {@link GROUP_BUDGET_MS}),
 * each in its own savepoint (unless it issues a single statement), so a failing one fails only its
 * own caller, and every caller's promise settles only after the commit that holds its write (or
 * rejects with `StoreWriteFailed` when that commit fails). Between groups the writer yields to the
 * event loop.
 */
export class GroupCommitWriter {
  private readonly queue: PendingWrite[] = [];
  private readonly tx: SqlRunner;
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly location: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.tx = {
      all: (sql, args) => this.guard(() => conn.all(sql, args)),
      get: (sql, args) => this.guard(() => conn.get(sql, args)),
      run: (sql, args) => this.guard(() => conn.run(sql, args)),
    };
    conn.exec(`PRAGMA busy_timeout = ${Math.min(busyTimeoutMs, BEGIN_WAIT_SLICE_MS)}`);
  }

  /** Queues `op` for the next group commit; resolves with its value once committed. */
  submit<T>(op: (sql: SqlRunner) => T | Promise<T>, atomic: boolean): Promise<T> {
    if (this.closed) return Promise.reject(closedError(this.location));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, atomic, resolve: resolve as (value: unknown) => void, reject });
      this.draining ??= this.drain();
    });
  }

  /** Refuses new writes and resolves once every queued one has settled. */
  async close(): Promise<void> {
    this.closed = true;
    await this.draining;
  }

  private guard<T>(statement: () => T): T {
    try {
      return statement();
    } catch (error) {
      throw writeFailure(error, this.location);
    }
  }

  private async drain(): Promise<void> {
    try {
      // Let the callers of this turn (and their promise chains) queue theirs before a group starts.
      await nextTurn();
      while (this.queue.length > 0) {
        await this.runGroup();
        if (this.queue.length > 0) await nextTurn();
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** `BEGIN IMMEDIATE`, retried on timers while another process holds the write lock, up to the busy timeout. */
  private async begin(): Promise<void> {
    const deadline = performance.now() + this.busyTimeoutMs;
    for (;;) {
      try {
        this.conn.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        const left = deadline - performance.now();
        if (!sqliteCode(error)?.startsWith('SQLITE_BUSY') || left <= 0) throw error;
        await sleep(Math.min(left, BEGIN_WAIT_SLICE_MS));
      }
    }
  }

  private async runGroup(): Promise<void> {
    try {
      await this.begin();
    } catch (error) {
      const failure = writeFailure(error, this.location);
      for (const write of this.queue.splice(0)) write.reject(failure);
      return;
    }
    const ran: RanWrite[] = [];
    const stopAt = performance.now() + GROUP_BUDGET_MS;
    let taken = 0;
    try {
      while (this.queue.length > 0 && taken < MAX_GROUP && (taken === 0 || performance.now() < stopAt)) {
        const write = this.queue.shift() as PendingWrite;
        taken += 1;
        const outcome = await this.runOne(write);
        if (outcome.ok) ran.push({ write, value: outcome.value });
        else if (!this.conn.inTransaction) throw lostTransaction(outcome.error, this.location);
      }
      this.conn.exec('COMMIT');
    } catch (error) {
      // The transaction is lost (SQLite ends it on I/O errors and full disks, or the commit failed):
      // what ran in it is not acknowledged; what had not run yet stays queued for the next group.
      if (this.conn.inTransaction) this.rollback();
      const failure = writeFailure(error, this.location);
      for (const done of ran) done.write.reject(failure);
      return;
    }
    for (const done of ran) done.write.resolve(done.value);
  }

  private rollback(): void {
    try {
      this.conn.exec('ROLLBACK');
    } catch {
      // Nothing more to undo: SQLite has ended the transaction already.
    }
  }

  /** Runs one write in its savepoint; a failure rejects its caller and undoes only its own changes. */
  private async runOne(write: PendingWrite): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
    try {
      if (!write.atomic) this.conn.exec('SAVEPOINT mobkit_write');
      let value = write.op(this.tx);
      if (isThenable(value)) value = await value;
      if (!write.atomic) this.conn.exec('RELEASE mobkit_write');
      return { ok: true, value };
    } catch (error) {
      // A transaction function's own error is rethrown as it is; a failed statement is StoreWriteFailed.
      write.reject(sqliteCode(error) === undefined ? error : writeFailure(error, this.location));
      if (!write.atomic && this.conn.inTransaction) {
        this.conn.exec('ROLLBACK TO mobkit_write');
        this.conn.exec('RELEASE mobkit_write');
      }
      return { ok: false, error };
    }
  }
}

/** `StoreWriteFailed` for the writes of a group whose transaction SQLite ended while one of them failed. */
function lostTransaction(cause: unknown, location: string): MobKitError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new MobKitError(
    'StoreWriteFailed',
    `a write to the SQLite store at ${location} failed and was not acknowledged: SQLite ended its transaction when another write in the same commit failed (${why}); check the disk (space, permissions) and retry`,
    { cause, details: { location } },
  );
}

/** `StoreClosed` for the store at `location`. */
export function closedError(location: string): MobKitError {
  return new MobKitError('StoreClosed', `the SQLite store at ${location} is closed; open it again to use it`, {
    details: { location },
  });
}
