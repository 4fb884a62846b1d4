/**
 * Session stores (spec 12): MobKit-side projections of sessions as appended rows, read back as all
 * rows, the latest per session, or the live ones.
 * @module
 */
export {
  type SessionPersistenceRow,
  type SessionPersistenceRowWire,
  type SessionRowParseOptions,
  type SessionStore,
  sessionRow,
  sessionRowFromWire,
  sessionRowsFromWire,
  sessionRowToWire,
  materializeLatestSessionRows,
  materializeLiveSessionRows,
} from './row.js';
export { isProcessAlive, DEFAULT_STALE_LOCK_THRESHOLD_MS } from './file-lock.js';
export { JsonFileSessionStore, type JsonFileSessionStoreOptions } from './json-file-store.js';
export {
  RecordsSessionStore,
  type RecordsSessionStoreBackend,
  type RecordsSessionStoreOptions,
} from './records-store.js';
export { BigQueryNaming } from './bigquery/naming.js';
export {
  BigQuerySessionStore,
  type BigQuerySessionStoreOptions,
  DEFAULT_BIGQUERY_API_BASE_URL,
  DEFAULT_BIGQUERY_HTTP_TIMEOUT_MS,
  BIGQUERY_PROJECT_ENV,
  BIGQUERY_TOKEN_ENV,
} from './bigquery/store.js';
export {
  runPeriodicGc,
  type PeriodicGcOptions,
  type PeriodicGcHandle,
  DEFAULT_BIGQUERY_GC_INTERVAL_MS,
} from './bigquery/gc.js';
export {
  sessionStoreContracts,
  sessionStoreContractToWire,
  type SessionStoreContract,
  type SessionStoreContractWire,
  type SessionStoreKind,
} from './contracts.js';
