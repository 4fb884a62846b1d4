// mobkit/session_store/bigquery over the RPC handler of a real UnifiedRuntime, against a loopback
// fake of the BigQuery REST API: inserts and the three reads, closed params, the SSRF guard on
// api_base_url, and -32011 for store failures.
import { MobDefinition, TestClient } from '@mobkit/mob-adapter';
import { type FakeBigQuery, startFakeBigQuery } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpcHandler } from '../src/rpc/handler.js';
import { isAllowedBigQueryBaseUrl } from '../src/rpc/methods/session-store.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const MOB_TOML = `
[mob]
id = "session-store-mob"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true
`;

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers are JSON read freely by the assertions
type Json = any;

let runtime: UnifiedRuntime;
let rpc: ReturnType<typeof createRpcHandler>;
let fake: FakeBigQuery;
let id = 0;

beforeAll(async () => {
  fake = await startFakeBigQuery({ token: 'rpc-token', project: 'rpc-project' });
  runtime = await UnifiedRuntime.bootstrap(
    MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
    { modules: [], discovery: { namespace: 'session-store', modules: [] }, preSpawn: [] },
    10_000,
  );
  rpc = createRpcHandler(runtime);
}, 30_000);

afterAll(async () => {
  await runtime?.shutdown();
  await fake?.close();
});

const call = async (params: unknown): Promise<Json> =>
  rpc.handleText(JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'mobkit/session_store/bigquery', params }));

const target = () => ({
  dataset: 'mobkit',
  table: 'sessions',
  project_id: 'rpc-project',
  access_token: 'rpc-token',
  api_base_url: fake.url,
});

describe('mobkit/session_store/bigquery', () => {
  it('is advertised by the handler', () => {
    expect(rpc.methods).toContain('mobkit/session_store/bigquery');
  });

  it('inserts rows and reads them back as wire rows: all, latest, live (every operation alias)', async () => {
    const rows = [
      { session_id: 's1', updated_at_ms: 1, payload: { step: 1 }, labels: { team: 'a' } },
      { session_id: 's1', updated_at_ms: 2, payload: { step: 2 } },
      { session_id: 's2', updated_at_ms: 3, deleted: true },
    ];
    const inserted = await call({
      operation: 'stream_insert_rows',
      ...target(),
      rows: rows.slice(0, 2),
      timeout_ms: 5_000,
    });
    expect(inserted.result).toEqual({ operation: 'stream_insert_rows', accepted: true, inserted_rows: 2 });
    expect((await call({ operation: 'stream_insert', ...target(), rows: rows.slice(2) })).result).toEqual({
      operation: 'stream_insert',
      accepted: true,
      inserted_rows: 1,
    });
    const all = await call({ operation: 'read_rows', ...target() });
    expect(all.result).toEqual({
      operation: 'read_rows',
      rows: [
        { session_id: 's1', updated_at_ms: 1, deleted: false, payload: { step: 1 }, labels: { team: 'a' } },
        { session_id: 's1', updated_at_ms: 2, deleted: false, payload: { step: 2 }, labels: {} },
        { session_id: 's2', updated_at_ms: 3, deleted: true, payload: null, labels: {} },
      ],
    });
    for (const operation of ['read_latest_rows', 'read_latest']) {
      const latest = await call({ operation, ...target() });
      expect(latest.result.operation).toBe(operation);
      expect(latest.result.rows.map((r: Json) => [r.session_id, r.updated_at_ms])).toEqual([
        ['s1', 2],
        ['s2', 3],
      ]);
    }
    for (const operation of ['read_live_rows', 'read_live']) {
      const live = await call({ operation, ...target() });
      expect(live.result.rows.map((r: Json) => r.session_id)).toEqual(['s1']);
    }
  });

  it.each([
    [{ operation: 'read_rows', dataset: 'd', table: 't', tabel: 'x' }, 'tabel: unknown key'],
    [{ operation: 'probe', dataset: 'd', table: 't' }, 'operation'],
    [{ operation: 'read_rows', table: 't' }, 'dataset'],
    [{ operation: 'read_rows', dataset: 'd', table: 't', timeout_ms: 0 }, 'timeout_ms'],
    [{ operation: 'read_rows', dataset: 'd', table: 't', timeout_ms: 1.5 }, 'timeout_ms'],
    [{ operation: 'stream_insert_rows', dataset: 'd', table: 't' }, 'rows: required for stream_insert_rows'],
    [{ operation: 'read_rows', dataset: 'd', table: 't', rows: [] }, 'rows: only for'],
    [{ operation: 'stream_insert_rows', dataset: 'd', table: 't', rows: [{ session_id: 5 }] }, 'rows[0].session_id'],
    [{ operation: 'stream_insert_rows', dataset: 'd', table: 't', rows: [{ sesion_id: 'a' }] }, 'rows[0].sesion_id'],
    [{ operation: 'read_rows', dataset: '', table: 't' }, 'dataset'],
    [{ operation: 'read_rows', dataset: 'd', table: '' }, 'table'],
    [{ operation: 'read_rows', dataset: 'd', table: 'a`b' }, 'table'],
  ])('%j is -32602 naming %s, and nothing is sent', async (params, text) => {
    const before = fake.requests.length;
    const answer = await call(params);
    expect(answer.error?.code).toBe(-32602);
    expect(answer.error?.message).toContain(text);
    expect(fake.requests.length).toBe(before);
  });

  it.each([
    'http://bigquery.googleapis.com/bigquery/v2',
    'https://evil.example.com/bigquery/v2',
    'https://googleapis.com.evil.example/x',
    'https://bigquery.googleapis.com.evil.example/x',
    'http://10.0.0.1/bigquery/v2',
    'http://169.254.169.254/computeMetadata/v1',
    'file:///etc/passwd',
    'ftp://localhost/x',
    'http://user:pw@localhost/x',
    'not a url',
  ])('api_base_url %s is refused by the SSRF guard (-32602 naming the field)', async (url) => {
    const answer = await call({ operation: 'read_rows', ...target(), api_base_url: url });
    expect(answer.error?.code).toBe(-32602);
    expect(answer.error?.message).toContain('api_base_url');
    expect(answer.error?.data?.details).toEqual({ field: 'api_base_url' });
  });

  it('the SSRF guard lets https *.googleapis.com and http(s) loopback through', () => {
    for (const url of [
      'https://bigquery.googleapis.com/bigquery/v2',
      'https://eu-bigquery.googleapis.com/bigquery/v2',
      'http://localhost:9050/bigquery/v2',
      'https://127.0.0.1/bigquery/v2',
      'http://[::1]:8080/x',
    ]) {
      expect(isAllowedBigQueryBaseUrl(url)).toBe(true);
    }
  });

  it('store failures are -32011 with the store error code: rejected token, missing token, rejected rows, unreachable', async () => {
    const denied = await call({ operation: 'read_rows', ...target(), access_token: 'nope' });
    expect(denied.error).toMatchObject({ code: -32011, data: { code: 'BigQueryApi' } });
    expect(denied.error.message).not.toContain('nope');
    const { access_token: _t, ...noToken } = target();
    const saved = ['BIGQUERY_ACCESS_TOKEN', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'GOOGLE_ACCESS_TOKEN'].map((k) => [
      k,
      process.env[k],
    ]);
    for (const [key] of saved) delete process.env[key as string];
    try {
      const missing = await call({ operation: 'read_live', ...noToken });
      expect(missing.error).toMatchObject({ code: -32011, data: { code: 'BigQueryConfiguration' } });
    } finally {
      for (const [key, value] of saved) if (value !== undefined) process.env[key as string] = value;
    }
    fake.failNext(200, { insertErrors: [{ index: 0, errors: [{ reason: 'invalid', message: 'bad' }] }] });
    const rejected = await call({ operation: 'stream_insert_rows', ...target(), rows: [{ session_id: 'x' }] });
    expect(rejected.error).toMatchObject({ code: -32011, data: { code: 'BigQueryApi' } });
    expect(rejected.result).toBeUndefined();
    const closed = await startFakeBigQuery();
    await closed.close();
    const unreachable = await call({ operation: 'read_rows', ...target(), api_base_url: closed.url });
    expect(unreachable.error).toMatchObject({ code: -32011, data: { code: 'BigQueryHttp' } });
  });
});
