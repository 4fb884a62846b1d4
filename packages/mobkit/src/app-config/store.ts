import { isAbsolute, join, resolve } from 'node:path';
import { MobKitError } from '@mobkit/core';
import { closedObject } from '@mobkit/core';
import { z } from 'zod';

/** Where an app keeps its durable state: the `[store]` section of `mobkit.toml`, with the environment applied. */
export type AppStoreChoice =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; source: 'mobkit.toml' | 'DATABASE_URL' }
  | { kind: 'memory' };

/** The default SQLite file, relative to the config directory, when `[store]` names none. */
export const DEFAULT_SQLITE_PATH = 'data/mobkit.db';

const text = z.string().trim().min(1, { message: 'must not be blank' });

/**
 * `[store]`: `kind = "sqlite"` (default; one file, `path` relative to the config directory, default
 * `data/mobkit.db`), `"postgres"` (`url = "postgres://…"`, or the `DATABASE_URL` environment variable), or
 * `"memory"` (nothing survives a restart).
 */
export const StoreSection = closedObject({
  kind: z.enum(['sqlite', 'postgres', 'memory']).default('sqlite'),
  path: text.optional(),
  url: text.optional(),
}).superRefine((store, ctx) => {
  if (store.path !== undefined && store.kind !== 'sqlite')
    ctx.addIssue({
      code: 'custom',
      path: ['path'],
      message: `only kind = "sqlite" takes a path (kind is "${store.kind}")`,
    });
  if (store.url !== undefined && store.kind !== 'postgres')
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `only kind = "postgres" takes a url (kind is "${store.kind}")`,
    });
  if (store.url !== undefined && !isPostgresUrl(store.url))
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `expected a PostgreSQL URL such as "postgres://user@127.0.0.1:5432/mobkit", got ${JSON.stringify(redactUrl(store.url))}`,
    });
});

/** `[store]` as parsed. */
export type StoreSectionValue = z.output<typeof StoreSection>;

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A URL without its password (for messages and status). */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/:[^:@/]*@/, ':***@');
  }
}

/** How {@link chooseAppStore} reads the environment and the command line. */
export interface AppStoreOverrides {
  /** `DATABASE_URL`: a PostgreSQL URL switches the app to PostgreSQL, whatever `[store]` says. */
  databaseUrl?: string | undefined;
  /** `--ephemeral`: everything in memory (wins over both). */
  ephemeral?: boolean;
}

/**
 * The store an app uses: `--ephemeral` ⇒ memory; else `DATABASE_URL` (a `postgres://` URL) ⇒ PostgreSQL;
 * else `[store]` of `mobkit.toml` (default SQLite at `<config dir>/data/mobkit.db`). A `DATABASE_URL`
 * that is not a PostgreSQL URL is refused (`InvalidConfig` naming it) rather than ignored.
 */
export function chooseAppStore(
  section: StoreSectionValue | undefined,
  configDir: string,
  overrides: AppStoreOverrides = {},
): AppStoreChoice {
  if (overrides.ephemeral) return { kind: 'memory' };
  const databaseUrl = overrides.databaseUrl?.trim();
  if (databaseUrl !== undefined && databaseUrl !== '') {
    if (!isPostgresUrl(databaseUrl)) {
      throw new MobKitError(
        'InvalidConfig',
        `DATABASE_URL: expected a PostgreSQL URL such as "postgres://user@127.0.0.1:5432/mobkit", got ${JSON.stringify(redactUrl(databaseUrl))}; unset it to use [store] of mobkit.toml`,
        { details: { field: 'DATABASE_URL' } },
      );
    }
    return { kind: 'postgres', url: databaseUrl, source: 'DATABASE_URL' };
  }
  const kind = section?.kind ?? 'sqlite';
  if (kind === 'memory') return { kind };
  if (kind === 'postgres') {
    if (section?.url === undefined) {
      throw new MobKitError(
        'InvalidConfig',
        'store.url: kind = "postgres" needs a url (or set DATABASE_URL), e.g. url = "postgres://user@127.0.0.1:5432/mobkit"',
        { details: { field: 'store.url' } },
      );
    }
    return { kind, url: section.url, source: 'mobkit.toml' };
  }
  const path = section?.path ?? DEFAULT_SQLITE_PATH;
  return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(join(configDir, path)) };
}
