// A loopback fake of the BigQuery REST API for session store tests: insertAll with per-row
// validation (malformed rows ⇒ insertErrors, nothing inserted), jobs.query for the session store's
// SELECT/DML shapes with schema and f/v cells, paging with pageToken, and a bearer-token check.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A row as the fake table holds it (BigQuery's JSON row form). */
export interface FakeBigQueryRow {
  session_id: string;
  updated_at_ms: string;
  deleted: boolean;
  payload: string;
  labels_json: string | null;
}

/** One request the fake received. */
export interface FakeBigQueryRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/** Options of {@link startFakeBigQuery}. */
export interface FakeBigQueryOptions {
  /** The bearer token it accepts (default `test-token`). */
  token?: string;
  /** The project it serves (default `test-project`). */
  project?: string;
  /** Rows per query answer page, at most the request's `maxResults` (default: all). */
  pageSize?: number;
  /** insertAll rows whose JSON is longer than this are rejected as too large (default: no limit). */
  maxRowBytes?: number;
}

/** A running fake. */
export interface FakeBigQuery {
  /** The API base URL (`http://127.0.0.1:<port>/bigquery/v2`). */
  readonly url: string;
  readonly token: string;
  readonly project: string;
  /** Every request, in order. */
  readonly requests: FakeBigQueryRequest[];
  /** The rows of `dataset.table`, in insertion order (created empty on first use). */
  table(dataset: string, table: string): FakeBigQueryRow[];
  /** The next request is answered with this status and body instead. */
  failNext(status: number, body: unknown): void;
  close(): Promise<void>;
}

const COLUMNS = 'session_id, updated_at_ms, deleted, payload, labels_json';
const SCHEMA = {
  fields: [
    { name: 'session_id', type: 'STRING', mode: 'NULLABLE' },
    { name: 'updated_at_ms', type: 'INTEGER', mode: 'NULLABLE' },
    { name: 'deleted', type: 'BOOLEAN', mode: 'NULLABLE' },
    { name: 'payload', type: 'STRING', mode: 'NULLABLE' },
    { name: 'labels_json', type: 'STRING', mode: 'NULLABLE' },
  ],
};

type Answer = [status: number, body: unknown];

const apiError = (status: number, reason: string, message: string): Answer => [
  status,
  { error: { code: status, message, status: reason, errors: [{ reason: reason.toLowerCase(), message }] } },
];

/** Why a row does not fit the session table's schema, or undefined when it does. */
function rowProblem(row: unknown, maxRowBytes: number): { location: string; message: string } | undefined {
  if (typeof row !== 'object' || row === null || Array.isArray(row))
    return { location: '', message: 'row is not an object' };
  const json = (row as { json?: unknown }).json;
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return { location: 'json', message: 'missing json' };
  if (JSON.stringify(json).length > maxRowBytes)
    return { location: '', message: 'row is larger than the maximum row size' };
  const allowed = COLUMNS.split(', ');
  for (const key of Object.keys(json)) {
    if (!allowed.includes(key)) return { location: key, message: `no such field: ${key}.` };
  }
  const j = json as Record<string, unknown>;
  if (typeof j.session_id !== 'string') return { location: 'session_id', message: 'session_id must be a STRING' };
  if (
    !(typeof j.updated_at_ms === 'string' && /^\d+$/.test(j.updated_at_ms)) &&
    !Number.isSafeInteger(j.updated_at_ms)
  ) {
    return { location: 'updated_at_ms', message: 'Cannot convert value to integer' };
  }
  if (typeof j.deleted !== 'boolean') return { location: 'deleted', message: 'Cannot convert value to boolean' };
  if (typeof j.payload !== 'string') return { location: 'payload', message: 'payload must be a STRING' };
  if (j.labels_json !== undefined && typeof j.labels_json !== 'string') {
    return { location: 'labels_json', message: 'labels_json must be a STRING' };
  }
  return undefined;
}

function latest(rows: readonly FakeBigQueryRow[]): FakeBigQueryRow[] {
  const best = new Map<string, FakeBigQueryRow>();
  for (const row of rows) {
    const seen = best.get(row.session_id);
    if (seen === undefined || BigInt(row.updated_at_ms) >= BigInt(seen.updated_at_ms)) best.set(row.session_id, row);
  }
  return [...best.values()].sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0));
}

