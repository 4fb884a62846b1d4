import { assertSchemaVersion } from '../schema-version.js';
import type { SqliteConnection } from './connection.js';
import { corruptStore } from './sql.js';

/**
 * The migrations, in order: migration `i` (0-based) brings the schema from version `i` to `i + 1`.
 * Append new ones; never edit a released one.
 */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
    `INSERT INTO meta (key, value) VALUES ('last_seq', 0)`,
    `CREATE TABLE events (
       seq INTEGER PRIMARY KEY,
       id TEXT NOT NULL UNIQUE,
       timestamp_ms INTEGER NOT NULL,
       member_id TEXT,
       kind TEXT NOT NULL,
       event_type TEXT NOT NULL,
       data TEXT NOT NULL
     )`,
    `CREATE INDEX events_member_seq ON events (member_id, seq)`,
    `CREATE INDEX events_type_seq ON events (event_type, seq)`,
    `CREATE INDEX events_kind_seq ON events (kind, seq)`,
    `CREATE INDEX events_timestamp ON events (timestamp_ms)`,
    `CREATE TABLE records (
       namespace TEXT NOT NULL,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       version INTEGER NOT NULL,
       updated_at_ms INTEGER NOT NULL,
       idx TEXT,
       range REAL,
       text TEXT,
       PRIMARY KEY (namespace, key)
     )`,
    `CREATE INDEX records_idx ON records (namespace, idx, key) WHERE idx IS NOT NULL`,
    `CREATE INDEX records_range ON records (namespace, range, key) WHERE range IS NOT NULL`,
    `CREATE VIRTUAL TABLE records_fts USING fts5 (
       text, content = 'records', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
     )`,
    `CREATE TRIGGER records_fts_insert AFTER INSERT ON records WHEN new.text IS NOT NULL BEGIN
       INSERT INTO records_fts (rowid, text) VALUES (new.rowid, new.text);
     END`,
    `CREATE TRIGGER records_fts_delete AFTER DELETE ON records WHEN old.text IS NOT NULL BEGIN
       INSERT INTO records_fts (records_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
     END`,
    // One trigger for both halves of an update: SQLite does not promise an order between triggers.
    `CREATE TRIGGER records_fts_update AFTER UPDATE ON records BEGIN
       INSERT INTO records_fts (records_fts, rowid, text) SELECT 'delete', old.rowid, old.text WHERE old.text IS NOT NULL;
       INSERT INTO records_fts (rowid, text) SELECT new.rowid, new.text WHERE new.text IS NOT NULL;
     END`,
    `CREATE TABLE claims (
       namespace TEXT NOT NULL,
       key TEXT NOT NULL,
       owner TEXT NOT NULL,
       claimed_at_ms INTEGER NOT NULL,
       expires_at_ms INTEGER,
       PRIMARY KEY (namespace, key)
     )`,
    `CREATE TABLE leases (
       name TEXT PRIMARY KEY,
       owner TEXT,
       token INTEGER NOT NULL,
       expires_at_ms INTEGER NOT NULL
     )`,
  ],
  // 2: the FTS update trigger fires only when a text is involved (it cost ~11 µs on every upsert of a
  // record without text: the delivery ledger's, the trusted resolutions').
  [
    'DROP TRIGGER records_fts_update',
    `CREATE TRIGGER records_fts_update AFTER UPDATE ON records WHEN old.text IS NOT NULL OR new.text IS NOT NULL BEGIN
       INSERT INTO records_fts (records_fts, rowid, text) SELECT 'delete', old.rowid, old.text WHERE old.text IS NOT NULL;
       INSERT INTO records_fts (rowid, text) SELECT new.rowid, new.text WHERE new.text IS NOT NULL;
     END`,
  ],
];

/** The schema version this build writes (the number of migrations). */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

const VERSION_TABLE = 'mobkit_schema_version';

/** The schema version stored in the file (0 for a new, empty database); refuses a file that is another app's. */
function readSchemaVersion(db: SqliteConnection, location: string): number {
  const tables = db.all(
    `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
  );
  const names = tables.map((row) => String(row.name));
  if (!names.includes(VERSION_TABLE)) {
    if (names.length === 0) return 0;
    throw corruptStore(
      location,
      undefined,
      `it is an SQLite database, but not a MobKit store: it has tables ${names.slice(0, 5).join(', ')} and no ${VERSION_TABLE}`,
    );
  }
  const rows = db.all(`SELECT version FROM ${VERSION_TABLE}`);
  const version = Number(rows[0]?.version);
  if (rows.length !== 1 || !Number.isInteger(version) || version < 0) {
    throw corruptStore(location, undefined, `its ${VERSION_TABLE} table does not hold one version number`);
  }
  return version;
}

/**
 * Brings the database to {@link SQLITE_SCHEMA_VERSION}: refuses a newer schema before anything is
 * written (`StoreSchemaTooNew`, naming both versions), then runs the missing migrations in one write
 * transaction (re-reading the version inside it, since another process may have migrated meanwhile).
 * Resolves with the version found at open.
 */
export function migrate(db: SqliteConnection, location: string): number {
  const found = readSchemaVersion(db, location);
  assertSchemaVersion(found, SQLITE_SCHEMA_VERSION, location);
  if (found === SQLITE_SCHEMA_VERSION) return found;
  db.exec('BEGIN IMMEDIATE');
  try {
    const current = readSchemaVersion(db, location);
    assertSchemaVersion(current, SQLITE_SCHEMA_VERSION, location);
    if (current === 0) db.exec(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL)`);
    for (let version = current; version < SQLITE_SCHEMA_VERSION; version++) {
      for (const sql of MIGRATIONS[version] ?? []) db.exec(sql);
    }
    db.exec(`DELETE FROM ${VERSION_TABLE}`);
    db.run(`INSERT INTO ${VERSION_TABLE} (version) VALUES (?)`, [SQLITE_SCHEMA_VERSION]);
    db.exec('COMMIT');
    return current;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
