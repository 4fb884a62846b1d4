import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MobKitError, type MobKitStore } from '@mobkit/core';
import { sqliteInternals } from './store.js';
import { closedError } from './writer.js';

/** What {@link backupSqliteStore} wrote. */
export interface SqliteBackupResult {
  /** The absolute path of the copy. */
  path: string;
  /** Its size in bytes. */
  bytes: number;
}

/**
 * Writes an online backup of a store opened by `openSqliteStore` to `destPath` (`VACUUM INTO`): a
 * consistent, compacted copy of what was committed when it started, taken on the read connection, so
 * writers (this process's and others') are not blocked; the copy runs synchronously, so this process's
 * event loop waits for it (a large file takes a while). The copy opens with `openSqliteStore` as a
 * store with the same data. Refuses an existing `destPath` (`InvalidInput`) and any other kind of
 * store; a copy that cannot be written is `StoreWriteFailed`.
 */
export async function backupSqliteStore(store: MobKitStore, destPath: string): Promise<SqliteBackupResult> {
  const sqlite = sqliteInternals(store);
  if (sqlite === undefined) {
    throw new MobKitError(
      'InvalidInput',
      `backupSqliteStore needs a store opened by openSqliteStore, got a ${store.info.kind} store; use exportStore for other kinds`,
    );
  }
  if (sqlite.isClosed()) throw closedError(sqlite.location);
  if (typeof destPath !== 'string' || destPath.trim() === '') {
    throw new MobKitError('InvalidInput', 'backup destination must be a non-empty file path');
  }
  const path = resolve(destPath);
  if (path === sqlite.location) throw new MobKitError('InvalidInput', `cannot back up ${path} onto itself`);
  if (existsSync(path)) {
    throw new MobKitError(
      'InvalidInput',
      `backup destination ${path} already exists; choose a new file or remove it first`,
      {
        details: { path },
      },
    );
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    // The read connection is query_only (it never writes the store); VACUUM INTO writes only the copy.
    sqlite.reader.exec('PRAGMA query_only = 0');
    try {
      sqlite.reader.run('VACUUM INTO ?', [path]);
    } finally {
      sqlite.reader.exec('PRAGMA query_only = 1');
    }
  } catch (error) {
    throw new MobKitError(
      'StoreWriteFailed',
      `the backup of ${sqlite.location} to ${path} failed: ${(error as Error).message}; check that the destination is writable and has space`,
      { cause: error, details: { location: sqlite.location, path } },
    );
  }
  return { path, bytes: statSync(path).size };
}
