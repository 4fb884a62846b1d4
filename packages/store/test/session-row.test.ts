import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  materializeLatestSessionRows,
  materializeLiveSessionRows,
  sessionRow,
  sessionRowFromWire,
  sessionStoreContractToWire,
  sessionStoreContracts,
  sessionRowToWire,
  sessionRowsFromWire,
} from '../src/index.js';

describe('SessionPersistenceRow codec', () => {
  it('defaults every field and round-trips the snake_case wire form', () => {
    expect(sessionRowFromWire({})).toEqual({
      sessionId: '',
      updatedAtMs: 0,
      deleted: false,
      payload: null,
      labels: {},
    });
    const wire = {
      session_id: 's1',
      updated_at_ms: 42,
      deleted: true,
      payload: { a: [1, 'x'] },
      labels: { z: '1', a: '2' },
    };
    const row = sessionRowFromWire(wire);
    expect(row).toEqual({
      sessionId: 's1',
      updatedAtMs: 42,
      deleted: true,
      payload: { a: [1, 'x'] },
      labels: { z: '1', a: '2' },
    });
    const back = sessionRowToWire(row);
    expect(back).toEqual(wire);
    expect(Object.keys(back.labels)).toEqual(['a', 'z']);
  });

  it.each([
    [{ session_id: 1 }, 'rows[0].session_id: expected a string, got integer'],
    [{ updated_at_ms: '5' }, 'rows[0].updated_at_ms: expected a non-negative integer, got string'],
    [{ updated_at_ms: -1 }, 'rows[0].updated_at_ms: expected a non-negative integer'],
    [{ updated_at_ms: 1.5 }, 'rows[0].updated_at_ms'],
    [{ deleted: 'yes' }, 'rows[0].deleted: expected a boolean'],
    [{ labels: { a: 1 } }, 'rows[0].labels.a: expected a string'],
    [{ labels: [] }, 'rows[0].labels: expected an object of strings'],
    [{ sessionId: 'camel' }, 'rows[0].sessionId: unknown key; allowed: session_id'],
    ['row', 'rows[0]: expected an object, got string'],
  ])('refuses %j naming the field', (wire, text) => {
    const error = expectMobKitError(
      () => sessionRowsFromWire([wire], { code: 'RpcInvalidParams' }),
      'RpcInvalidParams',
    );
    expect(error.message).toContain(text);
  });

  it('keeps a __proto__ label as a label', () => {
    const row = sessionRowFromWire(JSON.parse('{"labels":{"__proto__":"x","b":"y"}}'));
    expect(Object.getPrototypeOf(sessionRowToWire(row).labels)).toBe(Object.prototype);
    expect(Object.entries(sessionRowToWire(row).labels)).toEqual([
      ['__proto__', 'x'],
      ['b', 'y'],
    ]);
  });

  it('refuses a document that is not an array', () => {
    expect(expectMobKitError(() => sessionRowsFromWire({ rows: [] }), 'InvalidStoreData').message).toContain(
      'expected an array of session rows, got object',
    );
  });
});

describe('materializeLatestSessionRows / materializeLiveSessionRows', () => {
  const rows = [
    sessionRow({ sessionId: 'b', updatedAtMs: 10, payload: 'b10' }),
    sessionRow({ sessionId: 'a', updatedAtMs: 20, payload: 'a20' }),
    sessionRow({ sessionId: 'a', updatedAtMs: 5, payload: 'a5' }),
    sessionRow({ sessionId: 'b', updatedAtMs: 10, payload: 'b10-later' }),
    sessionRow({ sessionId: 'c', updatedAtMs: 1, payload: 'c1' }),
    sessionRow({ sessionId: 'c', updatedAtMs: 2, deleted: true }),
  ];

  it('keeps the row with the greatest updated_at_ms per session, the later one on a tie, sorted by session id', () => {
    expect(materializeLatestSessionRows(rows).map((r) => [r.sessionId, r.updatedAtMs, r.payload, r.deleted])).toEqual([
      ['a', 20, 'a20', false],
      ['b', 10, 'b10-later', false],
      ['c', 2, null, true],
    ]);
  });

  it('live drops sessions whose latest row is a tombstone (an older live row does not come back)', () => {
    expect(materializeLiveSessionRows(rows).map((r) => r.sessionId)).toEqual(['a', 'b']);
  });

  it('sorts by code point (UTF-8 byte order), not by UTF-16 unit', () => {
    const ids = ['\u{1F600}', '\uFFFD', 'z'];
    expect(
      materializeLatestSessionRows(ids.map((sessionId) => sessionRow({ sessionId }))).map((r) => r.sessionId),
    ).toEqual(['z', '\uFFFD', '\u{1F600}']);
  });
});

describe('sessionStoreContracts', () => {
  it('describes BigQuery (on the decisions’ dataset and table) and the JSON file store, in wire form', () => {
    expect(sessionStoreContracts({ dataset: 'ds', table: 'tbl' }).map(sessionStoreContractToWire)).toEqual([
      {
        store: 'big_query',
        latest_row_per_session: true,
        tombstones_supported: true,
        dedup_read_path: true,
        file_locking: false,
        crash_recovery: false,
        bigquery_dataset: 'ds',
        bigquery_table: 'tbl',
      },
      {
        store: 'json_file',
        latest_row_per_session: true,
        tombstones_supported: true,
        dedup_read_path: true,
        file_locking: true,
        crash_recovery: true,
        bigquery_dataset: null,
        bigquery_table: null,
      },
    ]);
  });
});