const cells = (row: FakeBigQueryRow) => ({
  f: [
    { v: row.session_id },
    { v: row.updated_at_ms },
    { v: row.deleted ? 'true' : 'false' },
    { v: row.payload },
    { v: row.labels_json },
  ],
});

/** The fake's tables and query jobs, and how it answers each REST call. */
class FakeApi {
  readonly tables = new Map<string, FakeBigQueryRow[]>();
  private readonly pending = new Map<string, FakeBigQueryRow[][]>();
  private jobs = 0;

  constructor(
    readonly token: string,
    readonly project: string,
    private readonly options: FakeBigQueryOptions,
  ) {}

  table(dataset: string, name: string): FakeBigQueryRow[] {
    const key = `${dataset}.${name}`;
    let rows = this.tables.get(key);
    if (rows === undefined) {
      rows = [];
      this.tables.set(key, rows);
    }
    return rows;
  }

  route(method: string, authorization: string | undefined, url: URL, body: unknown): Answer {
    if (authorization !== `Bearer ${this.token}`) {
      return apiError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    }
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] !== 'bigquery' || parts[1] !== 'v2' || parts[2] !== 'projects')
      return apiError(404, 'NOT_FOUND', 'Not found');
    if (parts[3] !== this.project) return apiError(404, 'NOT_FOUND', `Not found: Project ${parts[3]}`);
    const [resource, id, sub, name, verb, ...extra] = parts.slice(4);
    const object =
      typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    if (method === 'POST' && resource === 'queries' && id === undefined) return this.query(object);
    if (method === 'GET' && resource === 'queries' && id !== undefined && sub === undefined) return this.results(id);
    const insert = resource === 'datasets' && sub === 'tables' && verb === 'insertAll' && extra.length === 0;
    if (method === 'POST' && insert) return this.insertAll(id as string, name as string, object);
    return apiError(404, 'NOT_FOUND', `Not found: ${method} ${url.pathname}`);
  }

  private query(body: Record<string, unknown>): Answer {
    if (body.useLegacySql !== false) return apiError(400, 'INVALID_ARGUMENT', 'useLegacySql must be false');
    const sql = String(body.query ?? '');
    const ref = /`([^`]+)\.([^`.]+)\.([^`.]+)`/.exec(sql);
    if (ref === null || ref[1] !== this.project)
      return apiError(400, 'INVALID_ARGUMENT', `Syntax error or unknown table in: ${sql}`);
    const t = `\`${ref[1]}.${ref[2]}.${ref[3]}\``;
    const rows = this.table(ref[2] as string, ref[3] as string);
    const latestSql = `SELECT ${COLUMNS} FROM ${t} QUALIFY ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY updated_at_ms DESC) = 1`;
    if (sql === `SELECT ${COLUMNS} FROM ${t} ORDER BY updated_at_ms ASC`) {
      const sorted = rows.map((row, i) => ({ row, i }));
      sorted.sort((a, b) => Number(BigInt(a.row.updated_at_ms) - BigInt(b.row.updated_at_ms)) || a.i - b.i);
      return this.pageOut(
        sorted.map((x) => x.row),
        body.maxResults,
      );
    }
    if (sql === latestSql) return this.pageOut(latest(rows), body.maxResults);
    if (sql === `SELECT ${COLUMNS} FROM (${latestSql}) WHERE deleted = false`) {
      return this.pageOut(
        latest(rows).filter((row) => !row.deleted),
        body.maxResults,
      );
    }
    const gc = `DELETE FROM ${t} AS t WHERE STRUCT(t.session_id, t.updated_at_ms) NOT IN ( SELECT AS STRUCT session_id, MAX(updated_at_ms) FROM ${t} GROUP BY session_id )`;
    if (sql === gc)
      return [200, { kind: 'bigquery#queryResponse', jobComplete: true, numDmlAffectedRows: deleteSuperseded(rows) }];
    if (sql === `TRUNCATE TABLE ${t}`) {
      rows.splice(0, rows.length);
      return [200, { kind: 'bigquery#queryResponse', jobComplete: true }];
    }
    return apiError(400, 'INVALID_ARGUMENT', `the fake does not know this query: ${sql}`);
  }

  /** The first page of a query's rows; the rest wait under the job id for `GET queries/<job>`. */
  private pageOut(rows: FakeBigQueryRow[], maxResults: unknown): Answer {
    const jobId = `job_${++this.jobs}`;
    const limit = typeof maxResults === 'number' ? maxResults : rows.length;
    const size = Math.max(1, Math.min(this.options.pageSize ?? rows.length, limit));
    const pages: FakeBigQueryRow[][] = [];
    for (let i = 0; i < rows.length; i += size) pages.push(rows.slice(i, i + size));
    const [first = [], ...rest] = pages;
    if (rest.length > 0) this.pending.set(jobId, rest);
    return [
      200,
      {
        kind: 'bigquery#queryResponse',
        schema: SCHEMA,
        jobReference: { projectId: this.project, jobId, location: 'US' },
        totalRows: String(rows.length),
        ...(first.length > 0 ? { rows: first.map(cells) } : {}),
        ...(rest.length > 0 ? { pageToken: `${jobId}:1` } : {}),
        jobComplete: true,
      },
    ];
  }

  private results(jobId: string): Answer {
    const pages = this.pending.get(jobId);
    const page = pages?.shift();
    if (page === undefined) return apiError(404, 'NOT_FOUND', `Not found: Job ${jobId}`);
    if (pages?.length === 0) this.pending.delete(jobId);
    return [
      200,
      {
        kind: 'bigquery#getQueryResultsResponse',
        schema: SCHEMA,
        jobReference: { projectId: this.project, jobId, location: 'US' },
        rows: page.map(cells),
        ...(pages && pages.length > 0 ? { pageToken: `${jobId}:next` } : {}),
        jobComplete: true,
      },
    ];
  }

  private insertAll(dataset: string, name: string, body: Record<string, unknown>): Answer {
    if (body.ignoreUnknownValues !== false || body.skipInvalidRows !== false || !Array.isArray(body.rows)) {
      return apiError(400, 'INVALID_ARGUMENT', 'expected {ignoreUnknownValues:false, skipInvalidRows:false, rows:[…]}');
    }
    const problems = body.rows.map((row) => rowProblem(row, this.options.maxRowBytes ?? Number.POSITIVE_INFINITY));
    if (problems.some((p) => p !== undefined)) {
      // skipInvalidRows:false: one bad row stops the whole request; the others are reported "stopped".
      const insertErrors = problems.map((p, index) => ({
        index,
        errors: [p === undefined ? { reason: 'stopped', location: '', message: '' } : { reason: 'invalid', ...p }],
      }));
      return [200, { kind: 'bigquery#tableDataInsertAllResponse', insertErrors }];
    }
    for (const row of body.rows as Array<{ json: Record<string, unknown> }>) {
      const j = row.json;
      this.table(dataset, name).push({
        session_id: j.session_id as string,
        updated_at_ms: String(j.updated_at_ms),
        deleted: j.deleted as boolean,
        payload: j.payload as string,
        labels_json: (j.labels_json as string | undefined) ?? null,
      });
    }
    return [200, { kind: 'bigquery#tableDataInsertAllResponse' }];
  }
}

