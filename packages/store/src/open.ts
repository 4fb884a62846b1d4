import { type Clock, closedObject, type MobKitStore, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { createMemoryStore } from './memory/index.js';
import { openSqliteStore } from './sqlite/index.js';

/** Keeps everything in this process's memory: gone when it stops (tests, `--ephemeral`). */
export interface MemoryStoreConfig {
  kind: 'memory';
}

/** The embedded default: one SQLite file (created with its directories when missing). */
export interface SqliteStoreConfig {
  kind: 'sqlite';
  /** The database file. */
  path: string;
  /** How long a write waits for another process's write lock (default 5,000 ms). */
  busyTimeoutMs?: number;
}

/** A PostgreSQL database (needs the optional peer `pg`), for several replicas on one database. */
export interface PostgresStoreConfig {
  kind: 'postgres';
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** The schema the store's tables live in (default `mobkit`). */
  schema?: string;
  /** The most connections the store opens (default 10). */
  max?: number;
  /** How long opening waits for the server before `StoreUnavailable` (default 5,000 ms). */
  connectTimeoutMs?: number;
}

/** Which store {@link openStore} opens, and where. */
export type StoreConfig = MemoryStoreConfig | SqliteStoreConfig | PostgresStoreConfig;

/** What {@link openStore} takes beside the config: things that are not plain data. */
export interface OpenStoreOptions {
  /** The clock the store measures `updatedAtMs` and expiry by (default: the system clock). */
  clock?: Clock;
}

const wholeMs = z.number().int().min(0);

const storeConfigSchema = z.discriminatedUnion('kind', [
  closedObject({ kind: z.literal('memory') }),
  closedObject({ kind: z.literal('sqlite'), path: z.string().trim().min(1), busyTimeoutMs: wholeMs.optional() }),
  closedObject({
    kind: z.literal('postgres'),
    url: z.string().trim().min(1),
    schema: z.string().optional(),
    max: z.number().int().min(1).optional(),
    connectTimeoutMs: wholeMs.optional(),
  }),
]);

/**
 * Opens the store `config` names: `{ kind: 'memory' }`, `{ kind: 'sqlite', path }` or
 * `{ kind: 'postgres', url }`. The config is checked first (`InvalidConfig` naming the field; unknown
 * keys are refused, listing the allowed ones); then the adapter's own open errors apply
 * (`StoreUnavailable`, `StoreCorrupt`, `StoreSchemaTooNew`). PostgreSQL is loaded only when asked
 * for, so this entry never loads `pg`.
 */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<MobKitStore> {
  const parsed = parseWithSchema(storeConfigSchema, config, {
    what: 'store config',
    pathPrefix: 'store',
    code: 'InvalidConfig',
  });
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  switch (parsed.kind) {
    case 'memory':
      return createMemoryStore(clock);
    case 'sqlite':
      return openSqliteStore({ path: parsed.path, ...clock, ...definedOnly({ busyTimeoutMs: parsed.busyTimeoutMs }) });
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js');
      const { kind: _kind, ...rest } = parsed;
      return openPostgresStore({ ...definedOnly(rest), ...clock });
    }
  }
}

function definedOnly<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
