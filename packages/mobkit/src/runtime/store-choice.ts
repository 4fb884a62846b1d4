import { join } from 'node:path';
import { type EventLogBounds, MobKitError, type MobKitStore, isMobKitError, toMobKitError } from '@mobkit/core';
import { TrustedResolutions } from '@mobkit/routing';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';
import {
  DEFAULT_EVENT_RETENTION_MAX_AGE_MS,
  DEFAULT_EVENT_RETENTION_MAX_ROWS,
  DEFAULT_MEMORY_EVENT_RETENTION_MAX_ROWS,
  type EventRetention,
} from '../event-log/retention.js';

/** The SQLite file `.persistentState(dir)` keeps its state in. */
export const PERSISTENT_STATE_FILE = 'mobkit.db';

/** Which store the builder was told to use. */
export type StoreChoice =
  | { kind: 'given'; store: MobKitStore }
  | { kind: 'directory'; dir: string }
  | { kind: 'memory' };

/** A store opened for a runtime: whether the runtime closes it, and the log's bounds at start. */
export interface OpenedStore {
  store: MobKitStore;
  /** True when the runtime opened it (and closes it at shutdown); a store the caller gave stays open. */
  owned: boolean;
  retention: EventRetention;
  bounds: EventLogBounds;
  /** The trusted resolutions issued before (read back from the store), and the route-id counter after them. */
  trusted: TrustedResolutions;
}

/**
 * Opens the chosen store and reads its event log's bounds and the trusted resolutions, so that a store that cannot be opened or
 * read fails the build before anything starts: a typed error (`StoreUnavailable`, `StoreCorrupt`,
 * `StoreSchemaTooNew`, …) naming the path. A store the runtime opened is closed again on failure.
 */
export async function openChosenStore(choice: StoreChoice, retention: Partial<EventRetention>): Promise<OpenedStore> {
  const { store, owned } = await open(choice);
  try {
    const bounds = await store.events.bounds();
    const maxRows =
      retention.maxRows ??
      (choice.kind === 'memory' ? DEFAULT_MEMORY_EVENT_RETENTION_MAX_ROWS : DEFAULT_EVENT_RETENTION_MAX_ROWS);
    const trusted = await TrustedResolutions.open(store.records);
    return {
      store,
      owned,
      bounds,
      trusted,
      retention: { maxAgeMs: retention.maxAgeMs ?? DEFAULT_EVENT_RETENTION_MAX_AGE_MS, maxRows },
    };
  } catch (error) {
    if (owned) await store.close().catch(() => undefined);
    throw storeError(error, `the event log of store ${store.info.location} could not be read`);
  }
}

async function open(choice: StoreChoice): Promise<{ store: MobKitStore; owned: boolean }> {
  if (choice.kind === 'given') return { store: choice.store, owned: false };
  if (choice.kind === 'memory') return { store: createMemoryStore(), owned: true };
  const path = join(choice.dir, PERSISTENT_STATE_FILE);
  try {
    return { store: await openSqliteStore({ path }), owned: true };
  } catch (error) {
    throw storeError(error, `persistentState: the SQLite store ${path} could not be opened`);
  }
}

/** A store failure as a typed error: the adapter's own `MobKitError` as is, anything else `StoreUnavailable`. */
function storeError(error: unknown, context: string): MobKitError {
  if (isMobKitError(error)) return error;
  return new MobKitError('StoreUnavailable', `${context}: ${toMobKitError(error).message}`, { cause: error });
}
