// The SQL session store over core's records port, on the in-memory adapter, on SQLite (a file
// reopened to show the rows are durable) and on PostgreSQL: the same read semantics as the JSON-file store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MobKitStore } from '@mobkit/core';
import { expectMobKitError, postgresOrSkip } from '@mobkit/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  RecordsSessionStore,
  materializeLatestSessionRows,
  materializeLiveSessionRows,
  sessionRow,
} from '../src/index.js';
import { createMemoryStore } from '../src/memory/index.js';
import { openPostgresStore } from '../src/postgres/index.js';
import { openSqliteStore } from '../src/sqlite/index.js';

// PostgreSQL when a server can be had (postgresOrSkip says how to enable it otherwise; under CI it must).
const server = await postgresOrSkip();
const pgUrl = server ? await server.createDatabase() : '';
afterAll(async () => {
  await server?.stop();
});
let schemas = 0;

const dirs: string[] = [];
const opened: MobKitStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Adapter {
  name: string;
  open(): Promise<{ store: MobKitStore; reopen: () => Promise<MobKitStore> }>;
}

const adapters: Adapter[] = [
  {
    name: 'memory',
    open: async () => {
      const store = createMemoryStore();
      opened.push(store);
      return { store, reopen: async () => store };
    },
  },
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mobkit-session-sqlite-'));
      dirs.push(dir);
      const path = join(dir, 'state.db');
      const store = await openSqliteStore({ path });
      opened.push(store);
      return {
        store,
        reopen: async () => {
          await store.close();
          const again = await openSqliteStore({ path });
          opened.push(again);
          return again;
        },
      };
    },
  },
  ...(server
    ? [
        {
          name: 'postgres',
          open: async () => {
            const schema = `session_rows_${schemas++}`;
            const store = await openPostgresStore({ url: pgUrl, schema });
            opened.push(store);
            return {
              store,
              reopen: async () => {
                await store.close();
                const again = await openPostgresStore({ url: pgUrl, schema });
                opened.push(again);
                return again;
              },
            };
          },
        },
      ]
    : []),
];

const rows = [
  sessionRow({ sessionId: 'b', updatedAtMs: 10, payload: { v: 'b10' }, labels: { k: 'v' } }),
  sessionRow({ sessionId: 'a', updatedAtMs: 20, payload: 'a20' }),
  sessionRow({ sessionId: 'a', updatedAtMs: 5, payload: 'a5' }),
  sessionRow({ sessionId: 'b', updatedAtMs: 10, payload: { v: 'b10-later' } }),
  sessionRow({ sessionId: 'c', updatedAtMs: 1 }),
];

describe.each(adapters)('RecordsSessionStore on $name', (adapter) => {
  it('reads rows in append order, the latest per session (ties ⇒ the later append) and the live ones', async () => {
    const { store, reopen } = await adapter.open();
    const sessions = new RecordsSessionStore(store);
    expect(await sessions.readRows()).toEqual([]);
    await sessions.appendRows(rows.slice(0, 3));
    await sessions.appendRows(rows.slice(3));
    await sessions.appendRows([sessionRow({ sessionId: 'c', updatedAtMs: 2, deleted: true })]);
    const again = new RecordsSessionStore(await reopen());
    const all = await again.readRows();
    expect(all).toEqual([...rows, sessionRow({ sessionId: 'c', updatedAtMs: 2, deleted: true })]);
    expect(await again.readLatestRows()).toEqual(materializeLatestSessionRows(all));
    expect((await again.readLatestRows()).map((r) => [r.sessionId, r.payload])).toEqual([
      ['a', 'a20'],
      ['b', { v: 'b10-later' }],
      ['c', null],
    ]);
    expect(await again.readLiveRows()).toEqual(materializeLiveSessionRows(all));
    expect((await again.readLiveRows()).map((r) => r.sessionId)).toEqual(['a', 'b']);
  });

  it('an older row appended later does not replace the latest; a newer tombstone hides a session, a newer row revives it', async () => {
    const { store } = await adapter.open();
    const sessions = new RecordsSessionStore(store, { namespace: 'agents' });
    await sessions.appendRows([sessionRow({ sessionId: 's', updatedAtMs: 100, payload: 'new' })]);
    await sessions.appendRows([sessionRow({ sessionId: 's', updatedAtMs: 50, payload: 'old' })]);
    expect((await sessions.readLatestRows()).map((r) => r.payload)).toEqual(['new']);
    await sessions.appendRows([sessionRow({ sessionId: 's', updatedAtMs: 100, deleted: true })]);
    expect(await sessions.readLiveRows()).toEqual([]);
    expect((await sessions.readLatestRows())[0]?.deleted).toBe(true);
    await sessions.appendRows([sessionRow({ sessionId: 's', updatedAtMs: 101, payload: 'back' })]);
    expect((await sessions.readLiveRows()).map((r) => r.payload)).toEqual(['back']);
    expect(await new RecordsSessionStore(store).readRows()).toEqual([]);
  });

  it('concurrent appenders on one store lose no row and never share a sequence number', async () => {
    const { store } = await adapter.open();
    const writers = [new RecordsSessionStore(store), new RecordsSessionStore(store)];
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        writers[i % 2]?.appendRows([sessionRow({ sessionId: `s${i % 6}`, updatedAtMs: i, payload: i })]),
      ),
    );
    const all = await writers[0]?.readRows();
    expect(all?.map((r) => r.payload).sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 24 }, (_, i) => i),
    );
    expect((await writers[1]?.readLatestRows())?.map((r) => r.updatedAtMs)).toEqual([18, 19, 20, 21, 22, 23]);
  });

  it('an append that cannot be serialized writes nothing', async () => {
    const { store } = await adapter.open();
    const sessions = new RecordsSessionStore(store);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectMobKitError(
      sessions.appendRows([
        sessionRow({ sessionId: 'ok' }),
        sessionRow({ sessionId: 'bad', payload: cyclic as never }),
      ]),
      'SessionStoreSerialize',
    );
    expect(await sessions.readRows()).toEqual([]);
    expect(await sessions.readLatestRows()).toEqual([]);
  });
});
