import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MobKitStore } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../src/memory/index.js';
import { backupSqliteStore, openSqliteStore } from '../src/sqlite/index.js';
import { exportStore, importStore } from '../src/transfer/index.js';

let dir: string;
const stores: MobKitStore[] = [];
const track = <T extends MobKitStore>(store: T): T => {
  stores.push(store);
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mobkit-transfer-'));
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const event = (id: string, i: number) => ({
  id,
  timestampMs: 1_000 + i,
  memberId: i % 2 === 0 ? 'lead' : null,
  kind: 'agent',
  eventType: 'run_started',
  data: { i, text: `event ${id}` },
});

async function fill(store: MobKitStore): Promise<void> {
  await store.events.append(Array.from({ length: 2_500 }, (_, i) => event(`e${i}`, i)));
  await store.events.prune({ maxRows: 2_400 }); // the first 100 seqs are gone: the import keeps the gap
  for (let i = 0; i < 1_200; i++) {
    await store.records.put(
      'ledger',
      `k${String(i).padStart(4, '0')}`,
      { n: i },
      { index: `i${i % 3}`, range: i, text: `word${i % 7} common` },
    );
  }
  await store.records.put('other', 'only', [1, 'two', null]);
  await store.records.put('other', 'only', [1, 'two', null, 4]);
  await store.claims.claim('ledger', 'claimed', 'owner-a');
  await store.claims.claim('ledger', 'leased', 'owner-b', { ttlMs: 3_600_000 });
}

async function snapshot(store: MobKitStore) {
  const events = await store.events.query({ limit: 10_000 });
  const records = [];
  for (const namespace of await store.records.namespaces()) {
    records.push(...(await store.records.list(namespace)).map(({ version: _v, updatedAtMs: _u, ...rest }) => rest));
  }
  const claims = (await store.claims.list('ledger')).map(({ claimedAtMs: _c, expiresAtMs, ...rest }) => ({
    ...rest,
    expires: expiresAtMs !== undefined,
  }));
  return {
    bounds: await store.events.bounds(),
    events,
    records,
    claims,
    search: await store.records.search('ledger', 'word3 common'),
  };
}

describe('exportStore / importStore', () => {
  it('moves a SQLite store into a fresh memory store with seqs, records and claims intact', async () => {
    const source = track(await openSqliteStore({ path: join(dir, 'source.db') }));
    await fill(source);
    const lines: string[] = [];
    const counts = await exportStore(source, (line) => {
      lines.push(line);
    });
    expect(counts).toEqual({ events: 2_400, records: 1_201, claims: 2 });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      type: 'header',
      format: 'mobkit-store-export',
      version: 1,
      source_kind: 'sqlite',
    });
    expect(JSON.parse(lines.at(-1) as string)).toEqual({ type: 'end', ...counts });

    const target = track(createMemoryStore());
    expect(await importStore(target, lines)).toEqual(counts);
    const [before, after] = [await snapshot(source), await snapshot(target)];
    expect(after.bounds).toEqual({ firstSeq: 101, lastSeq: 2_500, count: 2_400 });
    expect(after.events).toEqual(before.events);
    expect(after.records).toEqual(before.records);
    expect(after.claims).toEqual(before.claims);
    expect(after.search.map((r) => r.key).sort()).toEqual(before.search.map((r) => r.key).sort());
    expect((await target.records.get('other', 'only'))?.version).toBe(1);
    expect((await target.events.append([event('next', 0)]))[0]?.seq).toBe(2_501);
  });

  it('refuses a target that is not empty, before writing anything', async () => {
    const source = track(createMemoryStore());
    await source.records.put('ns', 'k', 1);
    const lines: string[] = [];
    await exportStore(source, (line) => {
      lines.push(line);
    });
    const target = track(createMemoryStore());
    await target.events.append([event('x', 1)]);
    const error = await expectMobKitError(importStore(target, lines), 'InvalidInput');
    expect(error.message).toMatch(/empty target/);
    expect(await target.records.namespaces()).toEqual([]);
  });

  it('refuses a cut-off file and a malformed line, naming the line', async () => {
    const source = track(createMemoryStore());
    await source.records.put('ns', 'k', 1);
    const lines: string[] = [];
    await exportStore(source, (line) => {
      lines.push(line);
    });
    const cut = await expectMobKitError(importStore(track(createMemoryStore()), lines.slice(0, -1)), 'InvalidInput');
    expect(cut.message).toMatch(/end line/);
    const bad = [
      lines[0] as string,
      '{"type":"record","namespace":"ns","key":"k","value":1,"version":1,"updated_at_ms":1,"extra":true}',
    ];
    const error = await expectMobKitError(importStore(track(createMemoryStore()), bad), 'InvalidInput');
    expect(error.message).toContain('line 2');
    expect(error.message).toContain('extra');
    await expectMobKitError(importStore(track(createMemoryStore()), ['{"type":"record"}']), 'InvalidInput');
  });
});

describe('backupSqliteStore', () => {
  it('copies a store while writes continue; the copy opens with the same data as at its start', async () => {
    const store = track(await openSqliteStore({ path: join(dir, 'live.db') }));
    await store.events.append(Array.from({ length: 500 }, (_, i) => event(`b${i}`, i)));
    await store.records.put('ns', 'k', { before: true }, { text: 'searchable words' });
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await store.events.append([event(`during${written}`, written)]);
        written += 1;
      }
    })();
    const result = await backupSqliteStore(store, join(dir, 'backups', 'copy.db'));
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(0);
    expect(result.path).toBe(join(dir, 'backups', 'copy.db'));
    expect(result.bytes).toBeGreaterThan(0);

    const copy = track(await openSqliteStore({ path: result.path }));
    const bounds = await copy.events.bounds();
    expect(bounds.firstSeq).toBe(1);
    expect(bounds.count).toBe(bounds.lastSeq);
    expect(bounds.lastSeq).toBeGreaterThanOrEqual(500);
    expect(bounds.lastSeq).toBeLessThanOrEqual((await store.events.bounds()).lastSeq);
    expect(await copy.events.query({ limit: 500 })).toEqual(await store.events.query({ limit: 500 }));
    expect((await copy.records.search('ns', 'searchable'))[0]?.value).toEqual({ before: true });
    await expectMobKitError(backupSqliteStore(store, result.path), 'InvalidInput');
    await expectMobKitError(backupSqliteStore(track(createMemoryStore()), join(dir, 'x.db')), 'InvalidInput');
  });
});
