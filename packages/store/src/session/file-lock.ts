import { open, readFile, stat, unlink } from 'node:fs/promises';
import { type Clock, MobKitError } from '@mobkit/core';

/** The content of a session store lock file: who took it and when. */
interface LockRecord {
  owner_pid: number;
  created_at_ms: number;
}

/** How a lock file is taken and judged stale. */
export interface FileLockOptions {
  /** A lock at least this old whose owner is not alive may be taken over. */
  staleThresholdMs: number;
  /** The clock lock ages are measured with. */
  clock: Clock;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** A `SessionStoreIo` error naming what failed on which path. */
export function sessionStoreIoError(action: string, path: string, error: unknown): MobKitError {
  return new MobKitError(
    'SessionStoreIo',
    `session store: could not ${action} ${path}: ${(error as Error).message}; check the path and its permissions`,
    { cause: error, details: { path } },
  );
}

function lockHeld(lockPath: string): MobKitError {
  return new MobKitError(
    'SessionStoreLockHeld',
    `session store lock ${lockPath} is held by another live process; retry later, or remove the file if no process uses the store`,
    { details: { lock_path: lockPath } },
  );
}

/**
 * Whether process `pid` is alive, by `kill(pid, 0)`: no such process ⇒ dead; permission denied ⇒
 * alive (it exists, owned by another user); any other failure to probe ⇒ assumed alive, so a lock
 * that may be in use is never taken. Pid 0 is never a lock owner.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) !== 'ESRCH';
  }
}

function parseLockRecord(text: string): LockRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockRecord> | null;
    const pid = value?.owner_pid;
    const created = value?.created_at_ms;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) return undefined;
    if (typeof created !== 'number' || !Number.isSafeInteger(created) || created < 0) return undefined;
    return { owner_pid: pid, created_at_ms: created };
  } catch {
    return undefined;
  }
}

/** `stale` may be taken over; `held` may not; `gone` vanished while we looked (try again). */
async function judgeLock(lockPath: string, options: FileLockOptions): Promise<'stale' | 'held' | 'gone'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'gone';
    throw sessionStoreIoError('read the lock file', lockPath, error);
  }
  const now = options.clock.nowMs();
  const record = parseLockRecord(text);
  if (record !== undefined) {
    const ageMs = Math.max(0, now - record.created_at_ms);
    if (ageMs < options.staleThresholdMs) return 'held';
    return isProcessAlive(record.owner_pid) ? 'held' : 'stale';
  }
  // Not a lock record (a writer died between creating and filling it, or foreign content): its mtime decides.
  try {
    const { mtimeMs } = await stat(lockPath);
    return Math.max(0, now - mtimeMs) >= options.staleThresholdMs ? 'stale' : 'held';
  } catch (error) {
    if (errno(error) === 'ENOENT') return 'gone';
    throw sessionStoreIoError('stat the lock file', lockPath, error);
  }
}

async function createLock(lockPath: string, clock: Clock): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw sessionStoreIoError('create the lock file', lockPath, error);
  }
  try {
    const record: LockRecord = { owner_pid: process.pid, created_at_ms: clock.nowMs() };
    await handle.writeFile(JSON.stringify(record));
    await handle.close();
    return true;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw sessionStoreIoError('write the lock file', lockPath, error);
  }
}

/**
 * Takes the lock file `lockPath` (created with O_EXCL, holding `{owner_pid, created_at_ms}`) and
 * resolves with its release. When it exists: a stale lock (age ≥ threshold and owner not alive; an
 * unparsable one by its mtime) is removed and the lock is tried once more; otherwise, or when the
 * retry also finds a lock, `SessionStoreLockHeld` naming the lock path.
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions): Promise<() => Promise<void>> {
  for (let attempt = 1; ; attempt++) {
    if (await createLock(lockPath, options.clock)) {
      return async () => {
        await unlink(lockPath).catch((error: unknown) => {
          if (errno(error) !== 'ENOENT') throw sessionStoreIoError('remove the lock file', lockPath, error);
        });
      };
    }
    if (attempt >= 2) throw lockHeld(lockPath);
    const verdict = await judgeLock(lockPath, options);
    if (verdict === 'held') throw lockHeld(lockPath);
    if (verdict === 'stale') {
      try {
        await unlink(lockPath);
      } catch (error) {
        if (errno(error) !== 'ENOENT') {
          throw new MobKitError(
            'StaleLockRecoveryFailed',
            `session store: the stale lock ${lockPath} could not be removed: ${(error as Error).message}; remove it by hand`,
            { cause: error, details: { lock_path: lockPath } },
          );
        }
      }
    }
  }
}

/** The default stale-lock threshold (30 s). */
export const DEFAULT_STALE_LOCK_THRESHOLD_MS = 30_000;
