import { fileURLToPath } from 'node:url';
import { ManualClock } from '@mobkit/core';
import { postgresOrSkip } from '@mobkit/test-utils';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { openPostgresStore } from '../src/postgres/index.js';
import { describeStoreConformance } from '../src/testing/index.js';

// One server for the file, one database for the suite, a fresh schema for every case.
const server = await postgresOrSkip();
const url = server ? await server.createDatabase() : '';
const admin = server ? new pg.Pool({ connectionString: url, max: 1 }) : undefined;
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

const childModule = fileURLToPath(new URL('./fixtures/open-postgres.mjs', import.meta.url));

function postgresTarget(name: string, clock?: ManualClock) {
  let n = 0;
  let schema = '';
  describeStoreConformance(name, {
    open: () => {
      schema = `conformance_${name.replace(/\W+/g, '_')}_${n++}`;
      return openPostgresStore({ url, schema, ...(clock ? { clock } : {}) });
    },
    reopen: () => openPostgresStore({ url, schema, ...(clock ? { clock } : {}) }),
    child: { module: childModule, env: () => ({ MOBKIT_STORE_PG_URL: url, MOBKIT_STORE_PG_SCHEMA: schema }) },
    ...(clock ? { clock: { advance: (ms: number) => clock.advance(ms) } } : {}),
    cleanup: async () => {
      await admin?.query(`drop schema if exists "${schema}" cascade`);
    },
  });
}

describe.skipIf(!server)('postgres conformance', () => {
  postgresTarget('postgres');
  postgresTarget('postgres manual clock', new ManualClock(1_700_000_000_000));
});
