import Database from 'libsql';

/** A value bound to a statement parameter. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** A result row, by column name. */
export type Row = Record<string, unknown>;

type LibsqlDatabase = InstanceType<typeof Database>;
type LibsqlStatement = ReturnType<LibsqlDatabase['prepare']>;

/**
 * How many prepared statements one connection keeps. The ports use a few dozen distinct SQL texts
 * (plus one per distinct `IN (…)`/multi-row size), so this holds the working set with room to spare;
 * past it the least recently used statement is dropped.
 */
const STATEMENT_CACHE_SIZE = 256;

/**
 * One connection to the store's file through the synchronous `libsql` driver, with a cache of
 * prepared statements keyed by SQL text: a reused statement runs in microseconds, where preparing one
 * costs far more than running it. Every call blocks the event loop for the statement's duration.
 */
export class SqliteConnection {
  private readonly db: LibsqlDatabase;
  private readonly statements = new Map<string, LibsqlStatement>();

  /** Opens `path` (created if missing); `busyTimeoutMs` is how long a statement waits for another connection's lock. */
  constructor(path: string, busyTimeoutMs: number) {
    this.db = new Database(path, { timeout: busyTimeoutMs });
  }

  /** Runs a statement that returns rows (a SELECT, a PRAGMA, a write with `RETURNING`) and returns them. */
  all(sql: string, args: readonly SqlValue[] = []): Row[] {
    return this.statement(sql).all(args) as Row[];
  }

  /**
   * Runs a statement and returns its first row (undefined when none): for a lookup by key or a write
   * whose `RETURNING` yields one row; cheaper than {@link all}. The driver adds an enumerable
   * `_metadata` key to the row, so read the columns by name rather than spreading it.
   */
  get(sql: string, args: readonly SqlValue[] = []): Row | undefined {
    return this.statement(sql).get(args) as Row | undefined;
  }

  /** Runs a statement that returns no rows; returns the number of rows it changed. */
  run(sql: string, args: readonly SqlValue[] = []): number {
    return this.statement(sql).run(args).changes;
  }

  /** Runs SQL without parameters or results (transaction control, DDL); not cached. */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** True while a transaction is open on this connection (SQLite ends one by itself on some failures). */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  /** Closes the connection; its statements go with it. */
  close(): void {
    this.statements.clear();
    this.db.close();
  }

  private statement(sql: string): LibsqlStatement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) {
      // Move it to the young end of the map's insertion order.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const prepared = this.db.prepare(sql);
    this.statements.set(sql, prepared);
    if (this.statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.statements.keys().next().value as string;
      this.statements.delete(oldest);
    }
    return prepared;
  }
}
