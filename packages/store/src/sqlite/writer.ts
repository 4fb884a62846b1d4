import type { Client, Transaction } from '@libsql/client';
import { MobKitError } from '@mobkit/core';
import { type SqlRunner, sqliteCode, writeFailure } from './sql.js';

interface PendingWrite {
  readonly op: (sql: SqlRunner) => Promise<unknown>;
  readonly atomic: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface RanWrite {
  readonly write: PendingWrite;
  readonly value: unknown;
}

/** The most operations one group commit takes, so that one commit's latency stays bounded. */
const MAX_GROUP = 1024;

/**
 * The one writer of a SQLite store in this process: every write goes through its queue onto the one
 * write connection. Writes that arrive while a transaction is in flight are GROUP-COMMITTED: the next
 * transaction runs all of them, each in its own savepoint (unless it issues a single statement), so a
 * failing one fails only its own caller, and every caller's promise settles only after the commit
 * that holds its write (or rejects with `StoreWriteFailed` when that commit fails).
 */
export class GroupCommitWriter {
  private readonly queue: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly location: string,
  ) {}

  /** Queues `op` for the next group commit; resolves with its value once committed. */
  submit<T>(op: (sql: SqlRunner) => Promise<T>, atomic: boolean): Promise<T> {
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

  private async drain(): Promise<void> {
    // Let the callers of this tick queue theirs before the first transaction starts.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) await this.runGroup(this.queue.splice(0, MAX_GROUP));
    } finally {
      this.draining = undefined;
    }
  }

  private async runGroup(group: PendingWrite[]): Promise<void> {
    let tx: Transaction;
    try {
      tx = await this.client.transaction('write');
    } catch (error) {
      for (const write of group) write.reject(writeFailure(error, this.location));
      return;
    }
    const ran: RanWrite[] = [];
    let next = 0;
    try {
      while (next < group.length) {
        const write = group[next++] as PendingWrite;
        const outcome = await this.runOne(tx, write);
        if (outcome.ok) ran.push({ write, value: outcome.value });
        else if (tx.closed) throw outcome.error;
      }
      await tx.commit();
    } catch (error) {
      // The transaction is lost (SQLite ends it on I/O errors and full disks, or the commit failed):
      // what ran in it is not acknowledged, and what had not run yet goes in the next group.
      const failure = writeFailure(error, this.location);
      for (const done of ran) done.write.reject(failure);
      this.queue.unshift(...group.slice(next));
      return;
    } finally {
      tx.close();
    }
    for (const done of ran) done.write.resolve(done.value);
  }

  /** Runs one write in its savepoint; a failure rejects its caller and undoes only its own changes. */
  private async runOne(
    tx: Transaction,
    write: PendingWrite,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
    try {
      if (!write.atomic) await tx.execute('SAVEPOINT mobkit_write');
      const value = await write.op(tx);
      if (!write.atomic) await tx.execute('RELEASE mobkit_write');
      return { ok: true, value };
    } catch (error) {
      // A transaction function's own error is rethrown as it is; a failed statement is StoreWriteFailed.
      write.reject(sqliteCode(error) === undefined ? error : writeFailure(error, this.location));
      if (!write.atomic && !tx.closed) {
        await tx.execute('ROLLBACK TO mobkit_write');
        await tx.execute('RELEASE mobkit_write');
      }
      return { ok: false, error };
    }
  }
}

/** `StoreClosed` for the store at `location`. */
export function closedError(location: string): MobKitError {
  return new MobKitError('StoreClosed', `the SQLite store at ${location} is closed; open it again to use it`, {
    details: { location },
  });
}
