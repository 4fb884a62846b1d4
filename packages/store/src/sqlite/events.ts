import type {
  EventLogBounds,
  EventLogEntry,
  EventLogInput,
  EventLogPort,
  EventLogQuery,
  EventLogRetention,
  StoreJson,
} from '@mobkit/core';
import { MobKitError } from '@mobkit/core';
import { checkEventInput, optionalLimit, redactedData, requireFinite, requireName } from '../validate.js';
import type { Row, SqlPortContext, SqlRunner, SqlValue } from './sql.js';

/** The most entries one query returns (a larger `limit` is cut to it). */
export const SQLITE_EVENT_QUERY_CAP = 10_000;
const DEFAULT_LIMIT = 1_000;
/** Rows per multi-row INSERT (7 parameters each, well under SQLite's parameter limit). */
const INSERT_CHUNK = 500;

const COLUMNS = 'seq, id, timestamp_ms, member_id, kind, event_type, data';

interface EventRow {
  entry: EventLogEntry;
  dataJson: string;
}

function toEntry(row: Row): EventLogEntry {
  return {
    seq: Number(row.seq),
    id: String(row.id),
    timestampMs: Number(row.timestamp_ms),
    memberId: row.member_id === null ? null : String(row.member_id),
    kind: String(row.kind),
    eventType: String(row.event_type),
    data: JSON.parse(String(row.data)) as StoreJson,
  };
}

function lastSeq(sql: SqlRunner): number {
  return Number(sql.get(`SELECT value FROM meta WHERE key = 'last_seq'`)?.value ?? 0);
}

/** `count` placeholder groups of `group` (e.g. `(?, ?)`), joined by commas. */
function placeholders(count: number, group: string): string {
  return new Array<string>(count).fill(group).join(', ');
}

function insertRows(sql: SqlRunner, rows: readonly EventRow[]): void {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const chunk = rows.slice(start, start + INSERT_CHUNK);
    const args: SqlValue[] = [];
    for (const { entry, dataJson } of chunk) {
      args.push(entry.seq, entry.id, entry.timestampMs, entry.memberId, entry.kind, entry.eventType, dataJson);
    }
    sql.run(`INSERT INTO events (${COLUMNS}) VALUES ${placeholders(chunk.length, '(?, ?, ?, ?, ?, ?, ?)')}`, args);
  }
}

function setLastSeq(sql: SqlRunner, seq: number): void {
  sql.run(`UPDATE meta SET value = ? WHERE key = 'last_seq' AND value < ?`, [seq, seq]);
}

/** The stored entries among `ids`, by id. */
function storedByIds(sql: SqlRunner, ids: readonly string[]): Map<string, EventLogEntry> {
  const found = new Map<string, EventLogEntry>();
  for (let start = 0; start < ids.length; start += INSERT_CHUNK) {
    const chunk = ids.slice(start, start + INSERT_CHUNK);
    const rows = sql.all(`SELECT ${COLUMNS} FROM events WHERE id IN (${placeholders(chunk.length, '?')})`, chunk);
    for (const row of rows) found.set(String(row.id), toEntry(row));
  }
  return found;
}

function appendIn(sql: SqlRunner, events: readonly EventLogInput[], texts: string[]): EventLogEntry[] {
  const known = storedByIds(sql, [...new Set(events.map((event) => event.id))]);
  let seq = lastSeq(sql);
  const fresh: EventRow[] = [];
  const entries = events.map((event, i) => {
    const stored = known.get(event.id);
    if (stored) return stored;
    seq += 1;
    const entry: EventLogEntry = {
      seq,
      id: event.id,
      timestampMs: event.timestampMs,
      memberId: event.memberId,
      kind: event.kind,
      eventType: event.eventType,
      data: JSON.parse(texts[i] as string) as StoreJson,
    };
    known.set(event.id, entry);
    fresh.push({ entry, dataJson: texts[i] as string });
    return entry;
  });
  if (fresh.length > 0) {
    insertRows(sql, fresh);
    setLastSeq(sql, seq);
  }
  return entries;
}

function whereOf(query: EventLogQuery): { clause: string; args: SqlValue[] } {
  const parts: string[] = [];
  const args: SqlValue[] = [];
  const add = (condition: string, value: SqlValue) => {
    parts.push(condition);
    args.push(value);
  };
  if (query.afterSeq !== undefined) add('seq > ?', requireFinite(query.afterSeq, 'afterSeq'));
  if (query.sinceMs !== undefined) add('timestamp_ms >= ?', requireFinite(query.sinceMs, 'sinceMs'));
  if (query.untilMs !== undefined) add('timestamp_ms < ?', requireFinite(query.untilMs, 'untilMs'));
  if (query.memberId !== undefined) add('member_id = ?', requireName(query.memberId, 'memberId'));
  for (const [column, values] of [
    ['kind', query.kinds],
    ['event_type', query.eventTypes],
  ] as const) {
    if (values === undefined) continue;
    if (values.length === 0) return { clause: 'WHERE 0', args: [] };
    parts.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    args.push(...values.map((value, i) => requireName(value, `${column === 'kind' ? 'kinds' : 'eventTypes'}[${i}]`)));
  }
  return { clause: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, args };
}

