// `mobkit store export|import|backup` through the built bin, on real stores: a SQLite store with events,
// records and claims is exported, imported into PostgreSQL (a throwaway loopback server) and into
// memory-checked SQLite, and the copies are compared entry by entry (seqs kept); an online backup
// is taken while a writer keeps appending; bad arguments and a non-empty target fail with the reason.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MobKitStore } from '@mobkit/core';
import { openSqliteStore } from '@mobkit/store';
import { openPostgresStore } from '@mobkit/store/postgres';
import { type TestPostgres, builtBin, builtEntry, childEnv, postgresOrSkip } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
let bin = '';
let dir = '';
let pg: TestPostgres | undefined;

function mobkit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A store with a pruned head (so kept seqs start above 1), records in two namespaces (index, range, text) and claims. */
async function seed(store: MobKitStore): Promise<void> {
  const events = Array.from({ length: 300 }, (_, i) => ({
    id: `evt-${i}`,
    timestampMs: 1_000 + i,
    memberId: i % 3 === 0 ? null : `m-${i % 3}`,
    kind: i % 3 === 0 ? 'module' : 'agent',
    eventType: i % 2 === 0 ? 'text_delta' : 'run_completed',
    data: { n: i, text: `delta ${i}`, nested: { ok: true } },
  }));
  for (let i = 0; i < events.length; i += 50) await store.events.append(events.slice(i, i + 50));
  await store.events.prune({ maxRows: 250 });
  await store.records.put(
    'delivery.ledger',
    'd-1',
    { status: 'sent' },
    { index: 'webhook', range: 10, text: 'hello world' },
  );
  await store.records.put('delivery.ledger', 'd-2', { status: 'failed' }, { range: 20 });
  await store.records.put('routing.trusted', 'route-000000', { recipient: 'https://x.example/' });
  await store.claims.claim('scheduling.claims', 'daily:1000', 'runtime-a');
  await store.claims.claim('scheduling.claims', 'daily:2000', 'runtime-a', { ttlMs: 3_600_000 });
}

async function snapshot(store: MobKitStore) {
  const events = await store.events.query({ limit: 10_000 });
  const records: Record<string, unknown[]> = {};
  for (const ns of await store.records.namespaces()) {
    records[ns] = (await store.records.list(ns)).map(({ key, value, index, range, text }) => ({
      key,
      value,
      index,
      range,
      text,
    }));
  }
  const claims = (await store.claims.list('scheduling.claims')).map(({ key, owner }) => ({ key, owner }));
  return { events, bounds: await store.events.bounds(), records, claims };
}

beforeAll(async () => {
  builtEntry(join(here, '..', '..', 'store'));
  bin = builtBin('mobkit', join(here, '..'));
  dir = mkdtempSync(join(tmpdir(), 'mobkit-store-cli-'));
  pg = await postgresOrSkip();
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('mobkit store', () => {
  it('exports SQLite and imports into PostgreSQL: the same events (seqs kept), records and claims', async (ctx) => {
    if (pg === undefined) {
      ctx.skip('PostgreSQL is not available here (CI fails instead of skipping)');
      return;
    }
    const source = join(dir, 'source.db');
    const store = await openSqliteStore({ path: source });
    await seed(store);
    const before = await snapshot(store);
    await store.close();
    expect(before.bounds).toMatchObject({ firstSeq: 51, lastSeq: 300, count: 250 });

    const file = join(dir, 'state.jsonl');
    const exported = await mobkit(['store', 'export', '--sqlite', source, '--out', file]);
    expect(exported.stderr).toContain('exported');
    expect(exported.code).toBe(0);

    const url = await pg.createDatabase();
    const imported = await mobkit(['store', 'import', '--url', url, '--in', file]);
    expect(imported.stderr).toContain('imported');
    expect(imported.code).toBe(0);

    const target = await openPostgresStore({ url });
    try {
      const after = await snapshot(target);
      expect(after.events).toEqual(before.events);
      expect(after.bounds).toEqual(before.bounds);
      expect(after.records).toEqual(before.records);
      expect(after.claims).toEqual(before.claims);
      // Appending continues the sequence: a Last-Event-ID from the old store still means the same place.
      const [next] = await target.events.append([
        { id: 'evt-new', timestampMs: 9_999, memberId: null, kind: 'module', eventType: 'x', data: {} },
      ]);
      expect(next?.seq).toBe(301);
    } finally {
      await target.close();
    }

    // A second import into the now non-empty store is refused, and changes nothing.
    const again = await mobkit(['store', 'import', '--url', url, '--in', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/empty/i);
  }, 120_000);

  it('backs up a SQLite store online while a writer appends; the copy opens with what was committed', async () => {
    const path = join(dir, 'live.db');
    const store = await openSqliteStore({ path });
    await seed(store);
    let writing = true;
    let appended = 0;
    const writer = (async () => {
      while (writing) {
        await store.events.append([
          {
            id: `live-${appended}`,
            timestampMs: 5_000 + appended,
            memberId: 'm-1',
            kind: 'agent',
            eventType: 'x',
            data: {},
          },
        ]);
        appended += 1;
      }
    })();
    const dest = join(dir, 'backup.db');
    const backup = await mobkit(['store', 'backup', '--sqlite', path, dest]);
    writing = false;
    await writer;
    expect(backup.stderr).toContain('backed up');
    expect(backup.code).toBe(0);
    await store.close();

    const copy = await openSqliteStore({ path: dest });
    try {
      const bounds = await copy.events.bounds();
      expect(bounds.lastSeq).toBeGreaterThanOrEqual(300);
      expect(bounds.count).toBe(bounds.lastSeq - bounds.firstSeq + 1); // gapless: no half-written batch
      expect((await copy.records.get('delivery.ledger', 'd-1'))?.value).toEqual({ status: 'sent' });
    } finally {
      await copy.close();
    }
  }, 60_000);

  it('refuses bad arguments with usage (exit 2) and a bad store with its typed error (exit 1)', async () => {
    const noSub = await mobkit(['store']);
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain('mobkit store export|import|backup');
    const twoStores = await mobkit(['store', 'export', '--memory', '--sqlite', join(dir, 'x.db')]);
    expect(twoStores.code).toBe(2);
    expect(twoStores.stderr).toContain('give one store');
    const badUrl = await mobkit(['store', 'export', '--url', 'mysql://nope']);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toContain('store.url');
    const notSqlite = join(dir, 'not-sqlite.db');
    writeFileSync(notSqlite, 'this is not a database file, just text '.repeat(200));
    const corrupt = await mobkit(['store', 'export', '--sqlite', notSqlite]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain('[StoreCorrupt]');
    const backupMemory = await mobkit(['store', 'backup', '--memory', join(dir, 'b.db')]);
    expect(backupMemory.code).toBe(1);
    expect(backupMemory.stderr).toContain('not one');
  }, 60_000);
});
