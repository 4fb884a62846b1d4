/**
 * @mobkit/store — adapters behind core's storage ports.
 * @packageDocumentation
 */

// memory
export { createMemoryStore, type MemoryStoreOptions } from './memory/index.js';

// session stores
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
  isProcessAlive,
  DEFAULT_STALE_LOCK_THRESHOLD_MS,
  JsonFileSessionStore,
  type JsonFileSessionStoreOptions,
  RecordsSessionStore,
  type RecordsSessionStoreBackend,
  type RecordsSessionStoreOptions,
  BigQueryNaming,
  BigQuerySessionStore,
  type BigQuerySessionStoreOptions,
  DEFAULT_BIGQUERY_API_BASE_URL,
  DEFAULT_BIGQUERY_HTTP_TIMEOUT_MS,
  BIGQUERY_PROJECT_ENV,
  BIGQUERY_TOKEN_ENV,
  runPeriodicGc,
  type PeriodicGcOptions,
  type PeriodicGcHandle,
  DEFAULT_BIGQUERY_GC_INTERVAL_MS,
} from './session/index.js';
