/**
 * Group commit: every write through a PostgreSQL store's ports — and every `transaction(fn)` — queues
 * here, and one loop runs what has queued as one database transaction on one pooled client, so
 * concurrent callers share a COMMIT (and its fsync). A caller's promise settles only after the COMMIT
 * that holds its write has been acknowledged by the server.
 *
 * Round trips: the connection is in pipeline mode, so statements nobody waits on travel together.
 * BEGIN goes out with the group's first statement; every `independent` write (one statement decides
 * and does all of its writing, e.g. a record upsert with its compare-and-set) is sent without waiting
 * for the one before, and record puts are folded into multi-row statements (see `putMany`); a transaction's SAVEPOINT goes with its first statement and its RELEASE with
 * whatever follows; COMMIT goes out right behind the last statement. A group of plain record writes is
 * thus one round trip and one fsync, however many callers it holds.
 * @module
 */
import { MobKitError, isMobKitError } from '@mobkit/core';
import type pg from 'pg';
import { type Queryable, isServerError, wrapError } from './sql.js';

/** The most operations one group transaction carries. */
const MAX_BATCH = 256;

/**
 * How an operation runs in its group: `independent` ones are pipelined (their statements may
 * interleave with other operations' reads); `serial` ones (several statements that read what the
 * previous one did) run alone, in order; `isolated` is a caller's `transaction(fn)`, under a savepoint.
 */
export type WriteMode = 'independent' | 'serial' | 'isolated';

/** An independent write the writer may fold with others of its group into one statement. */
export interface Foldable {
  /** The row it writes: two writes of one row never fold into one statement (their order matters). */
  rowId: string;
  payload: unknown;
}

/** Sends many foldable writes (distinct rows) on `q` at once; one promise per payload, in order. */
export type Folder = (q: Queryable, payloads: unknown[]) => Promise<unknown>[];

interface Op {
  run: (q: Queryable) => Promise<unknown>;
  mode: WriteMode;
  fold?: Foldable;
  /** Already re-run once, alone, after its group failed. */
  retried: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** `own`: the error is the caller's own (its `fn` rejected), passed on as it is. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; own?: boolean };

/** A failure of the group as a whole, and whether COMMIT had been sent (its outcome is then unknown). */
class GroupFailed extends Error {
  constructor(
    readonly reason: unknown,
    readonly committing: boolean,
  ) {
    super('group failed');
  }
}

const ignore = () => undefined;

/**
 * The group-commit writer of one store.
 *
 * Retries: a group that fails before its COMMIT took effect (a lost connection before COMMIT was sent,
 * a server error such as a deadlock or a full disk — the server then answers COMMIT with a rollback)
 * landed nothing; its plain port writes are then re-run once each, alone, on a fresh connection — safe,
 * and it isolates a write that fails on its own. A `transaction(fn)` in such a group is never re-run
 * (its `fn` may have done other things): it rejects with `StoreWriteFailed`. A group whose COMMIT was
 * sent and not answered (the connection dropped) may or may not have landed: every write in it rejects
 * with `StoreWriteFailed` and none is retried. Nothing is ever acknowledged that was not committed.
 */
export class GroupWriter {
  private readonly queue: Op[] = [];
  private running: Promise<void> | undefined;

