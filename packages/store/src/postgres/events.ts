/**
 * The PostgreSQL event log: gapless seqs from a counter row locked inside each append's transaction.
 * @module
 */
import { MobKitError } from '@mobkit/core';
import type {
  EventLogBounds,
  EventLogEntry,
  EventLogInput,
  EventLogPort,
  EventLogQuery,
  EventLogRetention,
} from '@mobkit/core';
import { checkEventInput, redactedData, requireName } from '../validate.js';
import { type Exec, type Queryable, type Row, type Tables, checkInteger, checkText, num } from './sql.js';

/** The most entries one `query` returns, whatever its `limit`. */
export const MAX_EVENT_QUERY_LIMIT = 10_000;
const DEFAULT_LIMIT = 1_000;

const COLUMNS = 'seq, id, timestamp_ms, member_id, kind, event_type, data';

function entryOf(row: Row): EventLogEntry {
  return {
    seq: num(row.seq),
    id: String(row.id),
    timestampMs: num(row.timestamp_ms),
    memberId: row.member_id === null ? null : String(row.member_id),
    kind: String(row.kind),
    eventType: String(row.event_type),
    data: JSON.parse(String(row.data)),
  };
}

interface CheckedInput {
  input: EventLogInput;
  dataText: string;
}

function checkInput(event: EventLogInput, at: string): CheckedInput {
  return { input: event, dataText: checkEventInput(event, at) };
}

/** Inserts `rows` (seq given) with one statement. */
async function insertRows(q: Queryable, t: Tables, rows: { seq: number; checked: CheckedInput }[]): Promise<void> {
  const col = <T>(pick: (r: { seq: number; checked: CheckedInput }) => T) => rows.map(pick);
  await q.query(
    `insert into ${t.events} (${COLUMNS})
     select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])`,
    [
      col((r) => r.seq),
      col((r) => r.checked.input.id),
      col((r) => r.checked.input.timestampMs),
      col((r) => r.checked.input.memberId),
      col((r) => r.checked.input.kind),
      col((r) => r.checked.input.eventType),
      col((r) => r.checked.dataText),
    ],
  );
}

/** Locks the counter row (serializing appenders across processes) and reads the last seq. */
async function lockLastSeq(q: Queryable, t: Tables): Promise<number> {
  const locked = await q.query(`select last_seq from ${t.eventSeq} where id = 1 for update`);
  return num(locked.rows[0]?.last_seq);
}

async function append(q: Queryable, t: Tables, checked: CheckedInput[]): Promise<EventLogEntry[]> {
  // The lock comes first, in its own statement: the next statement's snapshot then sees every append
  // that committed before us, so the id check below cannot miss one.
  const lastSeq = await lockLastSeq(q, t);
  const ids = [...new Set(checked.map((c) => c.input.id))];
  const found = await q.query(`select ${COLUMNS} from ${t.events} where id = any($1::text[])`, [ids]);
  const byId = new Map<string, EventLogEntry>(found.rows.map((row) => [String(row.id), entryOf(row)]));
  const fresh: { seq: number; checked: CheckedInput }[] = [];
  const out: EventLogEntry[] = [];
  for (const c of checked) {
    let entry = byId.get(c.input.id);
    if (entry === undefined) {
      const seq = lastSeq + fresh.length + 1;
      fresh.push({ seq, checked: c });
      const { id, timestampMs, memberId, kind, eventType } = c.input;
      entry = { id, timestampMs, memberId, kind, eventType, data: JSON.parse(c.dataText), seq };
      byId.set(id, entry);
    }
    out.push(entry);
  }
  if (fresh.length > 0) {
    await insertRows(q, t, fresh);
    await q.query(`update ${t.eventSeq} set last_seq = $1 where id = 1`, [lastSeq + fresh.length]);
  }
  return out;
}

function whereOf(query: EventLogQuery): { where: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (clause: (n: string) => string, value: unknown) => {
    values.push(value);
    clauses.push(clause(`$${values.length}`));
  };
  if (query.afterSeq !== undefined) add((n) => `seq > ${n}`, checkInteger('query.afterSeq', query.afterSeq));
  if (query.sinceMs !== undefined) add((n) => `timestamp_ms >= ${n}`, checkInteger('query.sinceMs', query.sinceMs));
  if (query.untilMs !== undefined) add((n) => `timestamp_ms < ${n}`, checkInteger('query.untilMs', query.untilMs));
  if (query.memberId !== undefined) add((n) => `member_id = ${n}`, checkText('query.memberId', query.memberId));
  if (query.kinds !== undefined) {
    add(
      (n) => `kind = any(${n}::text[])`,
      query.kinds.map((k, i) => checkText(`query.kinds[${i}]`, k)),
    );
  }
  if (query.eventTypes !== undefined) {
    const types = query.eventTypes.map((k, i) => checkText(`query.eventTypes[${i}]`, k));
    add((n) => `event_type = any(${n}::text[])`, types);
  }
  return { where: clauses.length === 0 ? '' : `where ${clauses.join(' and ')}`, values };
}

