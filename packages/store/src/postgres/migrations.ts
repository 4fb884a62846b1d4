/**
 * The PostgreSQL schema and its versioned migrations, run at open inside one transaction under an
 * advisory lock (several replicas may open one database at once: one migrates, the others wait and
 * then find it done).
 * @module
 */
import { assertSchemaVersion } from '../schema-version.js';
import { type Queryable, type Tables, num } from './sql.js';

/** One migration: the statements that take the schema from `version - 1` to `version`. */
interface Migration {
  version: number;
  statements: (t: Tables) => string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: (t) => [
      // The event log's last seq lives in one row, updated inside each append's transaction: a sequence
      // would leave gaps on rollback, and the row lock serializes appenders across processes.
      `create table ${t.eventSeq} (id int primary key check (id = 1), last_seq bigint not null)`,
      `insert into ${t.eventSeq} (id, last_seq) values (1, 0)`,
      `create table ${t.events} (
        seq bigint primary key,
        id text collate "C" not null unique,
        timestamp_ms bigint not null,
        member_id text collate "C",
        kind text collate "C" not null,
        event_type text collate "C" not null,
        data text not null
      )`,
      `create index events_member_seq on ${t.events} (member_id, seq)`,
      `create index events_type_seq on ${t.events} (event_type, seq)`,
      `create index events_kind_seq on ${t.events} (kind, seq)`,
      `create index events_timestamp on ${t.events} (timestamp_ms)`,
      `create table ${t.records} (
        namespace text collate "C" not null,
        key text collate "C" not null,
        value text not null,
        version bigint not null,
        updated_at_ms bigint not null,
        index_value text collate "C",
        range_value double precision,
        text_value text,
        text_tsv tsvector generated always as (to_tsvector('simple'::regconfig, coalesce(text_value, ''))) stored,
        primary key (namespace, key)
      )`,
      `create index records_index on ${t.records} (namespace, index_value, key) where index_value is not null`,
      `create index records_range on ${t.records} (namespace, range_value, key) where range_value is not null`,
      `create index records_text on ${t.records} using gin (text_tsv)`,
      `create table ${t.claims} (
        namespace text collate "C" not null,
        key text collate "C" not null,
        owner text not null,
        claimed_at_ms bigint not null,
        expires_at_ms bigint,
        primary key (namespace, key)
      )`,
      // A released lease keeps its row (owner null) so that its fencing token never goes back.
      `create table ${t.leases} (
        name text collate "C" primary key,
        owner text,
        token bigint not null,
        expires_at_ms bigint not null
      )`,
    ],
  },
];

/** The newest schema version this build writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Brings the schema up to {@link POSTGRES_SCHEMA_VERSION} on `client` (one connection, no transaction
 * open). Refuses a newer schema with `StoreSchemaTooNew` before writing anything (the transaction is
 * rolled back). Resolves with the version the schema is at now.
 */
export async function migrate(client: Queryable, t: Tables, location: string): Promise<number> {
  await client.query('begin');
  try {
    // Two 32-bit keys: a fixed class for MobKit migrations, and the schema name's hash.
    await client.query('select pg_advisory_xact_lock(1297040971, hashtext($1))', [t.schema]);
    await client.query(`create schema if not exists ${t.schema}`);
    await client.query(
      `create table if not exists ${t.schemaVersion} (id int primary key check (id = 1), version int not null)`,
    );
    const found = await client.query(`select version from ${t.schemaVersion} where id = 1`);
    const current = found.rows[0] === undefined ? 0 : num(found.rows[0].version);
    assertSchemaVersion(current, POSTGRES_SCHEMA_VERSION, location);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(t)) await client.query(statement);
    }
    if (current < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        `insert into ${t.schemaVersion} (id, version) values (1, $1)
         on conflict (id) do update set version = excluded.version`,
        [POSTGRES_SCHEMA_VERSION],
      );
    }
    await client.query('commit');
    return Math.max(current, POSTGRES_SCHEMA_VERSION);
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}
