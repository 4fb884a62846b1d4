export { backupSqliteStore, type SqliteBackupResult } from './backup.js';
export { SQLITE_EVENT_QUERY_CAP } from './events.js';
export { SQLITE_SCHEMA_VERSION } from './schema.js';
export { openSqliteStore, type SqliteStoreOptions } from './store.js';
