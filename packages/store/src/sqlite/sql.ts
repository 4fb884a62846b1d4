import { isMobKitError, MobKitError } from '@mobkit/core';
import type { Row, SqlValue } from './connection.js';

export type { Row, SqlValue } from './connection.js';

/**
 * Runs statements (synchronously) on the read connection, or in the write transaction a port's write
 * runs in. A failed statement throws a `MobKitError` (`StoreWriteFailed` on the write side,
 * `StoreUnavailable`/`StoreCorrupt` on the read side), never a driver error.
 */
export interface SqlRunner {
  /** Runs a statement that returns rows (SELECT, PRAGMA, a write with `RETURNING`) and returns them. */
  all(sql: string, args?: readonly SqlValue[]): Row[];
  /** Runs a statement and returns its first row (by key lookups, single-row `RETURNING`); read columns by name. */
  get(sql: string, args?: readonly SqlValue[]): Row | undefined;
  /** Runs a statement that returns no rows and returns the number of rows it changed. */
  run(sql: string, args?: readonly SqlValue[]): number;
}

/**
 * How a port writes: `run` gets the write transaction. `atomic` says the operation issues at most one
 * writing statement (SQLite rolls a failed statement back by itself), so it needs no savepoint of its
 * own; anything that writes twice must pass `false`.
 */
export type WriteRunner = <T>(op: (sql: SqlRunner) => T | Promise<T>, atomic: boolean) => Promise<T>;

/** What each port is built on: where reads go, how writes go, and the store's clock. */
export interface SqlPortContext {
  /** Reads: the read connections (committed data only), or the transaction (its own writes too). */
  readonly read: SqlRunner;
  /** Writes: the group-commit queue, or the open transaction. */
  readonly write: WriteRunner;
  /** The store's clock (`updatedAtMs`, claim and lease expiry). */
  readonly nowMs: () => number;
}

/** True when `value` is a promise (or another thenable), which an operation's result is awaited as. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The SQLite result codes that mean the file is not a database or is damaged. */
const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/** The SQLite code of a libsql error (`SQLITE_BUSY`, …), if it has one. */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** True when `error` says the database file is not SQLite or is damaged. */
export function isCorruption(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && [...CORRUPT_CODES].some((c) => code.startsWith(c));
}

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failed write as the ports report it: MobKit errors pass through, anything else is `StoreWriteFailed`. */
export function writeFailure(error: unknown, location: string): MobKitError {
  if (isMobKitError(error)) return error;
  return new MobKitError(
    'StoreWriteFailed',
    `a write to the SQLite store at ${location} failed and was not acknowledged: ${describeCause(error)}; check the disk (space, permissions) and retry`,
    { cause: error, details: { location, sqliteCode: sqliteCode(error) } },
  );
}

/** A failed read: MobKit errors pass through; a damaged file is `StoreCorrupt`, anything else `StoreUnavailable`. */
export function readFailure(error: unknown, location: string): MobKitError {
  if (isMobKitError(error)) return error;
  if (isCorruption(error)) return corruptStore(location, error);
  return new MobKitError(
    'StoreUnavailable',
    `a read from the SQLite store at ${location} failed: ${describeCause(error)}`,
    { cause: error, details: { location, sqliteCode: sqliteCode(error) } },
  );
}

/** `StoreCorrupt` for the file at `location`. */
export function corruptStore(location: string, cause?: unknown, why?: string): MobKitError {
  const reason = why ?? (cause === undefined ? 'it is damaged' : describeCause(cause));
  return new MobKitError(
    'StoreCorrupt',
    `the file ${location} is not a usable MobKit SQLite store (${reason}); restore it from a backup, or point the store at another path`,
    { cause, details: { location } },
  );
}

/** A nullable integer/real column as a number or undefined. */
export function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** A nullable text column as a string or undefined. */
export function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}
