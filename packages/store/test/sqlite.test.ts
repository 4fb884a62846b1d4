import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '@mobkit/core';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../src/sqlite/index.js';
import { describeStoreConformance } from '../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mobkit-sqlite-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const childModule = fileURLToPath(new URL('./fixtures/open-sqlite.mjs', import.meta.url));

function sqliteTarget(name: string, clock?: ManualClock) {
  let n = 0;
  let path = '';
  describeStoreConformance(name, {
    open: () => {
      path = join(dir, `${name.replace(/\W+/g, '-')}-${n++}.db`);
      return openSqliteStore({ path, ...(clock ? { clock } : {}) });
    },
    reopen: () => openSqliteStore({ path, ...(clock ? { clock } : {}) }),
    child: { module: childModule, env: () => ({ MOBKIT_STORE_PATH: path }) },
    ...(clock ? { clock: { advance: (ms: number) => clock.advance(ms) } } : {}),
    cleanup: () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    },
  });
}

sqliteTarget('sqlite');
sqliteTarget('sqlite (manual clock)', new ManualClock(1_700_000_000_000));
