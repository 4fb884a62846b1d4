import type { RecordListQuery, RecordsPort, StoreJson, StoreRecord } from '@mobkit/core';
import { MobKitError } from '@mobkit/core';
import type { PortAccess } from './access.js';
import { matchScore, words } from './search.js';
import type { TableView } from './table.js';
import { optionalLimit, requireFinite, requireName, toJsonText } from '../validate.js';

/** A record as the memory store keeps it: its value as JSON text, so every read hands out a fresh copy. */
export interface StoredRecord {
  readonly namespace: string;
  readonly key: string;
  readonly valueJson: string;
  readonly version: number;
  readonly updatedAtMs: number;
  readonly index?: string;
  readonly range?: number;
  readonly text?: string;
}

function toRecord<T extends StoreJson>(stored: StoredRecord): StoreRecord<T> {
  const record: StoreRecord<T> = {
    namespace: stored.namespace,
    key: stored.key,
    value: JSON.parse(stored.valueJson) as T,
    version: stored.version,
    updatedAtMs: stored.updatedAtMs,
  };
  if (stored.index !== undefined) record.index = stored.index;
  if (stored.range !== undefined) record.range = stored.range;
  if (stored.text !== undefined) record.text = stored.text;
  return record;
}

function checkVersion(namespace: string, key: string, expected: number | undefined, found: StoredRecord | undefined) {
  if (expected === undefined) return;
  if (typeof expected !== 'number' || !Number.isInteger(expected) || expected < 0) {
    throw new MobKitError('InvalidInput', `expectedVersion must be a whole number >= 0, got ${String(expected)}`, {
      details: { field: 'expectedVersion' },
    });
  }
  const actual = found?.version ?? 0;
  if (actual === expected) return;
  throw new MobKitError(
    'VersionConflict',
    `record ${JSON.stringify(key)} in namespace ${JSON.stringify(namespace)} is at version ${actual}, not the expected ${expected}; read it again and retry`,
    { details: { namespace, key, expectedVersion: expected, actualVersion: actual } },
  );
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Range order: by the range field (records without one last), then by key. */
function compareByRange(a: StoredRecord, b: StoredRecord): number {
  const ra = a.range ?? Number.POSITIVE_INFINITY;
  const rb = b.range ?? Number.POSITIVE_INFINITY;
  return ra < rb ? -1 : ra > rb ? 1 : compareKeys(a.key, b.key);
}

function list(table: TableView<StoredRecord>, namespace: string, q: RecordListQuery = {}): StoredRecord[] {
  requireName(namespace, 'namespace');
  const limit = optionalLimit(q.limit, 'list.limit');
  const byRange = q.orderBy === 'range';
  const desc = q.order === 'desc';
  let found = table
    .values(namespace)
    .filter(
      (r) =>
        (q.prefix === undefined || r.key.startsWith(q.prefix)) &&
        (q.index === undefined || r.index === q.index) &&
        (q.rangeMin === undefined || (r.range !== undefined && r.range >= q.rangeMin)) &&
        (q.rangeMax === undefined || (r.range !== undefined && r.range < q.rangeMax)),
    );
  const compare = byRange ? compareByRange : (a: StoredRecord, b: StoredRecord) => compareKeys(a.key, b.key);
  found.sort(desc ? (a, b) => compare(b, a) : compare);
  if (q.afterKey !== undefined) found = found.slice(pageStart(table, namespace, found, q.afterKey, byRange, desc));
  return limit === undefined ? found : found.slice(0, limit);
}

/**
 * Where the page after `afterKey` starts in `sorted`: past every record that comes before or at it in
 * the listing's order (by key, or — ordering by range — by the range and key of the record `afterKey`
 * names; a key no longer there pages by key alone).
 */
function pageStart(
  table: TableView<StoredRecord>,
  namespace: string,
  sorted: StoredRecord[],
  afterKey: string,
  byRange: boolean,
  desc: boolean,
): number {
  const anchor = byRange ? table.get(namespace, afterKey) : undefined;
  const isAfter = (r: StoredRecord) => {
    const c = anchor ? compareByRange(r, anchor) : compareKeys(r.key, afterKey);
    return desc ? c < 0 : c > 0;
  };
  const start = sorted.findIndex(isAfter);
  return start === -1 ? sorted.length : start;
}

function put(table: TableView<StoredRecord>, nowMs: () => number, args: Parameters<RecordsPort['put']>): StoredRecord {
  const [namespace, key, value, options = {}] = args;
  requireName(namespace, 'namespace');
  requireName(key, 'key');
  const valueJson = toJsonText(value, 'value');
  const existing = table.get(namespace, key);
  checkVersion(namespace, key, options.expectedVersion, existing);
  const stored: StoredRecord = {
    namespace,
    key,
    valueJson,
    version: (existing?.version ?? 0) + 1,
    updatedAtMs: nowMs(),
    ...(options.index === undefined ? {} : { index: requireName(options.index, 'index') }),
    ...(options.range === undefined ? {} : { range: requireFinite(options.range, 'range') }),
    ...(options.text === undefined ? {} : { text: String(options.text) }),
  };
  table.set(namespace, key, stored);
  return stored;
}

function search(table: TableView<StoredRecord>, namespace: string, text: string, limit: unknown): StoredRecord[] {
  requireName(namespace, 'namespace');
  if (typeof text !== 'string') throw new MobKitError('InvalidInput', 'search text must be a string');
  const max = optionalLimit(limit, 'search.limit');
  const queryWords = [...new Set(words(text))];
  const scored = table
    .values(namespace)
    .map((record) => ({ record, score: matchScore(queryWords, record.text) }))
    .filter((hit) => hit.score > 0)
    .sort((a, b) => b.score - a.score || compareKeys(a.record.key, b.record.key))
    .map((hit) => hit.record);
  return max === undefined ? scored : scored.slice(0, max);
}

/** The records port over `table`, reading and writing through `access`. */
export function memoryRecords(table: TableView<StoredRecord>, access: PortAccess, nowMs: () => number): RecordsPort {
  return {
    get: <T extends StoreJson>(namespace: string, key: string) =>
      access.read(() => {
        const stored = table.get(requireName(namespace, 'namespace'), requireName(key, 'key'));
        return stored ? toRecord<T>(stored) : undefined;
      }),
    put: <T extends StoreJson>(...args: Parameters<RecordsPort['put']>) =>
      access.write(() => toRecord<T>(put(table, nowMs, args))),
    delete: (namespace, key, options = {}) =>
      access.write(() => {
        const existing = table.get(requireName(namespace, 'namespace'), requireName(key, 'key'));
        checkVersion(namespace, key, options.expectedVersion, existing);
        if (!existing) return false;
        table.set(namespace, key, undefined);
        return true;
      }),
    list: <T extends StoreJson>(namespace: string, q?: RecordListQuery) =>
      access.read(() => list(table, namespace, q).map((r) => toRecord<T>(r))),
    search: <T extends StoreJson>(namespace: string, text: string, options?: { limit?: number }) =>
      access.read(() => search(table, namespace, text, options?.limit).map((r) => toRecord<T>(r))),
    namespaces: () => access.read(() => table.namespaces().sort(compareKeys)),
  };
}
