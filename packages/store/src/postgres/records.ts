/**
 * PostgreSQL records: upserts with compare-and-set on `version`, a partial index each for the index
 * value and the range field, and full-text search over a generated `tsvector` (the `simple` config).
 * @module
 */
import type { RecordListQuery, RecordPutOptions, RecordsPort, StoreJson, StoreRecord } from '@mobkit/core';
import {
  type Exec,
  type Row,
  type Tables,
  checkFinite,
  checkInteger,
  checkText,
  jsonText,
  likePrefix,
  num,
  parseJson,
  prepared,
} from './sql.js';
import { COLUMNS, conflict, versionOf } from './record-writes.js';

interface CheckedPut {
  namespace: string;
  key: string;
  valueText: string;
  options: RecordPutOptions;
}

function recordOf<T extends StoreJson>(row: Row): StoreRecord<T> {
  const record: StoreRecord<T> = {
    namespace: String(row.namespace),
    key: String(row.key),
    value: parseJson<T>(row.value),
    version: num(row.version),
    updatedAtMs: num(row.updated_at_ms),
  };
  if (row.index_value !== null) record.index = String(row.index_value);
  if (row.range_value !== null) record.range = num(row.range_value);
  if (row.text_value !== null) record.text = String(row.text_value);
  return record;
}

function checkPut(namespace: string, key: string, value: unknown, options: RecordPutOptions): CheckedPut {
  checkText('namespace', namespace);
  checkText('key', key);
  if (options.expectedVersion !== undefined) checkInteger('options.expectedVersion', options.expectedVersion, 0);
  if (options.index !== undefined) checkText('options.index', options.index);
  if (options.range !== undefined) checkFinite('options.range', options.range);
  if (options.text !== undefined) checkText('options.text', options.text);
  return { namespace, key, valueText: jsonText('value', value), options };
}

function listSql(t: Tables, namespace: string, query: RecordListQuery): { sql: string; values: unknown[] } {
  const values: unknown[] = [checkText('namespace', namespace)];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const where = ['namespace = $1'];
  if (query.prefix !== undefined && query.prefix !== '') {
    where.push(`key like ${param(likePrefix(checkText('query.prefix', query.prefix)))} escape '\\'`);
  }
  if (query.index !== undefined) where.push(`index_value = ${param(checkText('query.index', query.index))}`);
  if (query.rangeMin !== undefined)
    where.push(`range_value >= ${param(checkFinite('query.rangeMin', query.rangeMin))}`);
  if (query.rangeMax !== undefined) where.push(`range_value < ${param(checkFinite('query.rangeMax', query.rangeMax))}`);
  const desc = query.order === 'desc';
  const cmp = desc ? '<' : '>';
  // Unranged records sort after every ranged one (in ascending order).
  const rangeKey = `coalesce(range_value, 'Infinity'::float8)`;
  if (query.afterKey !== undefined) {
    const after = param(checkText('query.afterKey', query.afterKey));
    if (query.orderBy === 'range') {
      // After the named record's place in (range, key) order; by key alone when it is gone.
      const anchor = `(select ${rangeKey} as r from ${t.records} where namespace = $1 and key = ${after})`;
      where.push(
        `(case when exists ${anchor} then (${rangeKey}, key) ${cmp} ((select r from ${anchor} a), ${after}) else key ${cmp} ${after} end)`,
      );
    } else {
      where.push(`key ${cmp} ${after}`);
    }
  }
  const direction = desc ? 'desc' : 'asc';
  const order = query.orderBy === 'range' ? `${rangeKey} ${direction}, key ${direction}` : `key ${direction}`;
  const limit = query.limit === undefined ? '' : ` limit ${checkInteger('query.limit', query.limit, 0)}`;
  return { sql: `select ${COLUMNS} from ${t.records} where ${where.join(' and ')} order by ${order}${limit}`, values };
}

/** The records port over `exec`. */
export function postgresRecords(exec: Exec, t: Tables): RecordsPort {
  return {
    async get<T extends StoreJson = StoreJson>(namespace: string, key: string) {
      const values = [checkText('namespace', namespace), checkText('key', key)];
      const sql = `select ${COLUMNS} from ${t.records} where namespace = $1 and key = $2`;
      const found = await exec.read((q) => q.query(sql, values));
      return found.rows[0] === undefined ? undefined : recordOf<T>(found.rows[0]);
    },
    async put<T extends StoreJson>(namespace: string, key: string, value: T, options: RecordPutOptions = {}) {
      const checked = checkPut(namespace, key, value, options);
      const nowMs = exec.nowMs();
      const row = await exec.putRecord({ ...checked, nowMs });
      const record: StoreRecord<T> = {
        namespace,
        key,
        value: JSON.parse(checked.valueText) as T,
        version: num(row.version),
        updatedAtMs: nowMs,
      };
      if (options.index !== undefined) record.index = options.index;
      if (options.range !== undefined) record.range = options.range;
      if (options.text !== undefined) record.text = options.text;
      return record;
    },
    async delete(namespace, key, options = {}) {
      const values: unknown[] = [checkText('namespace', namespace), checkText('key', key)];
      const expected = options.expectedVersion;
      if (expected !== undefined) values.push(checkInteger('options.expectedVersion', expected, 0));
      const guard = expected === undefined ? '' : ' and version = $3';
      return exec.write(async (q) => {
        const deleted = await q.query(
          prepared(`delete from ${t.records} where namespace = $1 and key = $2${guard}`),
          values,
        );
        if ((deleted.rowCount ?? 0) > 0) return true;
        if (expected === undefined) return false;
        const found = await versionOf(q, t, namespace, key);
        if (found === undefined && expected === 0) return false;
        throw conflict(namespace, key, expected, found);
      }, true);
    },
    async list<T extends StoreJson = StoreJson>(namespace: string, query: RecordListQuery = {}) {
      const { sql, values } = listSql(t, namespace, query);
      const found = await exec.read((q) => q.query(sql, values));
      return found.rows.map((row) => recordOf<T>(row));
    },
    async search<T extends StoreJson = StoreJson>(namespace: string, text: string, options: { limit?: number } = {}) {
      const values: unknown[] = [checkText('namespace', namespace), checkText('text', text)];
      const limit = options.limit === undefined ? '' : ` limit ${checkInteger('options.limit', options.limit, 0)}`;
      const sql = `select ${COLUMNS} from ${t.records}, plainto_tsquery('simple'::regconfig, $2) as q
                   where namespace = $1 and numnode(q) > 0 and text_tsv @@ q
                   order by ts_rank(text_tsv, q) desc, key${limit}`;
      const found = await exec.read((q) => q.query(sql, values));
      return found.rows.map((row) => recordOf<T>(row));
    },
    async namespaces() {
      const found = await exec.read((q) => q.query(`select distinct namespace from ${t.records} order by namespace`));
      return found.rows.map((row) => String(row.namespace));
    },
  };
}
