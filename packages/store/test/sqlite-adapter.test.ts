import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { ManualClock, type MobKitStore } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from '../src/sqlite/index.js';
import { exportStore } from '../src/transfer/index.js';

let dir: string;
const open: MobKitStore[] = [];

async function openAt(path: string, clock?: ManualClock): Promise<MobKitStore> {
  const store = await openSqliteStore({ path, ...(clock ? { clock } : {}) });
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mobkit-sqlite-'));
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('openSqliteStore: open, migrations and bad input', () => {
  it('creates missing parent directories, runs the migrations and reports the absolute path', async () => {
    const path = join(dir, 'a', 'b', 'store.db');
    const store = await openAt(path);
    expect(store.info).toEqual({ kind: 'sqlite', location: path, schemaVersion: SQLITE_SCHEMA_VERSION });
    const raw = new Database(path);
    const version = raw.prepare('SELECT version FROM mobkit_schema_version').raw().all();
    const mode = raw.prepare('PRAGMA journal_mode').raw().all();
    raw.close();
    expect(version).toEqual([[SQLITE_SCHEMA_VERSION]]);
    expect(mode).toEqual([['wal']]);
  });

  it('reopens a store without migrating again and keeps its data', async () => {
    const path = join(dir, 'store.db');
    const first = await openAt(path);
    await first.records.put('ns', 'k', { a: 1 });
    await first.events.append([{ id: 'e1', timestampMs: 1, memberId: null, kind: 'runtime', eventType: 'x', data: 1 }]);
    await first.close();
    const second = await openAt(path);
    expect((await second.records.get('ns', 'k'))?.value).toEqual({ a: 1 });
    expect(await second.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 1, count: 1 });
  });

  it('migrates a version-1 file forward, keeping its data (the FTS update trigger gains its WHEN)', async () => {
    const path = join(dir, 'store.db');
    const first = await openAt(path);
    await first.records.put('notes', 'n1', { a: 1 }, { text: 'hello world' });
    await first.close();
    // Put the file back to how version 1 left it: the unconditional update trigger, version 1.
    const raw = new Database(path);
    raw.exec('DROP TRIGGER records_fts_update');
    raw.exec(`CREATE TRIGGER records_fts_update AFTER UPDATE ON records BEGIN
       INSERT INTO records_fts (records_fts, rowid, text) SELECT 'delete', old.rowid, old.text WHERE old.text IS NOT NULL;
       INSERT INTO records_fts (rowid, text) SELECT new.rowid, new.text WHERE new.text IS NOT NULL;
     END`);
    raw.prepare('UPDATE mobkit_schema_version SET version = 1').run();
    raw.close();

    const second = await openAt(path);
    expect(second.info.schemaVersion).toBe(SQLITE_SCHEMA_VERSION);
    expect(SQLITE_SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
    const check = new Database(path);
    const trigger = check
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'records_fts_update'")
      .raw()
      .all() as unknown[][];
    check.close();
    expect(String(trigger[0]?.[0])).toContain('WHEN old.text IS NOT NULL OR new.text IS NOT NULL');
    expect((await second.records.search('notes', 'hello')).map((r) => r.key)).toEqual(['n1']);
    await second.records.put('notes', 'n1', { a: 2 }, { text: 'goodbye moon' });
    expect(await second.records.search('notes', 'hello')).toEqual([]);
    expect((await second.records.search('notes', 'moon')).map((r) => r.key)).toEqual(['n1']);
  });

  it('refuses a store written by a newer schema, naming both versions, and writes nothing', async () => {
    const path = join(dir, 'store.db');
    await (await openAt(path)).close();
    const raw = new Database(path);
    const tableCount = () => raw.prepare('SELECT COUNT(*) AS n FROM sqlite_master').raw().all();
    raw.prepare('UPDATE mobkit_schema_version SET version = ?').run([SQLITE_SCHEMA_VERSION + 5]);
    const tablesBefore = tableCount();
    const error = await expectMobKitError(openSqliteStore({ path }), 'StoreSchemaTooNew');
    expect(error.message).toContain(`schema version ${SQLITE_SCHEMA_VERSION + 5}`);
    expect(error.message).toContain(`up to ${SQLITE_SCHEMA_VERSION}`);
    expect(error.message).toContain(path);
    const after = raw.prepare('SELECT version FROM mobkit_schema_version').raw().all();
    expect(after).toEqual([[SQLITE_SCHEMA_VERSION + 5]]);
    expect(tableCount()).toEqual(tablesBefore);
    raw.close();
  });

  it('refuses a file that is not SQLite with StoreCorrupt naming the path', async () => {
    const path = join(dir, 'junk.db');
    writeFileSync(path, 'this is not a database, just some text that is long enough to look like a header '.repeat(4));
    const error = await expectMobKitError(openSqliteStore({ path }), 'StoreCorrupt');
    expect(error.message).toContain(path);
  });

  it('refuses a damaged SQLite file with StoreCorrupt', async () => {
    const path = join(dir, 'damaged.db');
    writeFileSync(path, Buffer.concat([Buffer.from('SQLite format 3\u0000', 'latin1'), Buffer.alloc(4096, 0xab)]));
    const error = await expectMobKitError(openSqliteStore({ path }), 'StoreCorrupt');
    expect(error.message).toContain(path);
  });

  it('refuses an SQLite database of another application with StoreCorrupt', async () => {
    const path = join(dir, 'other.db');
    const raw = new Database(path);
    raw.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY)');
    raw.close();
    const error = await expectMobKitError(openSqliteStore({ path }), 'StoreCorrupt');
    expect(error.message).toContain('customers');
  });

  it('refuses a data directory that cannot be created with StoreUnavailable naming the path', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const path = join(blocker, 'sub', 'store.db');
    const error = await expectMobKitError(openSqliteStore({ path }), 'StoreUnavailable');
    expect(error.message).toContain(join(blocker, 'sub'));
    expect(error.message).toMatch(/writable path/);
  });

  it('refuses a path that is a directory', async () => {
    const error = await expectMobKitError(openSqliteStore({ path: dir }), 'StoreUnavailable');
    expect(error.message).toContain(dir);
  });

  it('rejects calls after close with StoreClosed', async () => {
    const store = await openSqliteStore({ path: join(dir, 's.db') });
    await store.close();
    await store.close();
    await expectMobKitError(store.records.put('ns', 'k', 1), 'StoreClosed');
    await expectMobKitError(store.records.get('ns', 'k'), 'StoreClosed');
  });
});

