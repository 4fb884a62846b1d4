/**
 * What the PostgreSQL ports share: the query surface they run on (a pool, or the one client of a
 * transaction), input checks that keep every valid call free of SQL errors, and error wrapping.
 * @module
 */
import { createHash } from 'node:crypto';
import { MobKitError, isMobKitError } from '@mobkit/core';
import type { StoreJson } from '@mobkit/core';
import type { RecordWrite } from './record-writes.js';

/** A row as `pg` returns it. */
export type Row = Record<string, unknown>;

/** A statement prepared once per connection under `name` (see {@link prepared}). */
export interface PreparedStatement {
  name: string;
  text: string;
}

/** Something that runs one parameterized statement: a `pg.Pool` or a `pg.PoolClient`. */
export interface Queryable {
  query(
    text: string | PreparedStatement,
    values?: readonly unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null; command?: string }>;
}

const preparedByText = new Map<string, PreparedStatement>();

/**
 * `text` as a named statement: each connection parses and plans it once and then only binds values,
 * which saves the server most of the work of a small write. The name is a hash of the text (which
 * holds the schema), so two stores on one pool never share a name for different statements.
 */
export function prepared(text: string): PreparedStatement {
  let statement = preparedByText.get(text);
  if (statement === undefined) {
    statement = { name: `mobkit_${createHash('sha256').update(text).digest('hex').slice(0, 40)}`, text };
    preparedByText.set(text, statement);
  }
  return statement;
}

/**
 * How a port reaches the database: `read` runs on any connection (the pool, or the transaction's
 * client), `write` runs inside a transaction (the group-commit writer's batch, or the caller's
 * transaction). A write callback must not raise an SQL error for valid input; a `MobKitError` it throws
 * (e.g. `VersionConflict`) must be thrown before it has written anything.
 */
export interface Exec {
  read<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * `independent`: one statement of `fn` decides and does all of its writing (any later statement only
   * reads), so the group-commit writer may send it without waiting for the writes before it.
   */
  write<T>(fn: (q: Queryable) => Promise<T>, independent?: boolean): Promise<T>;
  /** Puts one record (an independent write the group-commit writer may fold with others into one statement). */
  putRecord(write: RecordWrite): Promise<Row>;
  /** The adapter's clock, for claim and lease expiry and `updatedAtMs`. */
  nowMs(): number;
}

/** Schema-qualified table names, quoted. */
export interface Tables {
  schema: string;
  schemaVersion: string;
  eventSeq: string;
  events: string;
  records: string;
  claims: string;
  leases: string;
}

/** The quoted table names of `schema` (already checked to be a plain identifier). */
export function tablesOf(schema: string): Tables {
  const q = `"${schema}"`;
  return {
    schema: q,
    schemaVersion: `${q}.schema_version`,
    eventSeq: `${q}.event_seq`,
    events: `${q}.events`,
    records: `${q}.records`,
    claims: `${q}.claims`,
    leases: `${q}.leases`,
  };
}

function invalid(field: string, what: string): MobKitError {
  return new MobKitError('InvalidInput', `${field} ${what}`, { details: { field } });
}

// Lone surrogates would be replaced on the way to UTF-8 and NUL is refused by PostgreSQL's text type.
const LONE_SURROGATE = /\p{Cs}/u;

/** A string PostgreSQL stores exactly (no NUL, no lone surrogate), or `InvalidInput` naming `field`. */
export function checkText(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${typeof value}`);
  if (value.includes('\u0000') || LONE_SURROGATE.test(value))
    throw invalid(field, 'must not contain NUL characters or unpaired surrogates');
  return value;
}

/** A safe integer, or `InvalidInput`. */
export function checkInteger(field: string, value: unknown, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `must be an integer >= ${min === Number.MIN_SAFE_INTEGER ? 'MIN_SAFE_INTEGER' : min}`);
  }
  return value;
}

/** A finite number, or `InvalidInput`. */
export function checkFinite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, 'must be a finite number');
  return value;
}

/**
 * The JSON text a value is stored as. Stored as text, not `jsonb`: `JSON.stringify` escapes NUL and
 * lone surrogates, which `jsonb` would refuse, and keys keep their order.
 */
export function jsonText(field: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw invalid(field, `is not JSON-serializable: ${(error as Error).message}`);
  }
  if (text === undefined) throw invalid(field, 'is not a JSON value');
  return text;
}

/** Parses stored JSON text. */
export function parseJson<T extends StoreJson>(text: unknown): T {
  return JSON.parse(String(text)) as T;
}

/** A `bigint`/`int8` column (returned by `pg` as a string) as a number. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** True for an error the server answered with (it has an SQLSTATE), as opposed to a lost connection. */
export function isServerError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isMobKitError(error);
}

/** `error` unless it is already a `MobKitError`: then a `code` error naming `location` and the cause. */
export function wrapError(
  error: unknown,
  code: 'StoreWriteFailed' | 'StoreUnavailable',
  location: string,
  doing: string,
): MobKitError {
  if (isMobKitError(error)) return error;
  const cause = error instanceof Error ? error.message : String(error);
  const what = code === 'StoreWriteFailed' ? 'was not written' : 'failed';
  return new MobKitError(code, `${doing} on ${location} ${what}: ${cause}`, {
    cause: error,
    details: { location, cause },
  });
}

/** Escapes `%`, `_` and `\` for a `like … escape '\'` pattern. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