/** Keeps only each session's rows at its greatest updated_at_ms (NOT IN semantics); the count removed, as a string. */
function deleteSuperseded(rows: FakeBigQueryRow[]): string {
  const max = new Map<string, bigint>();
  for (const row of rows) {
    const v = BigInt(row.updated_at_ms);
    if ((max.get(row.session_id) ?? -1n) < v) max.set(row.session_id, v);
  }
  const kept = rows.filter((row) => max.get(row.session_id) === BigInt(row.updated_at_ms));
  const removed = rows.length - kept.length;
  rows.splice(0, rows.length, ...kept);
  return String(removed);
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? undefined : JSON.parse(text));
      } catch {
        resolve(text);
      }
    });
  });
}

/** Starts the fake on 127.0.0.1 (an ephemeral port). */
export async function startFakeBigQuery(options: FakeBigQueryOptions = {}): Promise<FakeBigQuery> {
  const api = new FakeApi(options.token ?? 'test-token', options.project ?? 'test-project', options);
  const requests: FakeBigQueryRequest[] = [];
  let failure: Answer | undefined;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? '';
    const { authorization } = req.headers;
    requests.push({ method, path: `${url.pathname}${url.search}`, authorization, body });
    const [status, answer] = failure ?? api.route(method, authorization, url, body);
    failure = undefined;
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bigquery/v2`,
    token: api.token,
    project: api.project,
    requests,
    table: (dataset, name) => api.table(dataset, name),
    failNext: (status, body) => {
      failure = [status, body];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
