import type { RecordListQuery, RecordsPort, StoreJson, StoreRecord } from '@mobkit/core';
import { MobKitError } from '@mobkit/core';
import { optionalLimit, requireFinite, requireName, toJsonText } from '../validate.js';
import { optionalNumber, optionalString, type Row, type SqlPortContext, type SqlRunner, type SqlValue } from './sql.js';

const COLUMNS = 'namespace, key, value, version, updated_at_ms, idx, range, text';
const SEARCH_COLUMNS = COLUMNS.split(', ')
  .map((column) => `r.${column}`)
  .join(', ');

function toRecord<T extends StoreJson>(row: Row): StoreRecord<T> {
  const record: StoreRecord<T> = {
    namespace: String(row.namespace),
    key: String(row.key),
    value: JSON.parse(String(row.value)) as T,
    version: Number(row.version),
    updatedAtMs: Number(row.updated_at_ms),
  };
  const index = optionalString(row.idx);
  const range = optionalNumber(row.range);
  const text = optionalString(row.text);
  if (index !== undefined) record.index = index;
  if (range !== undefined) record.range = range;
  if (text !== undefined) record.text = text;
  return record;
}

function conflict(namespace: string, key: string, expected: number, found: number | undefined): MobKitError {
  const now = found === undefined ? 'it does not exist' : `it is at version ${found}`;
  return new MobKitError(
    'VersionConflict',
    `record ${namespace}/${key}: expected version ${expected}, but ${now}; read it again and retry`,
    { details: { namespace, key, expectedVersion: expected, foundVersion: found ?? 0 } },
  );
}

const INSERT_PREFIX = `INSERT INTO records (namespace, key, value, updated_at_ms, idx, range, text, version)
  VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (namespace, key)`;
/** A put without `expectedVersion`: create at version 1 or replace at the next version. */
const UPSERT = `${INSERT_PREFIX} DO UPDATE SET value = excluded.value, version = records.version + 1,
  updated_at_ms = excluded.updated_at_ms, idx = excluded.idx, range = excluded.range, text = excluded.text
  RETURNING version`;
/**
 * A put with `expectedVersion: 0`: create, or change nothing when the key exists. It runs without
 * `RETURNING` (which costs the driver a result row): one changed row means version 1.
 */
const INSERT_NEW = `${INSERT_PREFIX} DO NOTHING`;
/** A put with `expectedVersion: n`: replace only at version n (one changed row means version n + 1), or change nothing. */
const UPDATE_AT_VERSION = `UPDATE records SET value = ?, updated_at_ms = ?, idx = ?, range = ?, text = ?,
  version = version + 1 WHERE namespace = ? AND key = ? AND version = ?`;

/** The version of the stored record, or undefined when there is none. */
function storedVersion(sql: SqlRunner, namespace: string, key: string): number | undefined {
  return optionalNumber(
    sql.get('SELECT version FROM records WHERE namespace = ? AND key = ?', [namespace, key])?.version,
  );
}

/**
 * Writes one record in ONE statement (so the writer needs no savepoint for it) and returns the version
 * it now has: a compare-and-set runs without `RETURNING` and reads its outcome from the changed-row
 * count, since the version it writes is known; only an unconditional put needs `RETURNING version`.
 * Rejects with `VersionConflict` (naming the version found) when the compare-and-set changed nothing.
 */
function writeRecord(
  sql: SqlRunner,
  namespace: string,
  key: string,
  expected: number | undefined,
  fields: readonly SqlValue[],
): number {
  if (expected === undefined) {
    const row = sql.get(UPSERT, [namespace, key, ...fields]);
    if (row === undefined) {
      throw new MobKitError('StoreWriteFailed', `the put of record ${namespace}/${key} returned no version; retry it`, {
        details: { namespace, key },
      });
    }
    return Number(row.version);
  }
  const changed =
    expected === 0
      ? sql.run(INSERT_NEW, [namespace, key, ...fields])
      : sql.run(UPDATE_AT_VERSION, [...fields, namespace, key, expected]);
  if (changed === 0) throw conflict(namespace, key, expected, storedVersion(sql, namespace, key));
  return expected + 1;
}

/**
 * The record a put stored, with an own enumerable `value` that is `JSON.parse(json)`, parsed on first
 * read: the caller gets a copy of what was stored (never the object it passed in, so mutating either
 * leaves the other alone) without paying for the parse when it only needs the version (the ledger's
 * puts). Assigning `value` replaces it. An object literal's accessor keeps the object's fast shape.
 */
function storedRecord<T extends StoreJson>(
  namespace: string,
  key: string,
  json: string,
  version: number,
  updatedAtMs: number,
): StoreRecord<T> {
  let parsed: T | undefined;
  let isParsed = false;
  return {
    namespace,
    key,
    get value(): T {
      if (!isParsed) {
        parsed = JSON.parse(json) as T;
        isParsed = true;
      }
      return parsed as T;
    },
    set value(value: T) {
      parsed = value;
      isParsed = true;
    },
    version,
    updatedAtMs,
  };
}