describe('SQLite group commit', () => {
  it('commits 64 concurrent writers, failing only the one whose compare-and-set conflicts', async () => {
    const store = await openAt(join(dir, 'g.db'));
    await store.records.put('ns', 'taken', 'first');
    const writes = Array.from({ length: 64 }, (_, i) =>
      i === 17
        ? store.records.put('ns', 'taken', 'second', { expectedVersion: 0 })
        : store.records.put('ns', `k${String(i).padStart(2, '0')}`, i, { index: i % 2 === 0 ? 'even' : 'odd' }),
    );
    const events = Array.from({ length: 64 }, (_, i) =>
      store.events.append([{ id: `e${i}`, timestampMs: i, memberId: 'm', kind: 'agent', eventType: 't', data: { i } }]),
    );
    const results = await Promise.allSettled([...writes, ...events]);
    const rejected = results.flatMap((result, i) =>
      result.status === 'rejected' ? [{ i, reason: result.reason }] : [],
    );
    expect(rejected.map((r) => r.i)).toEqual([17]);
    expect((rejected[0]?.reason as { code?: string } | undefined)?.code).toBe('VersionConflict');
    expect((await store.records.get('ns', 'taken'))?.value).toBe('first');
    expect(await store.records.list('ns', { index: 'even' })).toHaveLength(32);
    const seqs = (await store.events.query({ limit: 100 })).map((entry) => entry.seq);
    expect(seqs).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  });

  it('rolls back a failing multi-statement write without touching its group', async () => {
    const store = await openAt(join(dir, 'r.db'));
    await store.events.append([{ id: 'dup', timestampMs: 0, memberId: null, kind: 'k', eventType: 't', data: 0 }]);
    const good = store.events.append([{ id: 'a', timestampMs: 1, memberId: null, kind: 'k', eventType: 't', data: 1 }]);
    const bad = store.events.restore([
      { seq: 10, id: 'fresh', timestampMs: 2, memberId: null, kind: 'k', eventType: 't', data: 2 },
      { seq: 11, id: 'dup', timestampMs: 3, memberId: null, kind: 'k', eventType: 't', data: 3 },
    ]);
    const tx = store.transaction(async (t) => {
      await t.records.put('ns', 'in-tx', true);
      throw new Error('changed my mind');
    });
    await expect(tx).rejects.toThrow('changed my mind');
    await expectMobKitError(bad, 'InvalidInput');
    expect((await good)[0]?.seq).toBe(2);
    expect(await store.events.bounds()).toEqual({ firstSeq: 1, lastSeq: 2, count: 2 });
    expect(await store.records.get('ns', 'in-tx')).toBeUndefined();
  });

  it('a transaction sees its own writes; readers outside see them only after the commit', async () => {
    const store = await openAt(join(dir, 't.db'));
    let seenOutside: unknown = 'unset';
    await store.transaction(async (t) => {
      await t.records.put('ns', 'k', 1);
      expect((await t.records.get('ns', 'k'))?.value).toBe(1);
      seenOutside = await store.records.get('ns', 'k');
      await t.events.append([{ id: 'x', timestampMs: 1, memberId: null, kind: 'k', eventType: 't', data: null }]);
    });
    expect(seenOutside).toBeUndefined();
    expect((await store.records.get('ns', 'k'))?.version).toBe(1);
    expect((await store.events.bounds()).lastSeq).toBe(1);
  });
});

