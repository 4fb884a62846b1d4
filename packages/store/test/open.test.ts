import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, type StoreConfig } from '../src/open.js';

const dir = mkdtempSync(join(tmpdir(), 'mobkit-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore', () => {
  it('opens a memory store with the given clock', async () => {
    const clock = new ManualClock(42);
    const store = await openStore({ kind: 'memory' }, { clock });
    expect(store.info.kind).toBe('memory');
    expect((await store.records.put('ns', 'k', 1)).updatedAtMs).toBe(42);
    await store.close();
  });

  it('opens a SQLite store at the path', async () => {
    const path = join(dir, 'data', 'mobkit.db');
    const store = await openStore({ kind: 'sqlite', path, busyTimeoutMs: 1_000 });
    expect(store.info).toMatchObject({ kind: 'sqlite', location: path });
    await store.close();
  });

  it('refuses unknown keys, naming the allowed ones', async () => {
    const config = { kind: 'sqlite', path: join(dir, 'x.db'), paht: 'typo' } as unknown as StoreConfig;
    const error = await expectMobKitError(openStore(config), 'InvalidConfig');
    expect(error.message).toContain('store.paht');
    expect(error.message).toContain('allowed: kind, path, busyTimeoutMs');
  });

  it('refuses an unknown kind and a missing path', async () => {
    await expectMobKitError(openStore({ kind: 'mysql' } as unknown as StoreConfig), 'InvalidConfig');
    const error = await expectMobKitError(openStore({ kind: 'sqlite' } as unknown as StoreConfig), 'InvalidConfig');
    expect(error.message).toContain('store.path');
  });

  it('loads the PostgreSQL adapter only for kind postgres, which checks its url', async () => {
    const error = await expectMobKitError(openStore({ kind: 'postgres', url: 'mysql://nope' }));
    expect(['InvalidConfig', 'StoreUnavailable']).toContain(error.code);
  });
});
