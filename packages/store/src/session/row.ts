import { MobKitError, type MobKitErrorCode, type StoreJson, describeType } from '@mobkit/core';

/**
 * One persisted state of a session (spec 12): MobKit's projection of a session, appended on every
 * change. A session's current state is its row with the greatest `updatedAtMs`; a row with `deleted`
 * is a tombstone. Every field has a default ({@link sessionRow}).
 */
export interface SessionPersistenceRow {
  /** The session this row describes (default `""`). */
  sessionId: string;
  /** When this state was written, milliseconds since the epoch (default 0). */
  updatedAtMs: number;
  /** True for a tombstone: the session was deleted at `updatedAtMs` (default false). */
  deleted: boolean;
  /** The session's state as JSON (default `null`). */
  payload: StoreJson;
  /** String labels of the session (default `{}`). */
  labels: Record<string, string>;
}

/** The wire form of a {@link SessionPersistenceRow} (snake_case; every key optional, defaulted). */
export interface SessionPersistenceRowWire {
  session_id?: string;
  updated_at_ms?: number;
  deleted?: boolean;
  payload?: StoreJson;
  labels?: Record<string, string>;
}

/** A row with every field defaulted (`sessionId ""`, `updatedAtMs 0`, `deleted false`, `payload null`, `labels {}`). */
export function sessionRow(fields: Partial<SessionPersistenceRow> = {}): SessionPersistenceRow {
  return {
    sessionId: fields.sessionId ?? '',
    updatedAtMs: fields.updatedAtMs ?? 0,
    deleted: fields.deleted ?? false,
    payload: fields.payload ?? null,
    labels: { ...(fields.labels ?? {}) },
  };
}

const WIRE_KEYS = ['session_id', 'updated_at_ms', 'deleted', 'payload', 'labels'] as const;

/** Options of {@link sessionRowFromWire}: where the row sits (for messages) and the code a bad row raises. */
export interface SessionRowParseOptions {
  /** The row's path in its document (`rows[3]`), named in the message. Default `row`. */
  path?: string;
  /** The error code of a bad row. Default `InvalidStoreData`. */
  code?: MobKitErrorCode;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes the wire form of a row (the one codec: JSON file, records, RPC params all read rows with
 * it). Absent keys take their defaults; an unknown key or a value of the wrong type throws a
 * {@link MobKitError} naming the field (`rows[2].updated_at_ms: expected a non-negative integer, got string`).
 */
export function sessionRowFromWire(wire: unknown, options: SessionRowParseOptions = {}): SessionPersistenceRow {
  const path = options.path ?? 'row';
  const code = options.code ?? 'InvalidStoreData';
  const fail = (field: string, what: string, value: unknown): never => {
    throw new MobKitError(code, `invalid session row: ${path}${field}: expected ${what}, got ${describeType(value)}`, {
      details: { field: `${path}${field}` },
    });
  };
  if (!isPlainObject(wire)) return fail('', 'an object', wire);
  for (const key of Object.keys(wire)) {
    if (!(WIRE_KEYS as readonly string[]).includes(key)) {
      throw new MobKitError(
        code,
        `invalid session row: ${path}.${key}: unknown key; allowed: ${WIRE_KEYS.join(', ')}`,
        {
          details: { field: `${path}.${key}` },
        },
      );
    }
  }
  const { session_id, updated_at_ms, deleted, payload, labels } = wire;
  if (session_id !== undefined && typeof session_id !== 'string') fail('.session_id', 'a string', session_id);
  if (
    updated_at_ms !== undefined &&
    !(typeof updated_at_ms === 'number' && Number.isSafeInteger(updated_at_ms) && updated_at_ms >= 0)
  ) {
    fail('.updated_at_ms', 'a non-negative integer', updated_at_ms);
  }
  if (deleted !== undefined && typeof deleted !== 'boolean') fail('.deleted', 'a boolean', deleted);
  if (labels !== undefined) {
    if (!isPlainObject(labels)) fail('.labels', 'an object of strings', labels);
    for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`.labels.${key}`, 'a string', value);
    }
  }
  return sessionRow({
    sessionId: session_id as string | undefined,
    updatedAtMs: updated_at_ms as number | undefined,
    deleted: deleted as boolean | undefined,
    payload: payload as StoreJson | undefined,
    labels: labels as Record<string, string> | undefined,
  });
}

/** Encodes a row to its wire form (every key present, labels sorted by key). */
export function sessionRowToWire(row: SessionPersistenceRow): Required<SessionPersistenceRowWire> {
  return {
    session_id: row.sessionId,
    updated_at_ms: row.updatedAtMs,
    deleted: row.deleted,
    payload: row.payload,
    labels: sortedLabels(row.labels),
  };
}

/** Decodes a JSON array of wire rows; anything else throws with `code` (default `InvalidStoreData`). */
export function sessionRowsFromWire(wire: unknown, options: SessionRowParseOptions = {}): SessionPersistenceRow[] {
  const path = options.path ?? 'rows';
  if (!Array.isArray(wire)) {
    throw new MobKitError(
      options.code ?? 'InvalidStoreData',
      `invalid session rows: ${path}: expected an array of session rows, got ${describeType(wire)}`,
      { details: { field: path } },
    );
  }
  return wire.map((item, index) => sessionRowFromWire(item, { ...options, path: `${path}[${index}]` }));
}

/** Labels with their keys in code-point order (how the original serializes its `BTreeMap`). */
export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  // fromEntries defines own properties, so a `__proto__` label stays a label.
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => compareCodePoints(a, b)));
}

/** Compares strings by Unicode code point (= UTF-8 byte order), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * Per session id, the row with the greatest `updatedAtMs` — on a tie the row that comes later in
 * `rows` wins — sorted by session id (code-point order).
 */
export function materializeLatestSessionRows(rows: readonly SessionPersistenceRow[]): SessionPersistenceRow[] {
  const latest = new Map<string, SessionPersistenceRow>();
  for (const row of rows) {
    const existing = latest.get(row.sessionId);
    if (existing === undefined || row.updatedAtMs >= existing.updatedAtMs) latest.set(row.sessionId, row);
  }
  return [...latest.values()].sort((a, b) => compareCodePoints(a.sessionId, b.sessionId));
}

/** {@link materializeLatestSessionRows} without the sessions whose latest row is a tombstone. */
export function materializeLiveSessionRows(rows: readonly SessionPersistenceRow[]): SessionPersistenceRow[] {
  return materializeLatestSessionRows(rows).filter((row) => !row.deleted);
}

/** What every session store reads and writes: append rows, read them all, the latest per session, the live ones. */
export interface SessionStore {
  /** Appends rows (durably, as one write: all or none). */
  appendRows(rows: readonly SessionPersistenceRow[]): Promise<void>;
  /** Every row, in append order. */
  readRows(): Promise<SessionPersistenceRow[]>;
  /** {@link materializeLatestSessionRows} of every row. */
  readLatestRows(): Promise<SessionPersistenceRow[]>;
  /** {@link materializeLiveSessionRows} of every row. */
  readLiveRows(): Promise<SessionPersistenceRow[]>;
}
