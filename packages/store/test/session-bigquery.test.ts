// The BigQuery session store over fetch against a loopback fake of the REST API (insertAll,
// jobs.query with schema + f/v cells, DML answers, paging), which checks the bearer token and
// rejects malformed rows with insertErrors.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeBigQuery, expectMobKitError, startFakeBigQuery, waitFor } from '@mobkit/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BigQueryNaming,
  BigQuerySessionStore,
  type BigQuerySessionStoreOptions,
  DEFAULT_BIGQUERY_API_BASE_URL,
  runPeriodicGc,
  sessionRow,
} from '../src/index.js';

let fake: FakeBigQuery;
beforeEach(async () => {
  fake = await startFakeBigQuery({ token: 'tok-123', project: 'proj-1' });
});
afterEach(async () => {
  await fake.close();
});

const store = (extra: Partial<BigQuerySessionStoreOptions> = {}) =>
  new BigQuerySessionStore({
    dataset: 'mobkit',
    table: 'sessions',
    projectId: 'proj-1',
    accessToken: 'tok-123',
    apiBaseUrl: `${fake.url}/`,
    env: {},
    ...extra,
  });

const rows = [
  sessionRow({ sessionId: 's2', updatedAtMs: 2, payload: { n: 1 } }),
  sessionRow({ sessionId: 's1', updatedAtMs: 1, labels: { z: 'last', a: 'first' } }),
  sessionRow({ sessionId: 's2', updatedAtMs: 3, deleted: true, payload: null }),
  sessionRow({ sessionId: 's3', updatedAtMs: 4, payload: 'text' }),
];

