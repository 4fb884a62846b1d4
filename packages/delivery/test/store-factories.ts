import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, MobKitStore } from '@mobkit/core';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';

/** Opens a store again on the same data (a restart); the memory adapter hands back the same object. */
export interface StoreFactory {
  kind: 'memory' | 'sqlite';
  open(clock?: Clock): Promise<MobKitStore>;
  cleanup(): Promise<void>;
}

/** A memory store (reopening returns the same store: its "restart" keeps the data, as a database would). */
export function memoryFactory(): StoreFactory {
  let store: MobKitStore | undefined;
  return {
    kind: 'memory',
    async open(clock) {
      store ??= createMemoryStore(clock === undefined ? {} : { clock });
      return store;
    },
    async cleanup() {
      await store?.close();
    },
  };
}

/** A SQLite store in a temporary directory; each `open` is a new connection to the same file. */
export function sqliteFactory(): StoreFactory {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-delivery-store-'));
  const opened: MobKitStore[] = [];
  return {
    kind: 'sqlite',
    async open(clock) {
      const store = await openSqliteStore({ path: join(dir, 'state.db'), ...(clock === undefined ? {} : { clock }) });
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
