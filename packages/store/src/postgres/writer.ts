/**
 * Group commit: every write through a PostgreSQL store's ports — and every `transaction(fn)` — queues
 * here, and one loop runs what has queued as one database transaction on one pooled client, so
 * concurrent callers share a COMMIT (and its fsync). A caller's promise settles only after the COMMIT
 * that holds its write has been acknowledged by the server.
 * @module
 */
import { MobKitError, isMobKitError } from '@mobkit/core';
import type pg from 'pg';
import { type Queryable, isServerError, wrapError } from './sql.js';

/** The most operations one group transaction carries. */
const MAX_BATCH = 256;

interface Op {
  run: (q: Queryable) => Promise<unknown>;
  /** A caller's `transaction(fn)`: runs under a savepoint and is never run twice. */
  isolated: boolean;
  /** Already re-run once, alone, after its group failed. */
  retried: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A failure of the group as a whole, and whether COMMIT had been sent (its outcome is then unknown). */
class GroupFailed extends Error {
  constructor(
    readonly reason: unknown,
    readonly committing: boolean,
  ) {
    super('group failed');
  }
}

/**
 * The group-commit writer of one store.
 *
 * Retries: a group that fails before its COMMIT is sent (a lost connection, a server error such as a
 * deadlock or a full disk) was rolled back by the server, so nothing of it landed; its plain port
 * writes are then re-run once each, alone, on a fresh connection — safe, and it isolates a write that
 * fails on its own. A `transaction(fn)` in such a group is never re-run (its `fn` may have done other
 * things): it rejects with `StoreWriteFailed`. A group whose COMMIT was sent and not answered (the
 * connection dropped) may or may not have landed: every write in it rejects with `StoreWriteFailed`
 * and none is retried. Nothing is ever acknowledged that was not committed.
 */
export class GroupWriter {
  private readonly queue: Op[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly location: string,
  ) {}

  /** Queues `run` for the next group; `isolated` for a caller's transaction (savepoint, no re-run). */
  submit<T>(run: (q: Queryable) => Promise<T>, isolated: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, isolated, retried: false, resolve: resolve as (v: unknown) => void, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when every queued write has settled. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.flush(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.running = undefined;
    }
  }

  private async flush(group: Op[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.runGroup(group);
    } catch (error) {
      const failure = error instanceof GroupFailed ? error : new GroupFailed(error, false);
      await this.recover(group, failure);
      return;
    }
    for (const [i, op] of group.entries()) {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.error);
    }
  }

  private async recover(group: Op[], failure: GroupFailed): Promise<void> {
    const failed = (op: Op, why: string) =>
      op.reject(
        new MobKitError('StoreWriteFailed', `a write to ${this.location} was not acknowledged: ${why}`, {
          cause: failure.reason,
          details: { location: this.location, cause: causeText(failure.reason) },
        }),
      );
    const cause = causeText(failure.reason);
    for (const op of group) {
      if (failure.committing)
        failed(op, `the connection was lost during COMMIT (${cause}); it may or may not have landed`);
      else if (op.isolated) failed(op, `its transaction was rolled back (${cause})`);
      else if (op.retried || group.length === 1)
        op.reject(wrapError(failure.reason, 'StoreWriteFailed', this.location, 'a write'));
      else {
        op.retried = true;
        await this.flush([op]);
      }
    }
  }

  /** Runs `group` as one transaction; an op's own refusal (a `MobKitError`) is its outcome, not the group's. */
  private async runGroup(group: Op[]): Promise<Outcome[]> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw new GroupFailed(error, false);
    }
    let broken: unknown;
    let committing = false;
    try {
      // Not awaited: it precedes the first op's statements on the connection, which fail if it did.
      const begun = client.query('begin');
      begun.catch(() => undefined);
      const outcomes: Outcome[] = [];
      for (const op of group) outcomes.push(op.isolated ? await runIsolated(client, op) : await runPlain(client, op));
      await begun;
      committing = true;
      await client.query('commit');
      return outcomes;
    } catch (error) {
      // A server error leaves the connection usable once rolled back; a lost connection is dropped.
      if (!committing && isServerError(error)) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
      } else {
        broken = error;
      }
      throw new GroupFailed(error, committing && !isServerError(error));
    } finally {
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }
}

async function runPlain(client: Queryable, op: Op): Promise<Outcome> {
  try {
    return { ok: true, value: await op.run(client) };
  } catch (error) {
    // A MobKitError from a port (VersionConflict, InvalidInput) is thrown before it wrote anything.
    if (isMobKitError(error)) return { ok: false, error };
    throw error;
  }
}

async function runIsolated(client: Queryable, op: Op): Promise<Outcome> {
  // Not awaited: on a pipelined client the savepoint travels with fn's first statement (it runs
  // first either way; if it failed, so does every statement after it, and it is awaited below).
  const savepoint = client.query('savepoint mobkit_tx');
  savepoint.catch(() => undefined);
  let value: unknown;
  try {
    value = await op.run(client);
    await savepoint;
  } catch (error) {
    await savepoint;
    await client.query('rollback to savepoint mobkit_tx');
    return { ok: false, error };
  }
  await client.query('release savepoint mobkit_tx');
  return { ok: true, value };
}

function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