/** The event log port over the `events` table; seqs are assigned inside the write transaction. */
export function sqliteEventLog(ctx: SqlPortContext): EventLogPort {
  return {
    async append(events) {
      if (!Array.isArray(events)) throw new MobKitError('InvalidInput', 'events must be an array of events');
      const texts = events.map((event, i) => checkEventInput(event, `events[${i}]`));
      if (events.length === 0) return [];
      return ctx.write((sql) => appendIn(sql, events, texts), false);
    },

    async query(query = {}) {
      const { clause, args } = whereOf(query);
      const limit = Math.min(optionalLimit(query.limit, 'limit') ?? DEFAULT_LIMIT, SQLITE_EVENT_QUERY_CAP);
      const order = query.order === 'desc' ? 'DESC' : 'ASC';
      return ctx.read
        .all(`SELECT ${COLUMNS} FROM events ${clause} ORDER BY seq ${order} LIMIT ?`, [...args, limit])
        .map(toEntry);
    },

    async bounds(): Promise<EventLogBounds> {
      const row = ctx.read.get(
        `SELECT (SELECT MIN(seq) FROM events) AS first_seq, (SELECT COUNT(*) FROM events) AS count,
                (SELECT value FROM meta WHERE key = 'last_seq') AS last_seq`,
      );
      return {
        firstSeq: Number(row?.first_seq ?? 0),
        lastSeq: Number(row?.last_seq ?? 0),
        count: Number(row?.count ?? 0),
      };
    },

    async restore(entries) {
      if (!Array.isArray(entries)) throw new MobKitError('InvalidInput', 'entries must be an array of log entries');
      const rows = entries.map((entry, i) => {
        const dataJson = checkEventInput(entry, `entries[${i}]`);
        if (!Number.isSafeInteger(entry.seq) || entry.seq < 1) {
          throw new MobKitError(
            'InvalidInput',
            `entries[${i}].seq must be a whole number >= 1, got ${String(entry.seq)}`,
          );
        }
        const previous = entries[i - 1];
        if (previous !== undefined && entry.seq <= previous.seq) {
          throw new MobKitError(
            'InvalidInput',
            `entries[${i}].seq ${entry.seq} is not greater than the one before it (${previous.seq})`,
          );
        }
        return { entry, dataJson };
      });
      if (rows.length === 0) return;
      await ctx.write((sql) => {
        const last = lastSeq(sql);
        const first = rows[0]?.entry.seq ?? 0;
        if (first <= last) {
          throw new MobKitError(
            'InvalidInput',
            `cannot restore entries from seq ${first}: the log has already assigned seqs up to ${last}; restore into a log whose lastSeq is below the first restored seq`,
            { details: { firstSeq: first, lastSeq: last } },
          );
        }
        const duplicates = storedByIds(
          sql,
          rows.map((row) => row.entry.id),
        );
        const duplicate = [...duplicates.keys()][0];
        if (duplicate !== undefined) {
          throw new MobKitError('InvalidInput', `cannot restore: an event with id ${duplicate} is already in the log`);
        }
        insertRows(sql, rows);
        setLastSeq(sql, rows[rows.length - 1]?.entry.seq ?? last);
      }, false);
    },

    async redact(memberId: string, reason: string) {
      requireName(memberId, 'memberId');
      if (typeof reason !== 'string') throw new MobKitError('InvalidInput', 'reason must be a string');
      const data = JSON.stringify(redactedData(reason));
      return ctx.write((sql) => sql.run('UPDATE events SET data = ? WHERE member_id = ?', [data, memberId]), false);
    },

    async prune(retention: EventLogRetention) {
      const nowMs = retention.nowMs === undefined ? ctx.nowMs() : requireFinite(retention.nowMs, 'nowMs');
      const maxAgeMs = retention.maxAgeMs === undefined ? undefined : requireFinite(retention.maxAgeMs, 'maxAgeMs');
      const maxRows = optionalLimit(retention.maxRows, 'maxRows');
      if (maxAgeMs === undefined && maxRows === undefined) return 0;
      return ctx.write((sql) => {
        let removed = 0;
        if (maxAgeMs !== undefined) removed += sql.run('DELETE FROM events WHERE timestamp_ms < ?', [nowMs - maxAgeMs]);
        if (maxRows !== undefined) {
          removed += sql.run(
            'DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?)',
            [maxRows],
          );
        }
        return removed;
      }, false);
    },
  };
}