async function prune(q: Queryable, t: Tables, retention: EventLogRetention, nowMs: number): Promise<number> {
  let removed = 0;
  if (retention.maxAgeMs !== undefined) {
    const cutoff =
      checkInteger('retention.nowMs', retention.nowMs ?? nowMs) -
      checkInteger('retention.maxAgeMs', retention.maxAgeMs, 0);
    removed += (await q.query(`delete from ${t.events} where timestamp_ms < $1`, [cutoff])).rowCount ?? 0;
  }
  if (retention.maxRows !== undefined) {
    const keep = checkInteger('retention.maxRows', retention.maxRows, 0);
    const deleted = await q.query(
      `delete from ${t.events} where seq <= (select seq from ${t.events} order by seq desc offset $1 limit 1)`,
      [keep],
    );
    removed += deleted.rowCount ?? 0;
  }
  return removed;
}

async function restore(q: Queryable, t: Tables, entries: readonly EventLogEntry[]): Promise<void> {
  const checked = entries.map((entry, i) => ({
    seq: checkInteger(`entries[${i}].seq`, entry.seq, 1),
    checked: checkInput(entry, `entries[${i}]`),
  }));
  if (checked.length === 0) return;
  const lastSeq = await lockLastSeq(q, t);
  let previous = lastSeq;
  for (const [i, { seq }] of checked.entries()) {
    if (seq <= previous) {
      const why = i === 0 ? `the log's lastSeq ${lastSeq}` : `the seq before it (${previous})`;
      throw new MobKitError('InvalidInput', `entries[${i}].seq ${seq} must be greater than ${why}`, {
        details: { field: `entries[${i}].seq` },
      });
    }
    previous = seq;
  }
  const ids = checked.map((c) => c.checked.input.id);
  const taken = await q.query(`select id from ${t.events} where id = any($1::text[]) limit 1`, [ids]);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i) ?? taken.rows[0]?.id;
  if (duplicate !== undefined) {
    throw new MobKitError('InvalidInput', `entries: the id ${JSON.stringify(duplicate)} is already in the log`, {
      details: { field: 'entries', id: duplicate },
    });
  }
  await insertRows(q, t, checked);
  await q.query(`update ${t.eventSeq} set last_seq = $1 where id = 1`, [previous]);
}

/** The event log port over `exec`. */
export function postgresEventLog(exec: Exec, t: Tables): EventLogPort {
  return {
    async append(events) {
      if (!Array.isArray(events)) throw new MobKitError('InvalidInput', 'events must be an array');
      const checked = events.map((event, i) => checkInput(event, `events[${i}]`));
      if (checked.length === 0) return [];
      return exec.write((q) => append(q, t, checked));
    },
    async query(query: EventLogQuery = {}) {
      const { where, values } = whereOf(query);
      const limit = Math.min(checkInteger('query.limit', query.limit ?? DEFAULT_LIMIT, 0), MAX_EVENT_QUERY_LIMIT);
      const order = query.order === 'desc' ? 'desc' : 'asc';
      const sql = `select ${COLUMNS} from ${t.events} ${where} order by seq ${order} limit ${limit}`;
      const result = await exec.read((q) => q.query(sql, values));
      return result.rows.map(entryOf);
    },
    async bounds(): Promise<EventLogBounds> {
      const result = await exec.read((q) =>
        q.query(
          `select (select last_seq from ${t.eventSeq} where id = 1) as last_seq,
                  (select min(seq) from ${t.events}) as first_seq, (select count(*) from ${t.events}) as count`,
        ),
      );
      const row = result.rows[0] ?? {};
      return { firstSeq: num(row.first_seq ?? 0), lastSeq: num(row.last_seq ?? 0), count: num(row.count ?? 0) };
    },
    async restore(entries) {
      if (!Array.isArray(entries)) throw new MobKitError('InvalidInput', 'entries must be an array');
      return exec.write((q) => restore(q, t, entries));
    },
    async prune(retention) {
      return exec.write((q) => prune(q, t, retention, exec.nowMs()));
    },
    async redact(memberId, reason) {
      const member = requireName(memberId, 'memberId');
      if (typeof reason !== 'string') throw new MobKitError('InvalidInput', 'reason must be a string');
      const data = JSON.stringify(redactedData(reason));
      const result = await exec.write((q) =>
        q.query(`update ${t.events} set data = $1 where member_id = $2`, [data, member]),
      );
      return result.rowCount ?? 0;
    },
  };
}
