/**
 * Checking a PostgreSQL URL and naming where a store is without its credentials.
 * @module
 */
import { MobKitError } from '@mobkit/core';
import type pg from 'pg';

const EXAMPLE = 'postgres://user:password@host:5432/database';

function badUrl(why: string): MobKitError {
  return new MobKitError(
    'InvalidConfig',
    `store.url (DATABASE_URL) ${why}; a valid one looks like ${EXAMPLE} (postgresql:// works too)`,
    { details: { field: 'store.url', example: EXAMPLE } },
  );
}

/** Where a parsed URL points: host, port and database, for messages and `info.location`. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
}

/** Checks `url` and returns its target; `InvalidConfig` naming `store.url` (never echoing a password). */
export function parsePostgresUrl(url: unknown): PostgresTarget {
  if (typeof url !== 'string' || url.trim() === '') throw badUrl('is missing or empty');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl('is not a URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw badUrl(`has the scheme ${JSON.stringify(parsed.protocol.replace(/:$/, ''))}, not postgres`);
  }
  const socketHost = parsed.searchParams.get('host');
  const host = decodeURIComponent(parsed.hostname) || socketHost || '';
  if (host === '') throw badUrl('has no host');
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw badUrl(`has the path ${JSON.stringify(parsed.pathname)}; give one database name`);
  const user = decodeURIComponent(parsed.username);
  return { host, port, database: database || user || 'postgres' };
}

/** The target of a pool the caller made (from its connection string, or its host/port/database fields). */
export function targetOfPool(pool: pg.Pool): PostgresTarget {
  const options = pool.options as pg.PoolConfig;
  if (typeof options.connectionString === 'string') return parsePostgresUrl(options.connectionString);
  return {
    host: options.host ?? process.env.PGHOST ?? 'localhost',
    port: Number(options.port ?? process.env.PGPORT ?? 5432),
    database: options.database ?? process.env.PGDATABASE ?? options.user ?? 'postgres',
  };
}

/** `postgres://host:port/database`, with no user or password: safe to show. */
export function locationOf(target: PostgresTarget): string {
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  return `postgres://${host}:${target.port}/${target.database}`;
}
