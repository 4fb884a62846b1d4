/**
 * `@mobkit/store/postgres` — the PostgreSQL adapter behind core's storage ports (`pg` is an optional
 * peer dependency: install it to use this entry).
 * @packageDocumentation
 */
export { openPostgresStore, type PostgresStoreOptions } from './store.js';
export { POSTGRES_SCHEMA_VERSION } from './migrations.js';
export { MAX_EVENT_QUERY_LIMIT } from './events.js';
