import { MobKitError } from '@mobkit/core';
import { type SessionPersistenceRow, sortedLabels } from '../row.js';
import { parseQueryRows } from './cells.js';
import { bigQueryRequest } from './http.js';
import { BigQueryNaming } from './naming.js';

/** The BigQuery REST API's default base URL. */
export const DEFAULT_BIGQUERY_API_BASE_URL = 'https://bigquery.googleapis.com/bigquery/v2';
/** The default timeout of one BigQuery HTTP request (30 s). */
export const DEFAULT_BIGQUERY_HTTP_TIMEOUT_MS = 30_000;
/** Environment variables the access token is read from, in order, when none is given. */
export const BIGQUERY_TOKEN_ENV = [
  'BIGQUERY_ACCESS_TOKEN',
  'GOOGLE_OAUTH_ACCESS_TOKEN',
  'GOOGLE_ACCESS_TOKEN',
] as const;
/** The environment variable the project id is read from when none is given. */
export const BIGQUERY_PROJECT_ENV = 'BIGQUERY_PROJECT_ID';

const MAX_RESULTS = 10_000;
/** How many times an unfinished query job is polled before giving up. */
const MAX_COMPLETION_POLLS = 20;
/** Project ids: letters, digits, `-`, and the `.`/`:` of domain-scoped ids (`example.com:proj`). */
const PROJECT_ID = /^[A-Za-z0-9_.:-]+$/;
const COLUMNS = 'session_id, updated_at_ms, deleted, payload, labels_json';

/** Options of {@link BigQuerySessionStore}. */
export interface BigQuerySessionStoreOptions {
  /** The dataset (`A-Z a-z 0-9 _ -`). */
  dataset: string;
  /** The table (`A-Z a-z 0-9 _ -`). */
  table: string;
  /** The project id (default: env `BIGQUERY_PROJECT_ID`). */
  projectId?: string;
  /** The OAuth bearer token (default: env `BIGQUERY_ACCESS_TOKEN`, `GOOGLE_OAUTH_ACCESS_TOKEN`, `GOOGLE_ACCESS_TOKEN`). */
  accessToken?: string;
  /** The REST API base URL (default {@link DEFAULT_BIGQUERY_API_BASE_URL}; a trailing `/` is dropped). */
  apiBaseUrl?: string;
  /** Timeout of each HTTP request in ms (default 30 s). */
  httpTimeoutMs?: number;
  /** Where the project id and token defaults are read (default `process.env`), read at each call. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The BigQuery session store (spec 12) over the REST API and the global `fetch`: rows are streamed
 * in with `insertAll` (a row BigQuery rejects fails the call with `BigQueryApi` — never silently
 * accepted), read with `jobs.query` (all rows, the latest per session by `QUALIFY ROW_NUMBER()`,
 * the live ones), and superseded rows deleted by {@link gcSupersededRows} (see `runPeriodicGc`).
 * The table has columns `session_id STRING, updated_at_ms INT64, deleted BOOL, payload STRING,
 * labels_json STRING`.
 */
export class BigQuerySessionStore {
  /** The validated dataset and table. */
  readonly naming: BigQueryNaming;
  /** The base URL requests go to. */
  readonly apiBaseUrl: string;
  /** The per-request timeout in ms. */
  readonly httpTimeoutMs: number;
  private readonly projectId: string | undefined;
  private readonly accessToken: string | undefined;
  private readonly env: Readonly<Record<string, string | undefined>>;