describe('BigQuerySessionStore', () => {
  it('streams rows with insertAll exactly as spec 12 shapes them, with the bearer token', async () => {
    await store().streamInsertRows(rows.slice(0, 2));
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/bigquery/v2/projects/proj-1/datasets/mobkit/tables/sessions/insertAll');
    expect(request?.authorization).toBe('Bearer tok-123');
    expect(request?.body).toEqual({
      ignoreUnknownValues: false,
      skipInvalidRows: false,
      rows: [
        { json: { session_id: 's2', updated_at_ms: '2', deleted: false, payload: '{"n":1}' } },
        {
          json: {
            session_id: 's1',
            updated_at_ms: '1',
            deleted: false,
            payload: 'null',
            labels_json: '{"a":"first","z":"last"}',
          },
        },
      ],
    });
    expect(fake.table('mobkit', 'sessions')).toHaveLength(2);
  });

  it('sends nothing for no rows', async () => {
    await store().streamInsertRows([]);
    expect(fake.requests).toEqual([]);
  });

  it('reads all rows ordered by updated_at_ms, the latest per session and the live ones, through queries', async () => {
    const s = store();
    await s.streamInsertRows(rows);
    const all = await s.readRows();
    expect(all).toEqual([
      sessionRow({ sessionId: 's1', updatedAtMs: 1, payload: null, labels: { a: 'first', z: 'last' } }),
      rows[0],
      sessionRow({ sessionId: 's2', updatedAtMs: 3, deleted: true, payload: null }),
      rows[3],
    ]);
    const queries = fake.requests
      .slice(1)
      .map((r) => r.body as { query: string; useLegacySql: boolean; maxResults: number });
    expect(queries[0]).toEqual({
      query:
        'SELECT session_id, updated_at_ms, deleted, payload, labels_json FROM `proj-1.mobkit.sessions` ORDER BY updated_at_ms ASC',
      useLegacySql: false,
      maxResults: 10000,
    });
    expect(fake.requests[1]?.path).toBe('/bigquery/v2/projects/proj-1/queries');
    expect((await s.readLatestRows()).map((r) => [r.sessionId, r.updatedAtMs, r.deleted])).toEqual([
      ['s1', 1, false],
      ['s2', 3, true],
      ['s3', 4, false],
    ]);
    expect((await s.readLiveRows()).map((r) => r.sessionId)).toEqual(['s1', 's3']);
    const [, latest, live] = fake.requests.slice(1).map((r) => (r.body as { query: string }).query);
    expect(latest).toBe(
      'SELECT session_id, updated_at_ms, deleted, payload, labels_json FROM `proj-1.mobkit.sessions` QUALIFY ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY updated_at_ms DESC) = 1',
    );
    expect(live).toBe(
      `SELECT session_id, updated_at_ms, deleted, payload, labels_json FROM (${latest}) WHERE deleted = false`,
    );
  });

  it('follows pageToken until every row is read', async () => {
    await fake.close();
    fake = await startFakeBigQuery({ token: 'tok-123', project: 'proj-1', pageSize: 2 });
    const s = store();
    const many = Array.from({ length: 7 }, (_, i) => sessionRow({ sessionId: `s${i}`, updatedAtMs: i }));
    await s.streamInsertRows(many);
    expect((await s.readRows()).map((r) => r.sessionId)).toEqual(many.map((r) => r.sessionId));
    expect(fake.requests.filter((r) => r.method === 'GET').map((r) => r.path.split('?')[0])).toEqual([
      '/bigquery/v2/projects/proj-1/queries/job_1',
      '/bigquery/v2/projects/proj-1/queries/job_1',
      '/bigquery/v2/projects/proj-1/queries/job_1',
    ]);
  });

  it('the fake rejects malformed rows with insertErrors and inserts none of the request', async () => {
    const insert = (rows: unknown[]) =>
      fetch(`${fake.url}/projects/proj-1/datasets/mobkit/tables/sessions/insertAll`, {
        method: 'POST',
        headers: { authorization: 'Bearer tok-123', 'content-type': 'application/json' },
        body: JSON.stringify({ ignoreUnknownValues: false, skipInvalidRows: false, rows }),
      }).then((r) => r.json() as Promise<{ insertErrors: Array<{ errors: unknown[] }> }>);
    const good = { json: { session_id: 'a', updated_at_ms: '1', deleted: false, payload: '{}' } };
    const answer = await insert([
      good,
      { json: { ...good.json, updated_at_ms: 'soon' } },
      { json: { ...good.json, extra: 1 } },
    ]);
    expect(answer.insertErrors.map((e) => e.errors[0])).toEqual([
      { reason: 'stopped', location: '', message: '' },
      { reason: 'invalid', location: 'updated_at_ms', message: 'Cannot convert value to integer' },
      { reason: 'invalid', location: 'extra', message: 'no such field: extra.' },
    ]);
    expect(fake.table('mobkit', 'sessions')).toEqual([]);
  });

  it('a row BigQuery rejects fails the whole insert with BigQueryApi naming the errors (never silently accepted)', async () => {
    await fake.close();
    fake = await startFakeBigQuery({ token: 'tok-123', project: 'proj-1', maxRowBytes: 200 });
    const big = sessionRow({ sessionId: 'big', updatedAtMs: 1, payload: 'x'.repeat(500) });
    const error = await expectMobKitError(
      store().streamInsertRows([rows[0] as (typeof rows)[number], big]),
      'BigQueryApi',
    );
    expect(error.message).toContain('rejected rows');
    expect(error.details?.insert_errors).toEqual([
      { index: 0, errors: [{ reason: 'stopped', location: '', message: '' }] },
      { index: 1, errors: [{ reason: 'invalid', location: '', message: 'row is larger than the maximum row size' }] },
    ]);
    expect(fake.table('mobkit', 'sessions')).toEqual([]);
  });

  it('a wrong token is BigQueryApi with the status; the token is never in the message', async () => {
    const error = await expectMobKitError(store({ accessToken: 'wrong-secret' }).readRows(), 'BigQueryApi');
    expect(error.message).toContain('status 401');
    expect(error.message).not.toContain('wrong-secret');
    expect(error.rpcCode).toBe(-32011);
  });

  it('gc deletes superseded rows and answers numDmlAffectedRows; truncate empties the table', async () => {
    const s = store();
    await s.streamInsertRows(rows);
    expect(await s.gcSupersededRows()).toBe(1);
    expect(fake.table('mobkit', 'sessions').map((r) => [r.session_id, r.updated_at_ms])).toEqual([
      ['s1', '1'],
      ['s2', '3'],
      ['s3', '4'],
    ]);
    expect(fake.requests.at(-1)?.body).toEqual({
      query:
        'DELETE FROM `proj-1.mobkit.sessions` AS t WHERE STRUCT(t.session_id, t.updated_at_ms) NOT IN ( SELECT AS STRUCT session_id, MAX(updated_at_ms) FROM `proj-1.mobkit.sessions` GROUP BY session_id )',
      useLegacySql: false,
    });
    fake.failNext(200, { jobComplete: true });
    expect(await s.gcSupersededRows()).toBe(0);
    await s.truncateSessions();
    expect(fake.requests.at(-1)?.body).toEqual({
      query: 'TRUNCATE TABLE `proj-1.mobkit.sessions`',
      useLegacySql: false,
    });
    expect(fake.table('mobkit', 'sessions')).toEqual([]);
  });

  it('tolerates cells as strings, numbers and booleans; payload null or "" ⇒ {}; a bare array answer', async () => {
    const s = store();
    fake.failNext(200, {
      jobComplete: true,
      rows: [
        { f: [{ v: 'a' }, { v: 5 }, { v: true }, { v: null }] },
        { f: [{ v: 'b' }, { v: '6' }, { v: 'TRUE' }, { v: '' }, { v: null }] },
        { f: [{ v: 'c' }, { v: '7' }, { v: '0' }, { v: '{"k":[1]}' }, { v: '{"x":"y"}' }] },
        { f: ['d', 8, false, { inline: 1 }] },
      ],
    });
    expect(await s.readRows()).toEqual([
      sessionRow({ sessionId: 'a', updatedAtMs: 5, deleted: true, payload: {} }),
      sessionRow({ sessionId: 'b', updatedAtMs: 6, deleted: true, payload: {} }),
      sessionRow({ sessionId: 'c', updatedAtMs: 7, payload: { k: [1] }, labels: { x: 'y' } }),
      sessionRow({ sessionId: 'd', updatedAtMs: 8, payload: { inline: 1 } }),
    ]);
    fake.failNext(200, [{ session_id: 'e', updated_at_ms: 9 }]);
    expect(await s.readRows()).toEqual([sessionRow({ sessionId: 'e', updatedAtMs: 9 })]);
    fake.failNext(200, {});
    expect(await s.readRows()).toEqual([]);
  });

  it.each([
    [{ rows: [{ f: [{ v: 1 }, { v: '1' }, { v: true }, { v: null }] }] }, 'session_id is not a string'],
    [{ rows: [{ f: [{ v: 'a' }, { v: '-1' }, { v: true }, { v: null }] }] }, 'updated_at_ms'],
    [{ rows: [{ f: [{ v: 'a' }, { v: '1' }, { v: 'yes' }, { v: null }] }] }, 'deleted is not a boolean'],
    [{ rows: [{ f: [{ v: 'a' }, { v: '1' }, { v: true }, { v: '{oops' }] }] }, 'payload is not a JSON string'],
    [{ rows: [{ f: [{ v: 'a' }, { v: '1' }, { v: true }] }] }, 'fewer than 4 columns'],
    [{ rows: [{}] }, 'no f cell array'],
    [{ rows: {} }, 'rows is not an array'],
  ])('an answer %j ⇒ BigQueryInvalidResponse (%s)', async (answer, text) => {
    fake.failNext(200, answer);
    expect((await expectMobKitError(store().readRows(), 'BigQueryInvalidResponse')).message).toContain(text);
  });

  it('a body that is not JSON ⇒ BigQueryInvalidResponse; an error status ⇒ BigQueryApi; nobody listening ⇒ BigQueryHttp', async () => {
    fake.failNext(200, 'not json');
    await expectMobKitError(store().readRows(), 'BigQueryInvalidResponse');
    fake.failNext(500, { error: { message: 'backend error' } });
    expect((await expectMobKitError(store().readLiveRows(), 'BigQueryApi')).message).toContain('backend error');
    await fake.close();
    await expectMobKitError(store().readRows(), 'BigQueryHttp');
    fake = await startFakeBigQuery();
  });

  it('a server that does not answer within httpTimeoutMs ⇒ BigQueryHttp naming the timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const error = await expectMobKitError(
        store({ apiBaseUrl: `http://127.0.0.1:${port}/bigquery/v2`, httpTimeoutMs: 200 }).readRows(),
        'BigQueryHttp',
      );
      expect(error.details).toMatchObject({ timeout_ms: 200 });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('project id and token come from the environment when not given, in the documented order', async () => {
    const fromEnv = (env: Record<string, string>) =>
      store({ projectId: undefined, accessToken: undefined, env }).readRows();
    expect(await fromEnv({ BIGQUERY_PROJECT_ID: 'proj-1', GOOGLE_ACCESS_TOKEN: 'tok-123' })).toEqual([]);
    expect(
      await fromEnv({
        BIGQUERY_PROJECT_ID: ' proj-1 ',
        GOOGLE_OAUTH_ACCESS_TOKEN: 'tok-123',
        GOOGLE_ACCESS_TOKEN: 'x',
      }),
    ).toEqual([]);
    await expectMobKitError(
      fromEnv({ BIGQUERY_PROJECT_ID: 'proj-1', BIGQUERY_ACCESS_TOKEN: 'wrong', GOOGLE_ACCESS_TOKEN: 'tok-123' }),
      'BigQueryApi',
    );
    const noProject = await expectMobKitError(fromEnv({ GOOGLE_ACCESS_TOKEN: 'tok-123' }), 'BigQueryConfiguration');
    expect(noProject.message).toContain('BIGQUERY_PROJECT_ID');
    const noToken = await expectMobKitError(
      fromEnv({ BIGQUERY_PROJECT_ID: 'proj-1', BIGQUERY_ACCESS_TOKEN: '  ' }),
      'BigQueryConfiguration',
    );
    expect(noToken.message).toContain('BIGQUERY_ACCESS_TOKEN');
    await expectMobKitError(store({ projectId: 'p`; DROP' }).readRows(), 'BigQueryConfiguration');
    expect(fake.requests).toHaveLength(3);
  });

  it('defaults: the googleapis base URL and a 30 s timeout', () => {
    const s = new BigQuerySessionStore({ dataset: 'd', table: 't' });
    expect(s.apiBaseUrl).toBe(DEFAULT_BIGQUERY_API_BASE_URL);
    expect(s.httpTimeoutMs).toBe(30_000);
    expect(s.tableRef()).toBe('d.t');
  });

  it('runPeriodicGc runs gc every interval until stopped, reports failures and goes on', async () => {
    const s = store();
    await s.streamInsertRows(rows);
    const collected: number[] = [];
    const errors: string[] = [];
    fake.failNext(503, { error: { message: 'try later' } });
    const handle = runPeriodicGc(s, {
      intervalMs: 5,
      onError: (error) => errors.push(error.code),
      onCollected: (n) => collected.push(n),
    });
    await waitFor('two gc runs after a failure', () => collected.length >= 2);
    handle.stop();
    expect(errors).toEqual(['BigQueryApi']);
    expect(collected.slice(0, 2)).toEqual([1, 0]);
  });
});

describe('BigQueryNaming', () => {
  it('accepts A-Z a-z 0-9 _ - and refuses empty or other names', () => {
    expect(BigQueryNaming.of('my_data-set1', 'T_2').tableRef()).toBe('my_data-set1.T_2');
    expectMobKitError(() => BigQueryNaming.of('', 't'), 'EmptyBigQueryDataset');
    expectMobKitError(() => BigQueryNaming.of('d', ''), 'EmptyBigQueryTable');
    for (const name of ['a.b', 'a b', 'a`b', 'ü', 'a/b']) {
      const error = expectMobKitError(
        () => new BigQuerySessionStore({ dataset: 'd', table: name }),
        'InvalidBigQueryName',
      );
      expect(error.message).toContain(JSON.stringify(name));
      expect(error.rpcCode).toBe(-32602);
    }
  });
});
