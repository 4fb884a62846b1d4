/**
 * @mobkit/store — adapters behind core's storage ports.
 * @packageDocumentation
 */

// opening a store by config
export {
  type MemoryStoreConfig,
  type OpenStoreOptions,
  openStore,
  type PostgresStoreConfig,
  type SqliteStoreConfig,
  type StoreConfig,
} from './open.js';

// moving data between stores
export {
  type ExportStoreOptions,
  exportStore,
  type ImportStoreOptions,
  importStore,
  STORE_EXPORT_FORMAT,
  STORE_EXPORT_VERSION,
  type StoreExportClaim,
  type StoreExportEnd,
  type StoreExportEvent,
  type StoreExportHeader,
  type StoreExportRecord,
  type StoreTransferCounts,
} from './transfer/index.js';

// sqlite
export {
  backupSqliteStore,
  openSqliteStore,
  SQLITE_EVENT_QUERY_CAP,
  SQLITE_SCHEMA_VERSION,
  type SqliteBackupResult,
  type SqliteStoreOptions,
} from './sqlite/index.js';

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
  sessionStoreContracts,
  sessionStoreContractToWire,
  type SessionStoreContract,
  type SessionStoreContractWire,
  type SessionStoreKind,
} from './session/index.js';