  /** Validates the names (`EmptyBigQueryDataset`, `EmptyBigQueryTable`, `InvalidBigQueryName`) and the settings. */
  constructor(options: BigQuerySessionStoreOptions) {
    this.naming = BigQueryNaming.of(options.dataset, options.table);
    const timeout = options.httpTimeoutMs ?? DEFAULT_BIGQUERY_HTTP_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeout) || timeout <= 0 || timeout > 2_147_483_647) {
      throw configuration(`httpTimeoutMs must be a positive integer of milliseconds, got ${timeout}`, 'httpTimeoutMs');
    }
    this.httpTimeoutMs = timeout;
    this.apiBaseUrl = (options.apiBaseUrl ?? DEFAULT_BIGQUERY_API_BASE_URL).replace(/\/+$/, '');
    if (!URL.canParse(this.apiBaseUrl)) {
      throw configuration(`apiBaseUrl ${JSON.stringify(this.apiBaseUrl)} is not a URL`, 'apiBaseUrl');
    }
    this.projectId = options.projectId;
    this.accessToken = options.accessToken;
    this.env = options.env ?? process.env;
  }

  /** `dataset.table`. */
  tableRef(): string {
    return this.naming.tableRef();
  }

  /**
   * Streams `rows` into the table with one `insertAll` (`updated_at_ms` as a string, `payload` and
   * `labels_json` as JSON strings, `labels_json` only when there are labels). Nothing to send ⇒ no
   * request. Any `insertErrors` ⇒ `BigQueryApi` naming them.
   */
  async streamInsertRows(rows: readonly SessionPersistenceRow[]): Promise<void> {
    if (rows.length === 0) return;
    const project = this.resolveProjectId();
    const { dataset, table } = this.naming;
    const url = `${this.apiBaseUrl}/projects/${encodeURIComponent(project)}/datasets/${dataset}/tables/${table}/insertAll`;
    const body = { ignoreUnknownValues: false, skipInvalidRows: false, rows: rows.map(insertRow) };
    const answer = await this.request('POST', url, body);
    const errors = (answer as { insertErrors?: unknown } | null)?.insertErrors;
    if (Array.isArray(errors) && errors.length > 0) {
      throw new MobKitError(
        'BigQueryApi',
        `BigQuery insertAll into ${this.tableRef()} rejected rows: ${JSON.stringify(errors).slice(0, 1000)}`,
        { details: { insert_errors: errors } },
      );
    }
  }

  /** Every row, `ORDER BY updated_at_ms ASC`. */
  async readRows(): Promise<SessionPersistenceRow[]> {
    return this.query(`SELECT ${COLUMNS} FROM \`${this.fullTable()}\` ORDER BY updated_at_ms ASC`);
  }

  /** The latest row of each session (`QUALIFY ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY updated_at_ms DESC) = 1`). */
  async readLatestRows(): Promise<SessionPersistenceRow[]> {
    return this.query(latestQuery(this.fullTable()));
  }

  /** The latest row of each session, without tombstones (`WHERE deleted = false`). */
  async readLiveRows(): Promise<SessionPersistenceRow[]> {
    return this.query(`SELECT ${COLUMNS} FROM (${latestQuery(this.fullTable())}) WHERE deleted = false`);
  }

  /** Deletes every row that is not its session's latest; resolves with `numDmlAffectedRows` (0 when absent). */
  async gcSupersededRows(): Promise<number> {
    const t = this.fullTable();
    const answer = await this.dml(
      `DELETE FROM \`${t}\` AS t WHERE STRUCT(t.session_id, t.updated_at_ms) NOT IN ( SELECT AS STRUCT session_id, MAX(updated_at_ms) FROM \`${t}\` GROUP BY session_id )`,
    );
    const affected = (answer as { numDmlAffectedRows?: unknown } | null)?.numDmlAffectedRows;
    const n = typeof affected === 'string' && /^\d+$/.test(affected) ? Number(affected) : affected;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  /** Removes every row of the table (`TRUNCATE TABLE`). */
  async truncateSessions(): Promise<void> {
    await this.dml(`TRUNCATE TABLE \`${this.fullTable()}\``);
  }

  private fullTable(): string {
    return `${this.resolveProjectId()}.${this.tableRef()}`;
  }

  private queriesUrl(): string {
    return `${this.apiBaseUrl}/projects/${encodeURIComponent(this.resolveProjectId())}/queries`;
  }

  private async dml(query: string): Promise<unknown> {
    return this.request('POST', this.queriesUrl(), { query, useLegacySql: false });
  }

  /** Runs a query and reads every page of its answer (an unfinished job is polled; `pageToken` followed). */
  private async query(query: string): Promise<SessionPersistenceRow[]> {
    let answer = await this.request('POST', this.queriesUrl(), { query, useLegacySql: false, maxResults: MAX_RESULTS });
    const rows: SessionPersistenceRow[] = [];
    for (let polls = 0; ; ) {
      const page = answer as { jobComplete?: unknown; pageToken?: unknown } | null;
      const complete = page?.jobComplete !== false;
      if (complete) rows.push(...parseQueryRows(answer));
      const token = typeof page?.pageToken === 'string' && page.pageToken !== '' ? page.pageToken : undefined;
      if (complete && token === undefined) return rows;
      if (!complete && ++polls > MAX_COMPLETION_POLLS) {
        throw new MobKitError(
          'BigQueryHttp',
          `BigQuery query on ${this.tableRef()} did not complete after ${polls} polls`,
        );
      }
      answer = await this.request('GET', this.resultsUrl(answer, complete ? token : undefined));
    }
  }

  private resultsUrl(answer: unknown, pageToken: string | undefined): string {
    const job = (answer as { jobReference?: { jobId?: unknown; location?: unknown } } | null)?.jobReference;
    if (typeof job?.jobId !== 'string' || job.jobId === '') {
      throw new MobKitError(
        'BigQueryInvalidResponse',
        'BigQuery query answer: more results pending but no jobReference.jobId',
      );
    }
    const params = new URLSearchParams({ maxResults: String(MAX_RESULTS) });
    if (pageToken !== undefined) params.set('pageToken', pageToken);
    if (typeof job.location === 'string') params.set('location', job.location);
    return `${this.queriesUrl()}/${encodeURIComponent(job.jobId)}?${params}`;
  }

  private async request(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
    return bigQueryRequest({
      method,
      url,
      body,
      accessToken: this.resolveAccessToken(),
      timeoutMs: this.httpTimeoutMs,
    });
  }

  private resolveProjectId(): string {
    const project = firstNonBlank([this.projectId, this.env[BIGQUERY_PROJECT_ENV]]);
    if (project === undefined) {
      throw configuration(`missing BigQuery project id: pass projectId or set ${BIGQUERY_PROJECT_ENV}`, 'projectId');
    }
    if (!PROJECT_ID.test(project)) {
      throw configuration(
        `invalid BigQuery project id ${JSON.stringify(project)}: only A-Z a-z 0-9 _ . : - are allowed`,
        'projectId',
      );
    }
    return project;
  }

  private resolveAccessToken(): string {
    const token = firstNonBlank([this.accessToken, ...BIGQUERY_TOKEN_ENV.map((key) => this.env[key])]);
    if (token === undefined) {
      throw configuration(
        `missing BigQuery access token: pass accessToken or set ${BIGQUERY_TOKEN_ENV.join(', ')}`,
        'accessToken',
      );
    }
    return token;
  }
}