/**
 * The smallest string greater than every string starting with `prefix` (in SQLite's binary order,
 * which is code-point order), or undefined when there is none.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) {
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

function whereOf(namespace: string, query: RecordListQuery): { clause: string; args: SqlValue[]; order: string } {
  const parts = ['namespace = ?'];
  const args: SqlValue[] = [namespace];
  const add = (condition: string, ...values: SqlValue[]) => {
    parts.push(condition);
    args.push(...values);
  };
  if (query.prefix !== undefined && query.prefix !== '') {
    add('key >= ?', String(query.prefix));
    const upper = prefixUpperBound(String(query.prefix));
    if (upper !== undefined) add('key < ?', upper);
  }
  if (query.index !== undefined) add('idx = ?', requireName(query.index, 'index'));
  if (query.rangeMin !== undefined) add('range >= ?', requireFinite(query.rangeMin, 'rangeMin'));
  if (query.rangeMax !== undefined) add('range < ?', requireFinite(query.rangeMax, 'rangeMax'));
  const desc = query.order === 'desc';
  const byRange = query.orderBy === 'range';
  const after = desc ? '<' : '>';
  if (query.afterKey !== undefined) {
    const afterKey = String(query.afterKey);
    if (byRange) {
      // Keyset paging in (range, key) order after the record the caller last saw (by key alone when
      // that record is gone); records without a range sort after those with one.
      const anchor = 'FROM records WHERE namespace = ? AND key = ?';
      add(
        `(CASE WHEN EXISTS (SELECT 1 ${anchor})
           THEN (range IS NULL, COALESCE(range, 0), key) ${after} (SELECT range IS NULL, COALESCE(range, 0), key ${anchor})
           ELSE key ${after} ? END)`,
        namespace,
        afterKey,
        namespace,
        afterKey,
        afterKey,
      );
    } else add(`key ${after} ?`, afterKey);
  }
  const direction = desc ? 'DESC' : 'ASC';
  const order = byRange ? `range IS NULL ${direction}, range ${direction}, key ${direction}` : `key ${direction}`;
  return { clause: parts.join(' AND '), args, order };
}

/** The words of a search text, as an FTS5 query that matches all of them. */
function ftsQuery(text: string): string | undefined {
  const words = text.match(/[\p{L}\p{N}]+/gu);
  return words === null ? undefined : words.map((word) => `"${word}"`).join(' ');
}

/** The records port over the `records` table (FTS5 keeps `records_fts` in step through triggers). */
export function sqliteRecords(ctx: SqlPortContext): RecordsPort {
  return {
    async get<T extends StoreJson = StoreJson>(namespace: string, key: string) {
      const row = ctx.read.get(`SELECT ${COLUMNS} FROM records WHERE namespace = ? AND key = ?`, [
        requireName(namespace, 'namespace'),
        requireName(key, 'key'),
      ]);
      return row === undefined ? undefined : toRecord<T>(row);
    },

    async put<T extends StoreJson>(
      namespace: string,
      key: string,
      value: T,
      options: Parameters<RecordsPort['put']>[3] = {},
    ) {
      requireName(namespace, 'namespace');
      requireName(key, 'key');
      const valueJson = toJsonText(value, 'value');
      const expected =
        options.expectedVersion === undefined ? undefined : optionalLimit(options.expectedVersion, 'expectedVersion');
      const index = options.index === undefined ? null : requireName(options.index, 'index');
      const range = options.range === undefined ? null : requireFinite(options.range, 'range');
      const text = options.text === undefined ? null : String(options.text);
      return ctx.write((sql) => {
        const now = ctx.nowMs();
        const version = writeRecord(sql, namespace, key, expected, [valueJson, now, index, range, text]);
        // The stored row is exactly these fields at the version SQLite assigned; its value is parsed
        // from the stored text only if the caller reads it.
        const record = storedRecord<T>(namespace, key, valueJson, version, now);
        if (index !== null) record.index = index;
        if (range !== null) record.range = range;
        if (text !== null) record.text = text;
        return record;
      }, true);
    },

    async delete(namespace, key, options = {}) {
      requireName(namespace, 'namespace');
      requireName(key, 'key');
      const expected =
        options.expectedVersion === undefined ? undefined : optionalLimit(options.expectedVersion, 'expectedVersion');
      return ctx.write((sql) => {
        const guard = expected === undefined ? '' : ' AND version = ?';
        const args: SqlValue[] = expected === undefined ? [namespace, key] : [namespace, key, expected];
        const removed = sql.run(`DELETE FROM records WHERE namespace = ? AND key = ?${guard}`, args);
        if (removed > 0 || expected === undefined) return removed > 0;
        throw conflict(namespace, key, expected, storedVersion(sql, namespace, key));
      }, true);
    },

    async list<T extends StoreJson = StoreJson>(namespace: string, query: RecordListQuery = {}) {
      const { clause, args, order } = whereOf(requireName(namespace, 'namespace'), query);
      const limit = optionalLimit(query.limit, 'limit');
      const rows = ctx.read.all(
        `SELECT ${COLUMNS} FROM records WHERE ${clause} ORDER BY ${order}${limit === undefined ? '' : ' LIMIT ?'}`,
        limit === undefined ? args : [...args, limit],
      );
      return rows.map((row) => toRecord<T>(row));
    },

    async search<T extends StoreJson = StoreJson>(namespace: string, text: string, options: { limit?: number } = {}) {
      requireName(namespace, 'namespace');
      const match = ftsQuery(String(text));
      const limit = optionalLimit(options.limit, 'limit');
      if (match === undefined || limit === 0) return [];
      const rows = ctx.read.all(
        `SELECT ${SEARCH_COLUMNS} FROM records_fts JOIN records r ON r.rowid = records_fts.rowid
         WHERE records_fts MATCH ? AND r.namespace = ?
         ORDER BY bm25(records_fts), r.key${limit === undefined ? '' : ' LIMIT ?'}`,
        limit === undefined ? [match, namespace] : [match, namespace, limit],
      );
      return rows.map((row) => toRecord<T>(row));
    },

    async namespaces() {
      return ctx.read
        .all('SELECT DISTINCT namespace FROM records ORDER BY namespace')
        .map((row) => String(row.namespace));
    },
  };
}
