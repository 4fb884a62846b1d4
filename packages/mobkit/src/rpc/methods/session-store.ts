import { MobKitError, closedObject, parseRpcParams } from '@mobkit/core';
import { BigQuerySessionStore, type SessionPersistenceRow, sessionRowToWire, sessionRowsFromWire } from '@mobkit/store';
import { z } from 'zod';
import { type RpcMethod, type RpcParamsSpec, rpcMethod } from '../registry.js';

const METHOD = 'mobkit/session_store/bigquery';
const INSERT_OPERATIONS = ['stream_insert_rows', 'stream_insert'] as const;
const OPERATIONS = [
  ...INSERT_OPERATIONS,
  'read_rows',
  'read_latest_rows',
  'read_latest',
  'read_live_rows',
  'read_live',
] as const;
type Operation = (typeof OPERATIONS)[number];

/** The longest `timeout_ms` a timer can wait (2^31 − 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const SSRF_RULE = 'only https on *.googleapis.com, or http(s) on localhost, 127.0.0.1 or [::1], is allowed';

const Params = closedObject({
  operation: z.enum(OPERATIONS),
  dataset: z.string(),
  table: z.string(),
  project_id: z.string().optional(),
  access_token: z.string().optional(),
  api_base_url: z.string().optional(),
  timeout_ms: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
  rows: z.array(z.unknown()).optional(),
});

/** The params of `mobkit/session_store/bigquery`, validated. */
interface SessionStoreParams {
  operation: Operation;
  dataset: string;
  table: string;
  projectId?: string;
  accessToken?: string;
  apiBaseUrl?: string;
  timeoutMs?: number;
  /** Only for the insert operations. */
  rows?: SessionPersistenceRow[];
}

function invalid(message: string, field: string): MobKitError {
  return new MobKitError('RpcInvalidParams', `Invalid params: ${field}: ${message}`, { details: { field } });
}

/**
 * The SSRF guard of `api_base_url`: the gateway must not be turned into a proxy to arbitrary hosts
 * with the caller's (or the environment's) BigQuery token, so only Google's API hosts over https
 * and the loopback interface are reachable. No credentials, query or fragment in the URL.
 */
export function isAllowedBigQueryBaseUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return false;
  if (url.protocol === 'https:' && url.hostname.endsWith('.googleapis.com')) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
}

const sessionStoreParams: RpcParamsSpec<SessionStoreParams> = {
  parseParams: (raw) => {
    const params = parseRpcParams(Params, raw, METHOD);
    if (params.api_base_url !== undefined && !isAllowedBigQueryBaseUrl(params.api_base_url)) {
      throw invalid(SSRF_RULE, 'api_base_url');
    }
    const inserting = (INSERT_OPERATIONS as readonly string[]).includes(params.operation);
    if (inserting && params.rows === undefined) throw invalid(`required for ${params.operation}`, 'rows');
    if (!inserting && params.rows !== undefined) throw invalid(`only for ${INSERT_OPERATIONS.join(' and ')}`, 'rows');
    return {
      operation: params.operation,
      dataset: params.dataset,
      table: params.table,
      projectId: params.project_id,
      accessToken: params.access_token,
      apiBaseUrl: params.api_base_url,
      timeoutMs: params.timeout_ms,
      rows: params.rows === undefined ? undefined : sessionRowsFromWire(params.rows, { code: 'RpcInvalidParams' }),
    };
  },
};

async function run(params: SessionStoreParams): Promise<unknown> {
  const store = new BigQuerySessionStore({
    dataset: params.dataset,
    table: params.table,
    projectId: params.projectId,
    accessToken: params.accessToken,
    apiBaseUrl: params.apiBaseUrl,
    httpTimeoutMs: params.timeoutMs,
  });
  const { operation } = params;
  if (params.rows !== undefined) {
    await store.streamInsertRows(params.rows);
    return { operation, accepted: true, inserted_rows: params.rows.length };
  }
  const rows =
    operation === 'read_rows'
      ? await store.readRows()
      : operation === 'read_latest_rows' || operation === 'read_latest'
        ? await store.readLatestRows()
        : await store.readLiveRows();
  return { operation, rows: rows.map(sessionRowToWire) };
}

/**
 * `mobkit/session_store/bigquery` (spec 16): stream rows into, or read rows from, a BigQuery
 * session table. Closed params (unknown keys are `-32602` naming them), `api_base_url` behind the
 * SSRF guard, store failures `-32011`.
 */
export const sessionStoreMethods: readonly RpcMethod[] = [rpcMethod(METHOD, sessionStoreParams, run)];
