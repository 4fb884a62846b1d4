import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MobKitStore } from '@mobkit/core';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';
import { builtEntry, childEnv } from '@mobkit/test-utils';
import { Dispatcher, SCHEDULE_CLAIMS_NAMESPACE, StoreClaimStore } from '../src/index.js';

const minutely = (scheduleId: string) => ({ scheduleId, interval: '*/1m', timezone: 'UTC', catchUp: false });
const dirs: string[] = [];
const stores: MobKitStore[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const s of stores.splice(0)) await s.close();
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-scheduling-store-'));
  dirs.push(dir);
  return dir;
}

describe.each([
  ['memory', () => async () => createMemoryStore()],
  [
    'sqlite',
    () => {
      const path = join(tempDir(), 'state.db');
      return () => openSqliteStore({ path });
    },
  ],
])('StoreClaimStore (%s)', (_kind, makeOpener) => {
  it('a restarted dispatcher on the same store never dispatches a claimed tick again', async () => {
    const opener = makeOpener();
    const store = await opener();
    stores.push(store);
    const injected: string[] = [];
    const hook = async (args: { claim_key: string }) => {
      injected.push(args.claim_key);
      return null;
    };
    const first = new Dispatcher({ claimStore: new StoreClaimStore(store), hook });
    expect((await first.dispatchTick([minutely('a')], 60_000)).dispatched).toHaveLength(1);
    await first.close();
    expect((await store.claims.holder(SCHEDULE_CLAIMS_NAMESPACE, 'a:60000'))?.owner).toMatch(/^scheduler-/);

    const again = store.info.kind === 'memory' ? store : await opener();
    if (again !== store) stores.push(again);
    const second = new Dispatcher({ claimStore: new StoreClaimStore(again), hook });
    expect(await second.dispatchTick([minutely('a')], 60_000)).toMatchObject({
      dispatched: [],
      skippedClaims: ['a:60000'],
    });
    expect((await second.dispatchTick([minutely('a')], 120_000)).dispatched).toHaveLength(1);
    await second.close();
    expect(injected).toEqual(['a:60000', 'a:120000']);
  });

  it('two dispatchers sharing a store race for a tick: one dispatches it, the other skips it', async () => {
    const store = await makeOpener()();
    stores.push(store);
    const injected: string[] = [];
    const hook = async (args: { claim_key: string }) => {
      injected.push(args.claim_key);
      return null;
    };
    const one = new Dispatcher({ claimStore: new StoreClaimStore(store), hook });
    const two = new Dispatcher({ claimStore: new StoreClaimStore(store), hook });
    await Promise.all([one.ready(), two.ready()]);
    const [a, b] = await Promise.all([
      one.dispatchTick([minutely('a')], 60_000),
      two.dispatchTick([minutely('a')], 60_000),
    ]);
    expect(a.dispatched.length + b.dispatched.length).toBe(1);
    expect([...a.skippedClaims, ...b.skippedClaims]).toEqual(['a:60000']);
    expect(injected).toEqual(['a:60000']);
    await Promise.all([one.close(), two.close()]);
  });

  it('compaction deletes the claim records the dispatcher pruned', async () => {
    const store = await makeOpener()();
    stores.push(store);
    const claims = new StoreClaimStore(store);
    const dispatcher = new Dispatcher({ claimStore: claims, maxClaims: 2 });
    for (let i = 1; i <= 5; i++) await dispatcher.dispatchTick([minutely('a')], i * 60_000);
    await claims.compact(dispatcher.claimList());
    expect((await store.records.list(SCHEDULE_CLAIMS_NAMESPACE)).map((r) => r.key)).toEqual(['a:240000', 'a:300000']);
    expect((await claims.load()).map((c) => c.dueTickMs)).toEqual([240_000, 300_000]);
    await dispatcher.close();
  });
});

describe('schedule claims survive SIGKILL (SQLite, real processes)', () => {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  const storeDir = fileURLToPath(new URL('../../store/', import.meta.url));
  const child = fileURLToPath(new URL('./claims-child.mjs', import.meta.url));
  let schedulingEntry = '';
  let storeEntry = '';
  beforeAll(() => {
    schedulingEntry = builtEntry(packageDir);
    storeEntry = builtEntry(storeDir);
  }, 240_000);

  async function run(db: string, count: number, killAfter?: number): Promise<string[]> {
    const proc = spawn(process.execPath, [child, schedulingEntry, storeEntry, db, String(count)], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(proc);
    let out = '';
    let err = '';
    proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const injections = () => out.split('\n').filter((l) => l.startsWith('inject '));
    await new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        if (killAfter !== undefined && injections().length >= killAfter && proc.exitCode === null) proc.kill('SIGKILL');
      });
      proc.on('exit', (code, signal) =>
        (killAfter !== undefined ? signal === 'SIGKILL' : code === 0)
          ? resolve()
          : reject(new Error(`child exited ${code ?? signal}: ${err}`)),
      );
    });
    return injections().map((l) => l.slice('inject '.length));
  }

  it('a runtime killed mid-schedule and restarted never injects a claimed tick twice', async () => {
    const db = join(tempDir(), 'state.db');
    const count = 60;
    const first = await run(db, count, 10);
    expect(first.length).toBeGreaterThanOrEqual(10);
    expect(first.length).toBeLessThan(count);
    const second = await run(db, count);
    const all = [...first, ...second];
    expect(all.length).toBe(new Set(all).size);
    // At most the one tick claimed when the kill landed is never injected (claimed, so never twice).
    const expected = Array.from({ length: count }, (_, i) => `tick:${(i + 1) * 60_000}`);
    const missing = expected.filter((k) => !all.includes(k));
    expect(missing.length).toBeLessThanOrEqual(1);
  }, 120_000);
});
