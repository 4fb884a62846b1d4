import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MobKitStore } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import Database from 'libsql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/sqlite/index.js';

let dir: string;
const open: MobKitStore[] = [];
const raws: InstanceType<typeof Database>[] = [];

async function openAt(path: string, busyTimeoutMs?: number): Promise<MobKitStore> {
  const store = await openSqliteStore({ path, ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }) });
  open.push(store);
  return store;
}

/** A second connection to the file, as another process would hold it. */
function rawConnection(path: string): InstanceType<typeof Database> {
  const raw = new Database(path);
  raws.push(raw);
  return raw;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mobkit-sqlite-writer-'));
});

afterEach(async () => {
  for (const raw of raws.splice(0)) {
    if (raw.inTransaction) raw.exec('ROLLBACK');
    raw.close();
  }
  for (const store of open.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SQLite writer: bounded groups and other writers', () => {
  it('splits a burst of 2,000 writers into groups and lets the event loop run between them', async () => {
    const store = await openAt(join(dir, 'burst.db'));
    let settled = 0;
    const writes = Array.from({ length: 2_000 }, (_, i) =>
      store.records.put('burst', `k${i}`, { i }).then((record) => {
        settled += 1;
        return record;
      }),
    );
    let settledAtFirstTurn = -1;
    const turn = nextTurn().then(() => {
      settledAtFirstTurn = settled;
    });
    const records = await Promise.all(writes);
    await turn;
    expect(settledAtFirstTurn).toBeGreaterThan(0);
    expect(settledAtFirstTurn).toBeLessThan(2_000);
    expect(records.every((record) => record.version === 1)).toBe(true);
    expect(await store.records.list('burst', { limit: 5_000 })).toHaveLength(2_000);
  });

  it('waits for another connection holding the write lock without blocking the event loop, then commits', async () => {
    const path = join(dir, 'locked.db');
    const store = await openAt(path);
    await store.records.put('ns', 'k', 'before');
    const other = rawConnection(path);
    other.exec('BEGIN IMMEDIATE');
    let done = false;
    const write = store.records.put('ns', 'k', 'after').then((record) => {
      done = true;
      return record;
    });
    // Timers keep firing while the write waits for the lock.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    expect((await store.records.get('ns', 'k'))?.value).toBe('before');
    other.exec('COMMIT');
    expect(await write).toMatchObject({ value: 'after', version: 2 });
  });

  it('fails queued writes with StoreWriteFailed when the lock is not free within the busy timeout', async () => {
    const path = join(dir, 'busy.db');
    const store = await openAt(path, 100);
    const other = rawConnection(path);
    other.exec('BEGIN IMMEDIATE');
    const error = await expectMobKitError(store.records.put('ns', 'k', 1), 'StoreWriteFailed');
    expect(error.message).toContain(path);
    other.exec('ROLLBACK');
    expect(await store.records.put('ns', 'k', 2)).toMatchObject({ value: 2, version: 1 });
  });

  it('keeps concurrent multi-statement writes inside one transaction apart', async () => {
    const store = await openAt(join(dir, 'tx.db'));
    await store.events.append([{ id: 'dup', timestampMs: 0, memberId: null, kind: 'k', eventType: 't', data: 0 }]);
    const input = (id: string, seq: number) => ({
      seq,
      id,
      timestampMs: 1,
      memberId: null,
      kind: 'k',
      eventType: 't',
      data: id,
    });
    const outcome = await store.transaction(async (tx) => {
      const [good, bad] = await Promise.allSettled([
        tx.events.append([{ id: 'a', timestampMs: 1, memberId: null, kind: 'k', eventType: 't', data: 1 }]),
        tx.events.restore([input('fresh', 10), input('dup', 11)]),
      ]);
      await tx.records.put('ns', 'after', true);
      return [good.status, bad.status];
    });
    expect(outcome).toEqual(['fulfilled', 'rejected']);
    expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 2, count: 2 });
    expect((await store.records.get('ns', 'after'))?.value).toBe(true);
  });
});