  /** @param folder sends a group's foldable writes together (see {@link GroupWriter.submit}). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly location: string,
    private readonly folder: Folder,
  ) {}

  /**
   * Queues `run` for the next group, to run as `mode` says. With `fold`, the write may instead be sent
   * by the folder together with other foldable writes of the group (still in queue order for its row).
   */
  submit<T>(run: (q: Queryable) => Promise<T>, mode: WriteMode, fold?: Foldable): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op: Op = { run, mode, retried: false, resolve: resolve as (v: unknown) => void, reject };
      if (fold !== undefined) op.fold = fold;
      this.queue.push(op);
      this.pump();
    });
  }

  /** Resolves when every queued write has settled. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** Starts the group loop unless it runs: one group at a time, each taking what queued meanwhile. */
  private pump(): void {
    if (this.running !== undefined || this.queue.length === 0) return;
    const group = this.queue.splice(0, MAX_BATCH);
    this.running = this.flush(group)
      .catch((error: unknown) => {
        // Not reached unless a bug: settle every op of the group rather than leave a caller hanging.
        for (const op of group) op.reject(wrapError(error, 'StoreWriteFailed', this.location, 'a write'));
      })
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
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
      else if (op.mode === 'isolated') failed(op, `its transaction was rolled back (${cause})`);
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
      const outcomes = await this.sendGroup(client, group, () => {
        committing = true;
      });
      return outcomes;
    } catch (error) {
      // A server error leaves the connection usable once rolled back; a lost connection is dropped.
      const failure =
        error instanceof GroupFailed ? error : new GroupFailed(error, committing && !isServerError(error));
      if (isServerError(failure.reason)) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
      } else {
        broken = failure.reason;
      }
      throw failure;
    } finally {
      client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  }

  /**
   * Sends BEGIN, the group's operations and COMMIT on `client`, waiting only where an operation needs
   * the answer of its own statement before its next one; then checks every answer. Throws
   * {@link GroupFailed} when the group as a whole did not commit (or may not have).
   */
  private async sendGroup(client: Queryable, group: Op[], onCommitSent: () => void): Promise<Outcome[]> {
    const statements: Promise<unknown>[] = [];
    const send = (sql: string) => {
      const sent = client.query(sql);
      sent.catch(ignore);
      statements.push(sent);
      return sent;
    };
    send('begin');
    const outcomes: Promise<Outcome>[] = new Array(group.length);
    // Foldable writes gather until another kind of op (or a second write of one of their rows) comes,
    // so every row sees its writes in queue order.
    const folding: number[] = [];
    const rows = new Set<string>();
    const sendFolded = () => {
      if (folding.length === 0) return;
      const results = this.folder(
        client,
        folding.map((i) => group[i]?.fold?.payload),
      );
      for (const [j, i] of folding.entries()) outcomes[i] = settle(results[j] as Promise<unknown>);
      folding.length = 0;
      rows.clear();
    };
    for (const [i, op] of group.entries()) {
      if (op.fold !== undefined) {
        if (rows.has(op.fold.rowId)) sendFolded();
        folding.push(i);
        rows.add(op.fold.rowId);
        continue;
      }
      sendFolded();
      if (op.mode === 'independent') outcomes[i] = settle(op.run(client));
      else if (op.mode === 'serial') outcomes[i] = Promise.resolve(await settle(op.run(client)));
      else outcomes[i] = Promise.resolve(await runIsolated(client, op, send));
    }
    sendFolded();
    const commit = client.query('commit');
    commit.catch(ignore);
    onCommitSent();
    const settled = await Promise.all(outcomes);
    let committed: { command?: string };
    try {
      for (const statement of statements) await statement;
      committed = (await commit) as { command?: string };
    } catch (error) {
      // A server error means the server rolled the group back: nothing of it landed.
      throw new GroupFailed(error, !isServerError(error));
    }
    // A failed statement aborts the transaction, and PostgreSQL then answers COMMIT with ROLLBACK.
    const failedStatement = settled.find((o) => !o.ok && o.own !== true && !isMobKitError(o.error));
    if (committed.command !== 'COMMIT') {
      throw new GroupFailed(failedStatement?.ok === false ? failedStatement.error : new Error('rolled back'), false);
    }
    // Committed: an op whose own follow-up read failed after it wrote nothing is refused, never acknowledged.
    return settled.map((o) =>
      o.ok || o.own === true || isMobKitError(o.error)
        ? o
        : { ok: false, error: wrapError(o.error, 'StoreWriteFailed', this.location, 'a write') },
    );
  }
}

async function settle(running: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await running };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Runs a caller's transaction under a savepoint. SAVEPOINT travels with `fn`'s first statement and
 * RELEASE with whatever is sent next (both are checked before COMMIT is trusted); when `fn` rejects,
 * its writes are rolled back to the savepoint before the group goes on, and its error is its outcome.
 */
async function runIsolated(client: Queryable, op: Op, send: (sql: string) => Promise<unknown>): Promise<Outcome> {
  const savepoint = send('savepoint mobkit_tx');
  let value: unknown;
  try {
    value = await op.run(client);
  } catch (error) {
    await savepoint;
    await client.query('rollback to savepoint mobkit_tx');
    return { ok: false, error, own: true };
  }
  send('release savepoint mobkit_tx');
  return { ok: true, value };
}

function causeText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
