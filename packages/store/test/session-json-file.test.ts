// The JSON-file session store against real processes: a child holds the lock file (alive, or
// SIGKILLed so its pid is dead) and the store decides from the lock's age and the pid probe.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { builtEntry, expectMobKitError } from '@mobkit/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFileSessionStore, isProcessAlive, sessionRow } from '../src/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HOLDER = join(HERE, 'fixtures', 'session-lock-holder.mjs');
const APPENDER = join(HERE, 'fixtures', 'session-appender.mjs');
const MINUTE = 60_000;

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mobkit-session-file-'));
});
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a child that takes `lockPath` claiming an age of `ageMs`; resolves once the lock is written. */
async function holdLock(lockPath: string, ageMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [HOLDER, lockPath, String(ageMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    lines.once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before locking`)));
  });
  return child;
}

/** A lock left behind by a process that was SIGKILLed while holding it. */
async function deadLock(lockPath: string, ageMs: number): Promise<number> {
  const child = await holdLock(lockPath, ageMs);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  const pid = child.pid as number;
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

const rows = [
  sessionRow({ sessionId: 's2', updatedAtMs: 2, payload: { n: 1 } }),
  sessionRow({ sessionId: 's1', updatedAtMs: 1, labels: { team: 'a' } }),
  sessionRow({ sessionId: 's2', updatedAtMs: 3, deleted: true }),
];

describe('JsonFileSessionStore', () => {
  it('keeps every row in one JSON array, takes and releases the lock beside it, and reads latest and live', async () => {
    const store = new JsonFileSessionStore(join(dir, 'nested', 'sessions.jsonl'));
    expect(store.lockPath).toBe(join(dir, 'nested', 'sessions.lock'));
    expect(await store.readRows()).toEqual([]);
    await store.appendRows(rows.slice(0, 2));
    await store.appendRows(rows.slice(2));
    const onDisk = JSON.parse(readFileSync(store.dataPath, 'utf8'));
    expect(onDisk).toEqual([
      { session_id: 's2', updated_at_ms: 2, deleted: false, payload: { n: 1 }, labels: {} },
      { session_id: 's1', updated_at_ms: 1, deleted: false, payload: null, labels: { team: 'a' } },
      { session_id: 's2', updated_at_ms: 3, deleted: true, payload: null, labels: {} },
    ]);
    expect(existsSync(store.lockPath)).toBe(false);
    expect(existsSync(join(dir, 'nested', 'sessions.jsonl.tmp'))).toBe(false);
    expect(await store.readRows()).toEqual(rows);
    expect((await store.readLatestRows()).map((r) => [r.sessionId, r.updatedAtMs])).toEqual([
      ['s1', 1],
      ['s2', 3],
    ]);
    expect((await store.readLiveRows()).map((r) => r.sessionId)).toEqual(['s1']);
  });

  it('serializes concurrent appends of one instance instead of refusing them', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.appendRows([sessionRow({ sessionId: `s${i}`, updatedAtMs: i })])),
    );
    expect((await store.readRows()).map((r) => r.sessionId).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `s${i}`).sort(),
    );
  });

  it('a live child holding the lock ⇒ SessionStoreLockHeld naming the lock path, even when the lock is old; nothing written', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    await store.appendRows(rows.slice(0, 1));
    await holdLock(store.lockPath, 10 * MINUTE);
    const error = await expectMobKitError(store.appendRows(rows.slice(1)), 'SessionStoreLockHeld');
    expect(error.details).toEqual({ lock_path: store.lockPath });
    expect(error.message).toContain(store.lockPath);
    expect(error.rpcCode).toBe(-32011);
    expect(await store.readRows()).toEqual(rows.slice(0, 1));
    expect(existsSync(store.lockPath)).toBe(true);
  });

  it('a lock left by a dead pid, older than the threshold ⇒ recovered: removed, taken, and the append lands', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    await deadLock(store.lockPath, 31_000);
    await store.appendRows(rows);
    expect(await store.readRows()).toEqual(rows);
    expect(existsSync(store.lockPath)).toBe(false);
  });

  it('a fresh lock of a dead pid ⇒ held (younger than the threshold)', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    await deadLock(store.lockPath, 0);
    await expectMobKitError(store.appendRows(rows), 'SessionStoreLockHeld');
    expect(existsSync(store.dataPath)).toBe(false);
  });

  it('the threshold is configurable: a dead pid’s 2 s old lock is stale under a 1 s threshold', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'), { staleLockThresholdMs: 1_000 });
    await deadLock(store.lockPath, 2_000);
    await store.appendRows(rows);
    expect(await store.readRows()).toHaveLength(3);
  });

  it('a data path whose lock path would be itself is refused', () => {
    expectMobKitError(() => new JsonFileSessionStore(join(dir, 'sessions.lock')), 'InvalidInput');
  });

  it('a lock held by this very process (another instance) is held', async () => {
    const path = join(dir, 'sessions.jsonl');
    writeFileSync(join(dir, 'sessions.lock'), JSON.stringify({ owner_pid: process.pid, created_at_ms: 0 }));
    await expectMobKitError(new JsonFileSessionStore(path).appendRows(rows), 'SessionStoreLockHeld');
  });

  it('an unparsable lock is judged by its mtime: old ⇒ recovered, fresh ⇒ held', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    writeFileSync(store.lockPath, 'not json');
    await expectMobKitError(store.appendRows(rows), 'SessionStoreLockHeld');
    const old = new Date(Date.now() - 10 * MINUTE);
    utimesSync(store.lockPath, old, old);
    await store.appendRows(rows);
    expect(await store.readRows()).toEqual(rows);
  });

  it('a data file that is not a JSON array of rows ⇒ InvalidStoreData, and an append does not overwrite it', async () => {
    const store = new JsonFileSessionStore(join(dir, 'sessions.jsonl'));
    writeFileSync(store.dataPath, '{"session_id":"x"}\n');
    expect((await expectMobKitError(store.readRows(), 'InvalidStoreData')).message).toContain('expected an array');
    await expectMobKitError(store.appendRows(rows), 'InvalidStoreData');
    expect(readFileSync(store.dataPath, 'utf8')).toBe('{"session_id":"x"}\n');
    expect(existsSync(store.lockPath)).toBe(false);
    writeFileSync(store.dataPath, '[{"session_id":"x"},');
    expect((await expectMobKitError(store.readRows(), 'InvalidStoreData')).message).toContain('not valid JSON');
    writeFileSync(store.dataPath, '[{"session_id":"x","updated_at_ms":"1"}]');
    expect((await expectMobKitError(store.readRows(), 'InvalidStoreData')).message).toContain('[0].updated_at_ms');
  });

  it('a data path that cannot be read ⇒ SessionStoreIo; a payload that cannot be serialized ⇒ SessionStoreSerialize', async () => {
    const asDir = join(dir, 'is-a-dir.jsonl');
    const store = new JsonFileSessionStore(asDir);
    await new JsonFileSessionStore(join(asDir, 'inner.jsonl')).appendRows(rows);
    await expectMobKitError(store.readRows(), 'SessionStoreIo');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const ok = new JsonFileSessionStore(join(dir, 'ok.jsonl'));
    await expectMobKitError(ok.appendRows([sessionRow({ payload: cyclic as never })]), 'SessionStoreSerialize');
    expect(existsSync(ok.dataPath)).toBe(false);
    expect(existsSync(ok.lockPath)).toBe(false);
  });

  it('a child SIGKILLed mid-append leaves a whole array holding every acknowledged row, in order', async () => {
    const dataPath = join(dir, 'sessions.jsonl');
    const child = spawn(process.execPath, [APPENDER, builtEntry(join(HERE, '..')), dataPath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let acked = -1;
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        acked = Number(line.split(' ')[1]);
        if (acked === 40) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`appender exited (${code}) before it was killed`));
      });
    });
    await new Promise((resolve) =>
      child.exitCode === null && child.signalCode === null ? child.once('exit', resolve) : resolve(0),
    );
    const store = new JsonFileSessionStore(dataPath, { staleLockThresholdMs: 0 });
    const survivors = await store.readRows();
    expect(survivors.length).toBeGreaterThanOrEqual(acked + 1);
    expect(survivors.map((r) => r.sessionId)).toEqual(survivors.map((_, i) => `s${i}`));
    // The dead appender's lock (if it died holding it) is stale at once under a 0 ms threshold.
    await store.appendRows([sessionRow({ sessionId: 'after' })]);
    expect((await store.readRows()).at(-1)?.sessionId).toBe('after');
  }, 180_000);
});