describe('SQLite records: text search and seqs', () => {
  it('finds records whose text has every word, best match first, within the namespace', async () => {
    const store = await openAt(join(dir, 'f.db'));
    await store.records.put('notes', 'a', 1, { text: 'the quick brown fox' });
    await store.records.put('notes', 'b', 2, { text: 'a lazy brown dog, brown as a fox' });
    await store.records.put('notes', 'c', 3, { text: 'nothing here' });
    await store.records.put('other', 'd', 4, { text: 'brown fox elsewhere' });
    expect((await store.records.search('notes', 'Brown FOX')).map((r) => r.key).sort()).toEqual(['a', 'b']);
    expect(await store.records.search('notes', 'brown cat')).toEqual([]);
    await store.records.put('notes', 'a', 1, { text: 'rewritten entirely' });
    expect((await store.records.search('notes', 'fox')).map((r) => r.key)).toEqual(['b']);
    await store.records.delete('notes', 'b');
    expect(await store.records.search('notes', 'fox')).toEqual([]);
    expect((await store.records.search('notes', 'rewritten')).map((r) => r.key)).toEqual(['a']);
  });

  it('keeps the text index in step through compare-and-set puts (created at 0, replaced at a version)', async () => {
    const store = await openAt(join(dir, 'cas.db'));
    const created = await store.records.put('notes', 'a', { n: 1 }, { expectedVersion: 0, text: 'amber falcon' });
    expect(created.version).toBe(1);
    await expectMobKitError(store.records.put('notes', 'a', { n: 9 }, { expectedVersion: 0 }), 'VersionConflict');
    const replaced = await store.records.put('notes', 'a', { n: 2 }, { expectedVersion: 1, text: 'cobalt heron' });
    expect(replaced).toEqual({
      namespace: 'notes',
      key: 'a',
      value: { n: 2 },
      version: 2,
      updatedAtMs: replaced.updatedAtMs,
      text: 'cobalt heron',
    });
    await expectMobKitError(store.records.put('notes', 'a', { n: 9 }, { expectedVersion: 1 }), 'VersionConflict');
    expect(await store.records.search('notes', 'falcon')).toEqual([]);
    expect((await store.records.search('notes', 'heron')).map((r) => [r.key, r.version, r.value])).toEqual([
      ['a', 2, { n: 2 }],
    ]);
    const cleared = await store.records.put('notes', 'a', { n: 3 }, { expectedVersion: 2 });
    expect(cleared.text).toBeUndefined();
    expect(await store.records.search('notes', 'heron')).toEqual([]);
    expect((await store.records.get('notes', 'a'))?.version).toBe(3);
  });

  it('resolves a put with a copy of what it stored: neither the input nor the returned value is shared', async () => {
    const store = await openAt(join(dir, 'copy.db'));
    const input = { list: [1, 2], nested: { a: 'x' }, gone: undefined };
    const put = await store.records.put('ns', 'k', input as unknown as { list: number[]; nested: { a: string } });
    input.list.push(3);
    input.nested.a = 'changed after put';
    expect(put.value).toEqual({ list: [1, 2], nested: { a: 'x' } });
    expect(Object.hasOwn(put.value, 'gone')).toBe(false);
    put.value.list.push(99);
    expect(put.value.list).toEqual([1, 2, 99]);
    expect((await store.records.get('ns', 'k'))?.value).toEqual({ list: [1, 2], nested: { a: 'x' } });
    // A plain record to spread, serialize or clone; its value can be replaced.
    expect(Object.keys(put)).toEqual(['namespace', 'key', 'value', 'version', 'updatedAtMs']);
    expect(JSON.parse(JSON.stringify(put)).value).toEqual({ list: [1, 2, 99], nested: { a: 'x' } });
    expect(structuredClone(put).value).toEqual({ list: [1, 2, 99], nested: { a: 'x' } });
    expect({ ...put }.value).toBe(put.value);
    put.value = { list: [], nested: { a: 'y' } };
    expect(put.value).toEqual({ list: [], nested: { a: 'y' } });
  });

  it('never reuses a seq after prune empties the log, also across a reopen', async () => {
    const path = join(dir, 'p.db');
    const clock = new ManualClock(1_000);
    const store = await openAt(path, clock);
    const input = (id: string) => ({ id, timestampMs: 0, memberId: null, kind: 'k', eventType: 't', data: id });
    await store.events.append([input('a'), input('b'), input('c')]);
    expect(await store.events.prune({ maxRows: 0 })).toBe(3);
    await store.close();
    const again = await openAt(path, clock);
    expect(await again.events.bounds()).toEqual({ firstSeq: 0, lastSeq: 3, count: 0 });
    expect((await again.events.append([input('d')]))[0]?.seq).toBe(4);
  });
});

describe('SQLite export', () => {
  it('exports the live claims of every namespace, also of namespaces without records', async () => {
    const clock = new ManualClock(1_000_000);
    const store = await openAt(join(dir, 'x.db'), clock);
    await store.records.put('ledger', 'r', 1);
    await store.claims.claim('ledger', 'mine', 'a');
    await store.claims.claim('jobs', 'job-1', 'b');
    await store.claims.claim('locks', 'short', 'c', { ttlMs: 1_000 });
    clock.advance(1_000);
    const lines: string[] = [];
    const counts = await exportStore(store, (line) => {
      lines.push(line);
    });
    const claims = lines.map((line) => JSON.parse(line)).filter((line) => line.type === 'claim');
    expect(claims.map((c) => [c.namespace, c.key, c.owner])).toEqual([
      ['jobs', 'job-1', 'b'],
      ['ledger', 'mine', 'a'],
    ]);
    expect(counts).toEqual({ events: 0, records: 1, claims: 2 });
  });
});
