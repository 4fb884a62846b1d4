// mobkit/session_store/bigquery through the stdio gateway (the built `mobkit gateway --persistent`
// in a child process) against the loopback BigQuery fake in this process: an insert and a read
// answer with wire rows, bad params are -32602 naming the field, and the gateway keeps serving.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type FakeBigQuery, builtBin, builtEntry, childEnv, startFakeBigQuery } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: gateway answers are JSON read freely by the assertions
type Json = any;

let fake: FakeBigQuery;
let child: ChildProcessWithoutNullStreams;
let stderr = '';
const pending = new Map<unknown, (answer: Json) => void>();
let id = 0;

beforeAll(async () => {
  builtEntry(join(here, '..', '..', 'store'));
  const bin = builtBin('mobkit', join(here, '..'));
  fake = await startFakeBigQuery({ token: 'gw-token', project: 'gw-project' });
  child = spawn(process.execPath, [bin, 'gateway', '--persistent'], {
    env: childEnv({ MOBKIT_LLM: 'test', BIGQUERY_PROJECT_ID: 'gw-project' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const answer = JSON.parse(line);
    pending.get(answer.id)?.(answer);
    pending.delete(answer.id);
  });
  const init = await request('mobkit/init', {});
  expect(init.result).toMatchObject({ runtime_origin: 'fallback_minimal' });
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    await exited;
  }
  await fake?.close();
});

function request(method: string, params: unknown): Promise<Json> {
  const answerId = ++id;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} within 15 s; stderr: ${stderr}`)), 15_000);
    pending.set(answerId, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: answerId, method, params })}\n`);
  });
}

const bigquery = (params: Record<string, unknown>) =>
  request('mobkit/session_store/bigquery', {
    dataset: 'gw_data',
    table: 'sessions',
    access_token: 'gw-token',
    api_base_url: fake.url,
    ...params,
  });

describe('mobkit/session_store/bigquery through the stdio gateway', () => {
  it('inserts and reads rows (project id from the gateway environment)', async () => {
    const inserted = await bigquery({
      operation: 'stream_insert_rows',
      rows: [
        { session_id: 'a', updated_at_ms: 1, payload: { n: 1 } },
        { session_id: 'a', updated_at_ms: 2, deleted: true },
      ],
    });
    expect(inserted.result).toEqual({ operation: 'stream_insert_rows', accepted: true, inserted_rows: 2 });
    expect(fake.requests.at(-1)?.path).toBe(
      '/bigquery/v2/projects/gw-project/datasets/gw_data/tables/sessions/insertAll',
    );
    const latest = await bigquery({ operation: 'read_latest' });
    expect(latest.result).toEqual({
      operation: 'read_latest',
      rows: [{ session_id: 'a', updated_at_ms: 2, deleted: true, payload: null, labels: {} }],
    });
    expect((await bigquery({ operation: 'read_live' })).result).toEqual({ operation: 'read_live', rows: [] });
  });

  it('bad params are -32602 naming the field, the SSRF guard holds, and the gateway keeps serving', async () => {
    const unknown = await bigquery({ operation: 'read_rows', projectid: 'x' });
    expect(unknown.error.code).toBe(-32602);
    expect(unknown.error.message).toContain('projectid');
    const ssrf = await bigquery({ operation: 'read_rows', api_base_url: 'http://169.254.169.254/computeMetadata/v1' });
    expect(ssrf.error.code).toBe(-32602);
    expect(ssrf.error.message).toContain('api_base_url');
    const noRows = await bigquery({ operation: 'stream_insert' });
    expect(noRows.error.code).toBe(-32602);
    expect(noRows.error.message).toContain('rows');
    const denied = await bigquery({ operation: 'read_rows', access_token: 'wrong' });
    expect(denied.error).toMatchObject({ code: -32011, data: { code: 'BigQueryApi' } });
    const status = await request('mobkit/status', {});
    expect(status.result.running).toBe(true);
  });
});
