import { MobKitError, type StoreJson } from '@mobkit/core';
import { type SessionPersistenceRow, sessionRow, sessionRowsFromWire } from '../row.js';

function invalid(message: string): MobKitError {
  return new MobKitError('BigQueryInvalidResponse', `BigQuery query answer: ${message}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A cell's value: `{v: …}` as BigQuery sends it, or the bare value. */
function cellValue(cell: unknown): unknown {
  return isObject(cell) && Object.hasOwn(cell, 'v') ? cell.v : cell;
}

function stringCell(cell: unknown, column: string): string {
  const value = cellValue(cell);
  if (typeof value !== 'string') throw invalid(`column ${column} is not a string`);
  return value;
}

function millisCell(cell: unknown, column: string): number {
  const value = cellValue(cell);
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`column ${column} is not a non-negative integer`);
  return n;
}

function boolCell(cell: unknown, column: string): boolean {
  const value = cellValue(cell);
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'TRUE' || value === '1') return true;
  if (value === 'false' || value === 'FALSE' || value === '0') return false;
  throw invalid(`column ${column} is not a boolean`);
}

function payloadCell(cell: unknown): StoreJson {
  const value = cellValue(cell);
  if (value === null || value === undefined) return {};
  if (typeof value !== 'string') return value as StoreJson;
  if (value.trim() === '') return {};
  try {
    return JSON.parse(value) as StoreJson;
  } catch {
    throw invalid('column payload is not a JSON string');
  }
}

function labelsCell(cell: unknown): Record<string, string> {
  const value = cellValue(cell);
  if (typeof value !== 'string' || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid('column labels_json is not a JSON string');
  }
  if (!isObject(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw invalid('column labels_json is not a JSON object of strings');
  }
  return parsed as Record<string, string>;
}

/** One `rows[].f[]` row: `session_id, updated_at_ms, deleted, payload[, labels_json]`. */
function parseQueryRow(row: unknown, index: number): SessionPersistenceRow {
  const cells = isObject(row) ? row.f : undefined;
  if (!Array.isArray(cells)) throw invalid(`rows[${index}] has no f cell array`);
  if (cells.length < 4) throw invalid(`rows[${index}] has fewer than 4 columns`);
  return sessionRow({
    sessionId: stringCell(cells[0], 'session_id'),
    updatedAtMs: millisCell(cells[1], 'updated_at_ms'),
    deleted: boolCell(cells[2], 'deleted'),
    payload: payloadCell(cells[3]),
    labels: cells.length > 4 ? labelsCell(cells[4]) : {},
  });
}

/**
 * The session rows of a `jobs.query` (or `getQueryResults`) answer: its `rows[].f[].v` cells
 * (strings, numbers and booleans tolerated; the payload JSON string parsed, null or blank ⇒ `{}`),
 * or, from a proxy that answers with a plain array, wire rows. No `rows` ⇒ none.
 */
export function parseQueryRows(answer: unknown): SessionPersistenceRow[] {
  if (Array.isArray(answer)) return sessionRowsFromWire(answer, { path: 'answer', code: 'BigQueryInvalidResponse' });
  if (!isObject(answer)) throw invalid('not a JSON object');
  const rows = answer.rows ?? [];
  if (!Array.isArray(rows)) throw invalid('rows is not an array');
  return rows.map(parseQueryRow);
}
