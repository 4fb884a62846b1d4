import { open, readFile, rename } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { type Clock, MobKitError, systemClock } from '@mobkit/core';
import { DEFAULT_STALE_LOCK_THRESHOLD_MS, acquireFileLock, sessionStoreIoError } from './file-lock.js';
import {
  type SessionPersistenceRow,
  type SessionStore,
  materializeLatestSessionRows,
  materializeLiveSessionRows,
  sessionRowToWire,
  sessionRowsFromWire,
} from './row.js';

/** Options of {@link JsonFileSessionStore}. */
export interface JsonFileSessionStoreOptions {
  /** The lock file (default: the data path with its extension replaced by `.lock`). */
  lockPath?: string;
  /** A lock at least this old whose owner process is not alive is taken over (default 30 s). */
  staleLockThresholdMs?: number;
  /** The clock lock ages are measured with (default the system clock). */
  clock?: Clock;
}

/** `path` with the extension of its last component replaced (Rust's `Path::with_extension`). */
function withExtension(path: string, extension: string): string {
  const name = basename(path);
  const stem = name.slice(0, name.length - extname(name).length);
  return join(dirname(path), `${stem}.${extension}`);
}

/**
 * The JSON-file session store (spec 12): every row in one JSON array in `dataPath` (tests name it
 * `*.jsonl`, but the content is a single array). `appendRows` takes the lock file (O_EXCL,
 * `{owner_pid, created_at_ms}`; a stale one — at least `staleLockThresholdMs` old and its owner not
 * alive — is taken over, with one retry), reads the array, appends, and rewrites it atomically
 * (`<data path>.tmp`, fsync, rename), so a process killed mid-write leaves the old array or the new one,
 * never half of one. Reads take no lock. Appends of one instance run one at a time.
 */
export class JsonFileSessionStore implements SessionStore {
  /** The JSON array file. */
  readonly dataPath: string;
  /** The lock file. */
  readonly lockPath: string;
  /** The stale-lock threshold in milliseconds. */
  readonly staleLockThresholdMs: number;
  private readonly clock: Clock;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dataPath: string, options: JsonFileSessionStoreOptions = {}) {
    const threshold = options.staleLockThresholdMs ?? DEFAULT_STALE_LOCK_THRESHOLD_MS;
    if (!Number.isFinite(threshold) || threshold < 0) {
      throw new MobKitError('InvalidInput', `staleLockThresholdMs must be a non-negative number, got ${threshold}`, {
        details: { field: 'staleLockThresholdMs' },
      });
    }
    this.dataPath = dataPath;
    this.lockPath = options.lockPath ?? withExtension(dataPath, 'lock');
    if (this.lockPath === dataPath) {
      throw new MobKitError(
        'InvalidInput',
        `session store lock path ${this.lockPath} is the data path; pass another lockPath`,
        {
          details: { field: 'lockPath' },
        },
      );
    }
    this.staleLockThresholdMs = threshold;
    this.clock = options.clock ?? systemClock;
  }

  /** Appends `rows` under the lock and rewrites the array atomically; rejects without writing anything on failure. */
  appendRows(rows: readonly SessionPersistenceRow[]): Promise<void> {
    const run = this.queue.then(() => this.appendLocked(rows));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every row in file order (`[]` when the file does not exist yet). */
  async readRows(): Promise<SessionPersistenceRow[]> {
    let text: string;
    try {
      text = await readFile(this.dataPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw sessionStoreIoError('read', this.dataPath, error);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new MobKitError(
        'InvalidStoreData',
        `session store ${this.dataPath} is not valid JSON (${(error as Error).message}); restore it from a backup`,
        { cause: error, details: { path: this.dataPath } },
      );
    }
    return sessionRowsFromWire(value, { path: this.dataPath, code: 'InvalidStoreData' });
  }

  /** The latest row of each session, sorted by session id. */
  async readLatestRows(): Promise<SessionPersistenceRow[]> {
    return materializeLatestSessionRows(await this.readRows());
  }

  /** The latest row of each session that is not a tombstone, sorted by session id. */
  async readLiveRows(): Promise<SessionPersistenceRow[]> {
    return materializeLiveSessionRows(await this.readRows());
  }

  private async appendLocked(rows: readonly SessionPersistenceRow[]): Promise<void> {
    await this.ensureDirectory(dirname(this.lockPath));
    const release = await acquireFileLock(this.lockPath, {
      staleThresholdMs: this.staleLockThresholdMs,
      clock: this.clock,
    });
    try {
      await this.ensureDirectory(dirname(this.dataPath));
      const persisted = await this.readRows();
      persisted.push(...rows);
      await this.writeAtomically(serializeRows(persisted, this.dataPath));
    } finally {
      await release();
    }
  }

  private async ensureDirectory(directory: string): Promise<void> {
    try {
      await mkdir(directory, { recursive: true });
    } catch (error) {
      throw sessionStoreIoError('create the directory', directory, error);
    }
  }

  private async writeAtomically(text: string): Promise<void> {
    const tmpPath = `${this.dataPath}.tmp`;
    try {
      const handle = await open(tmpPath, 'w');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmpPath, this.dataPath);
    } catch (error) {
      throw sessionStoreIoError('write', this.dataPath, error);
    }
    await syncDirectory(dirname(this.dataPath));
  }
}

function serializeRows(rows: readonly SessionPersistenceRow[], path: string): string {
  try {
    return JSON.stringify(rows.map(sessionRowToWire), null, 2);
  } catch (error) {
    throw new MobKitError(
      'SessionStoreSerialize',
      `session rows for ${path} could not be serialized: ${(error as Error).message}`,
      {
        cause: error,
        details: { path },
      },
    );
  }
}

/** Makes a rename durable by syncing its directory; platforms that cannot open a directory skip it. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Windows cannot fsync a directory; the rename itself already happened.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