function latestQuery(table: string): string {
  return `SELECT ${COLUMNS} FROM \`${table}\` QUALIFY ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY updated_at_ms DESC) = 1`;
}

function firstNonBlank(values: ReadonlyArray<string | undefined>): string | undefined {
  for (const value of values) {
    const trimmed = value?.trim();
    if (trimmed) return trimmed;
  }
  return undefined;
}

function configuration(message: string, field: string): MobKitError {
  return new MobKitError('BigQueryConfiguration', message, { details: { field } });
}

/** One `insertAll` row: `{json: {session_id, updated_at_ms: "<string>", deleted, payload: "<JSON>", labels_json?}}`. */
function insertRow(row: SessionPersistenceRow): { json: Record<string, unknown> } {
  let payload: string | undefined;
  let labels: string | undefined;
  try {
    payload = JSON.stringify(row.payload);
    if (Object.keys(row.labels).length > 0) labels = JSON.stringify(sortedLabels(row.labels));
  } catch (error) {
    throw new MobKitError(
      'SessionStoreSerialize',
      `session row ${row.sessionId} could not be serialized: ${(error as Error).message}`,
      {
        cause: error,
        details: { session_id: row.sessionId },
      },
    );
  }
  const json: Record<string, unknown> = {
    session_id: row.sessionId,
    updated_at_ms: String(row.updatedAtMs),
    deleted: row.deleted,
    payload: payload ?? 'null',
  };
  if (labels !== undefined) json.labels_json = labels;
  return { json };
}
