import type {
  EventLogBounds,
  EventLogEntry,
  EventLogInput,
  EventLogPort,
  EventLogQuery,
  EventLogRetention,
} from '@mobkit/core';
import { MobKitError } from '@mobkit/core';
import { type EventLogView, type StoredEvent, toEntry } from './event-log-state.js';
import type { PortAccess } from './access.js';
import { checkEventInput, optionalLimit, redactedData, requireFinite, requireName } from '../validate.js';

/** How many entries a query returns when it names no limit. */
const DEFAULT_QUERY_LIMIT = 1000;

function toStored(input: EventLogInput, seq: number, where: string): StoredEvent {
  const dataJson = checkEventInput(input, where);
  const { id, timestampMs, memberId, kind, eventType } = input;
  return { seq, id, timestampMs, memberId, kind, eventType, dataJson };
}

function append(view: EventLogView, events: readonly EventLogInput[]): EventLogEntry[] {
  if (!Array.isArray(events)) throw new MobKitError('InvalidInput', 'events.append expects an array of events');
  const fresh: StoredEvent[] = [];
  const inBatch = new Map<string, StoredEvent>();
  const answer: StoredEvent[] = [];
  let seq = view.lastSeq;
  events.forEach((input, i) => {
    const id = requireName(input?.id, `events[${i}].id`);
    const known = view.byId(id) ?? inBatch.get(id);
    if (known) {
      answer.push(known);
      return;
    }
    const stored = toStored(input, seq + 1, `events[${i}]`);
    seq += 1;
    fresh.push(stored);
    inBatch.set(id, stored);
    answer.push(stored);
  });
  view.add(fresh);
  return answer.map(toEntry);
}

function matches(entry: StoredEvent, q: EventLogQuery): boolean {
  if (q.sinceMs !== undefined && entry.timestampMs < q.sinceMs) return false;
  if (q.untilMs !== undefined && entry.timestampMs >= q.untilMs) return false;
  if (q.memberId !== undefined && entry.memberId !== q.memberId) return false;
  if (q.kinds !== undefined && !q.kinds.includes(entry.kind)) return false;
  if (q.eventTypes !== undefined && !q.eventTypes.includes(entry.eventType)) return false;
  return true;
}

function query(view: EventLogView, q: EventLogQuery = {}): EventLogEntry[] {
  const limit = optionalLimit(q.limit, 'query.limit') ?? DEFAULT_QUERY_LIMIT;
  const order = q.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new MobKitError('InvalidInput', `query.order must be "asc" or "desc", got ${String(order)}`);
  }
  const found: EventLogEntry[] = [];
  if (limit === 0) return found;
  view.scan(order, q.afterSeq ?? 0, (entry) => {
    if (matches(entry, q)) found.push(toEntry(entry));
    return found.length < limit;
  });
  return found;
}

function bounds(view: EventLogView): EventLogBounds {
  let firstSeq = 0;
  view.scan('asc', 0, (entry) => {
    firstSeq = entry.seq;
    return false;
  });
  return { firstSeq, lastSeq: view.lastSeq, count: view.count };
}

function restore(view: EventLogView, entries: readonly EventLogEntry[]): void {
  if (!Array.isArray(entries)) throw new MobKitError('InvalidInput', 'events.restore expects an array of entries');
  const stored: StoredEvent[] = [];
  const ids = new Set<string>();
  let previous = view.lastSeq;
  entries.forEach((entry, i) => {
    const seq = entry?.seq;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq <= previous) {
      throw new MobKitError(
        'InvalidInput',
        `entries[${i}].seq must be a whole number greater than ${previous} (the log's lastSeq is ${view.lastSeq}; entries go in ascending seq order), got ${String(seq)}; nothing was restored`,
        { details: { field: `entries[${i}].seq`, lastSeq: view.lastSeq } },
      );
    }
    const item = toStored(entry, seq, `entries[${i}]`);
    if (ids.has(item.id) || view.byId(item.id)) {
      throw new MobKitError(
        'InvalidInput',
        `entries[${i}].id ${JSON.stringify(item.id)} is already in the log; nothing was restored`,
        {
          details: { field: `entries[${i}].id` },
        },
      );
    }
    ids.add(item.id);
    stored.push(item);
    previous = seq;
  });
  view.add(stored);
}

function prune(view: EventLogView, retention: EventLogRetention, nowMs: () => number): number {
  const maxAgeMs = retention?.maxAgeMs;
  const maxRows = optionalLimit(retention?.maxRows, 'retention.maxRows');
  if (maxAgeMs !== undefined) requireFinite(maxAgeMs, 'retention.maxAgeMs');
  const now = retention?.nowMs === undefined ? nowMs() : requireFinite(retention.nowMs, 'retention.nowMs');
  const doomed = new Set<number>();
  if (maxAgeMs !== undefined) {
    const cutoff = now - maxAgeMs;
    view.scan('asc', 0, (entry) => {
      if (entry.timestampMs < cutoff) doomed.add(entry.seq);
      return true;
    });
  }
  if (maxRows !== undefined) {
    let kept = 0;
    view.scan('desc', 0, (entry) => {
      if (doomed.has(entry.seq)) return true;
      if (kept < maxRows) kept += 1;
      else doomed.add(entry.seq);
      return true;
    });
  }
  view.remove(doomed);
  return doomed.size;
}

function redact(view: EventLogView, memberId: string, reason: string): number {
  requireName(memberId, 'memberId');
  if (typeof reason !== 'string') throw new MobKitError('InvalidInput', 'reason must be a string');
  const dataJson = JSON.stringify(redactedData(reason));
  const hits: StoredEvent[] = [];
  view.scan('asc', 0, (entry) => {
    if (entry.memberId === memberId) hits.push({ ...entry, dataJson });
    return true;
  });
  for (const entry of hits) view.replace(entry);
  return hits.length;
}

/** The event log port over `view`, reading and writing through `access`. */
export function memoryEventLog(view: EventLogView, access: PortAccess, nowMs: () => number): EventLogPort {
  return {
    append: (events) => access.write(() => append(view, events)),
    query: (q) => access.read(() => query(view, q)),
    bounds: () => access.read(() => bounds(view)),
    restore: (entries) => access.write(() => restore(view, entries)),
    prune: (retention) => access.write(() => prune(view, retention, nowMs)),
    redact: (memberId, reason) => access.write(() => redact(view, memberId, reason)),
  };
}
