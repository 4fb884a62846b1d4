/**
 * Writing records: one put as one statement (its compare-and-set included), and many puts of one
 * group folded into at most three multi-row statements — each row's outcome computed on its own, so a
 * put that conflicts fails only its caller.
 * @module
 */
import { MobKitError } from '@mobkit/core';
import type { RecordPutOptions } from '@mobkit/core';
import { type Queryable, type Row, type Tables, num, prepared } from './sql.js';

/** The columns of the records table, in insert order. */
export const COLUMNS = 'namespace, key, value, version, updated_at_ms, index_value, range_value, text_value';

/** A checked put: every field already known to be storable. */
export interface RecordWrite {
  namespace: string;
  key: string;
  valueText: string;
  options: RecordPutOptions;
  nowMs: number;
}

/** The identity of a put's row within a group (NUL cannot occur in a checked namespace or key). */
export function rowIdOf(write: RecordWrite): string {
  return `${write.namespace}\u0000${write.key}`;
}

/** The `VersionConflict` of a compare-and-set that found `found` instead of `expected`. */
export function conflict(namespace: string, key: string, expected: number, found: number | undefined): MobKitError {
  const actual = found === undefined ? 'no record' : `version ${found}`;
  const wanted = expected === 0 ? 'no record yet' : `version ${expected}`;
  return new MobKitError(
    'VersionConflict',
    `record ${namespace}/${key}: expected ${wanted}, found ${actual}; read it again and retry`,
    { details: { namespace, key, expectedVersion: expected, foundVersion: found ?? 0 } },
  );
}

/** The stored version of a record, or undefined. */
export async function versionOf(q: Queryable, t: Tables, namespace: string, key: string): Promise<number | undefined> {
  const found = await q.query(prepared(`select version from ${t.records} where namespace = $1 and key = $2`), [
    namespace,
    key,
  ]);
  return found.rows[0] === undefined ? undefined : num(found.rows[0].version);
}

const SET_ALL = `value = excluded.value, version = r.version + 1, updated_at_ms = excluded.updated_at_ms,
  index_value = excluded.index_value, range_value = excluded.range_value, text_value = excluded.text_value`;

/** Resolves a compare-and-set's answer: the written version, or the conflict it met. */
async function casOutcome(q: Queryable, t: Tables, w: RecordWrite, row: Row | undefined): Promise<Row> {
  if (row !== undefined && row.version !== null) return row;
  const expected = w.options.expectedVersion ?? 0;
  let found = row === undefined || row.found === null ? undefined : num(row.found);
  // A writer that committed after this statement's snapshot was taken: read what it left.
  if (found === undefined || found === expected) found = await versionOf(q, t, w.namespace, w.key);
  throw conflict(w.namespace, w.key, expected, found);
}

/** One put as one statement: an upsert, or a compare-and-set that also reads the version it met. */
export async function putOne(q: Queryable, t: Tables, w: RecordWrite): Promise<Row> {
  const { options } = w;
  const values = [w.namespace, w.key, w.valueText, w.nowMs, options.index ?? null, options.range ?? null];
  values.push(options.text ?? null);
  const expected = options.expectedVersion;
  if (expected === undefined) {
    const sql = `insert into ${t.records} as r (${COLUMNS}) values ($1, $2, $3, 1, $4, $5, $6, $7)
                 on conflict (namespace, key) do update set ${SET_ALL} returning version`;
    return (await q.query(prepared(sql), values)).rows[0] as Row;
  }
  let write: string;
  if (expected === 0) {
    write = `insert into ${t.records} (${COLUMNS}) values ($1, $2, $3, 1, $4, $5, $6, $7)
             on conflict (namespace, key) do nothing returning version`;
  } else {
    values.push(expected);
    write = `update ${t.records} set value = $3, version = version + 1, updated_at_ms = $4, index_value = $5,
               range_value = $6, text_value = $7
             where namespace = $1 and key = $2 and version = $8 returning version`;
  }
  const result = await q.query(
    prepared(`with w as (${write})
     select (select version from w) as version,
            (select version from ${t.records} where namespace = $1 and key = $2) as found`),
    values,
  );
  return casOutcome(q, t, w, result.rows[0]);
}

const UNNEST = `unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::float8[], $7::text[], $8::bigint[])
  as s(n, k, v, u, i, g, x, e)`;

/** The multi-row statement of one kind of put: upsert, insert-if-absent (CAS 0) or update-at-version. */
function foldedSql(t: Tables, kind: 'upsert' | 'absent' | 'at'): string {
  const rows = `select n, k, v, 1, u, i, g, x from ${UNNEST}`;
  if (kind === 'upsert') {
    return `insert into ${t.records} as r (${COLUMNS}) ${rows}
            on conflict (namespace, key) do update set ${SET_ALL} returning namespace, key, version`;
  }
  const write =
    kind === 'absent'
      ? `insert into ${t.records} (${COLUMNS}) ${rows} on conflict (namespace, key) do nothing
         returning namespace, key, version`
      : `update ${t.records} as r set value = s.v, version = r.version + 1, updated_at_ms = s.u, index_value = s.i,
           range_value = s.g, text_value = s.x
         from ${UNNEST} where r.namespace = s.n and r.key = s.k and r.version = s.e
         returning r.namespace, r.key, r.version`;
  // Each row's answer: the version written, or the version this statement's snapshot saw.
  return `with w as (${write})
          select s.n as namespace, s.k as key, w.version, cur.version as found
          from unnest($1::text[], $2::text[]) as s(n, k)
          left join w on w.namespace = s.n and w.key = s.k
          left join ${t.records} cur on cur.namespace = s.n and cur.key = s.k`;
}

/**
 * Sends `writes` (distinct rows) as one statement per kind of put and resolves each on its own: its
 * written version, or its `VersionConflict`. A server error rejects every put of that statement.
 */
export function putMany(q: Queryable, t: Tables, writes: readonly RecordWrite[]): Promise<Row>[] {
  const kinds = { upsert: [] as number[], absent: [] as number[], at: [] as number[] };
  for (const [i, w] of writes.entries()) {
    const expected = w.options.expectedVersion;
    kinds[expected === undefined ? 'upsert' : expected === 0 ? 'absent' : 'at'].push(i);
  }
  const out: Promise<Row>[] = new Array(writes.length);
  for (const [kind, indexes] of Object.entries(kinds) as ['upsert' | 'absent' | 'at', number[]][]) {
    if (indexes.length === 1) out[indexes[0] as number] = putOne(q, t, writes[indexes[0] as number] as RecordWrite);
    if (indexes.length < 2) continue;
    const group = indexes.map((i) => writes[i] as RecordWrite);
    const column = <T>(pick: (w: RecordWrite) => T) => group.map(pick);
    const sent = q.query(prepared(foldedSql(t, kind)), [
      column((w) => w.namespace),
      column((w) => w.key),
      column((w) => w.valueText),
      column((w) => w.nowMs),
      column((w) => w.options.index ?? null),
      column((w) => w.options.range ?? null),
      column((w) => w.options.text ?? null),
      column((w) => w.options.expectedVersion ?? null),
    ]);
    const byRow = sent.then((result) => new Map(result.rows.map((row) => [`${row.namespace}\u0000${row.key}`, row])));
    for (const [j, i] of indexes.entries()) {
      const w = group[j] as RecordWrite;
      out[i] = byRow.then((rows) => {
        const row = rows.get(rowIdOf(w));
        return kind === 'upsert' ? (row as Row) : casOutcome(q, t, w, row);
      });
    }
  }
  return out;
}
