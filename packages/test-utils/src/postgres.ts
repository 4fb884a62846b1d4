/**
 * A throwaway PostgreSQL server for tests: `MOBKIT_TEST_DATABASE_URL` when it is set, otherwise a
 * server started from the local `initdb`/`pg_ctl` in a temp directory on a free loopback port (as the
 * `postgres` user when the test runs as root — the server refuses to run as root). See toolchain.md's
 * PostgreSQL recipe.
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

/** The environment variable naming an existing server to test against instead of starting one. */
export const TEST_DATABASE_URL_ENV = 'MOBKIT_TEST_DATABASE_URL';

/** A PostgreSQL server for one test file. */
export interface TestPostgres {
  /** The server's maintenance database (`postgres://postgres@127.0.0.1:<port>/postgres`, or the env URL). */
  readonly url: string;
  /** Creates a fresh, empty database (named `name`, or a random `mobkit_test_…`) and resolves with its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and removes its directory (a server from the env URL: drops the databases created). */
  stop(): Promise<void>;
}

interface PgBinaries {
  initdb: string;
  pgCtl: string;
}

function findBinaries(): PgBinaries | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  const versioned = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  for (const dir of [...dirs, ...versioned]) {
    const initdb = join(dir, 'initdb');
    const pgCtl = join(dir, 'pg_ctl');
    if (existsSync(initdb) && existsSync(pgCtl)) return { initdb, pgCtl };
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const runsAsRoot = () => process.getuid?.() === 0;

/** Runs `argv` (as `postgres` when we are root), rejecting with its output when it fails. */
function runPgTool(argv: string[], timeoutMs: number): Promise<void> {
  const [file, args] = runsAsRoot()
    ? ['su', ['postgres', '-s', '/bin/sh', '-c', argv.map(quote).join(' ')]]
    : [argv[0] as string, argv.slice(1)];
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')} failed: ${error.message}\n${stdout}${stderr}`.trim()));
      else resolve();
    });
  });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseMaker(url: string, created: string[]) {
  return async (name?: string): Promise<string> => {
    const database = name ?? `mobkit_test_${randomBytes(6).toString('hex')}`;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
      throw new Error(`createDatabase: ${JSON.stringify(database)} is not a plain lower-case database name`);
    }
    await adminQuery(url, `create database "${database}"`);
    created.push(database);
    return withDatabase(url, database);
  };
}

function fromEnv(url: string): TestPostgres {
  const created: string[] = [];
  return {
    url,
    createDatabase: databaseMaker(url, created),
    async stop() {
      for (const database of created.splice(0)) {
        await adminQuery(url, `drop database if exists "${database}" with (force)`);
      }
    },
  };
}

async function startLocal(binaries: PgBinaries): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-pg-'));
  const data = join(dir, 'data');
  if (runsAsRoot()) {
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (owner.status !== 0) throw new Error('running as root, but there is no `postgres` user to run the server as');
    chownSync(dir, Number(owner.stdout.trim()), -1);
  }
  try {
    await runPgTool([binaries.initdb, '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync'], 60_000);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let port = 0;
  for (let attempt = 1; ; attempt += 1) {
    port = await freePort();
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    try {
      await runPgTool([binaries.pgCtl, '-D', data, '-o', options, '-l', join(dir, 'pg.log'), '-w', 'start'], 60_000);
      break;
    } catch (error) {
      const log = existsSync(join(dir, 'pg.log')) ? readFileSync(join(dir, 'pg.log'), 'utf8') : '';
      if (attempt < 3 && /address already in use/i.test(log)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`${(error as Error).message}\n${log}`.trim());
    }
  }
  const stopArgv = [binaries.pgCtl, '-D', data, '-m', 'fast', 'stop'];
  // A test process that dies without stop() must not leave a server behind.
  const onExit = () => {
    const [file, args] = runsAsRoot()
      ? [
          'su',
          [
            'postgres',
            '-s',
            '/bin/sh',
            '-c',
            [binaries.pgCtl, '-D', data, '-m', 'immediate', 'stop'].map(quote).join(' '),
          ],
        ]
      : [binaries.pgCtl, ['-D', data, '-m', 'immediate', 'stop']];
    spawnSync(file as string, args as string[], { stdio: 'ignore', timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    createDatabase: databaseMaker(url, []),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      try {
        await runPgTool(stopArgv, 60_000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Starts (or, with `MOBKIT_TEST_DATABASE_URL`, connects to) a PostgreSQL server for tests. Rejects with
 * the reason when none can be had (no `initdb`/`pg_ctl` on PATH or under /usr/lib/postgresql, or the
 * server does not start). Start one per test file (about 1.8 s) and give each test group its own
 * database with `createDatabase()`.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const envUrl = process.env[TEST_DATABASE_URL_ENV];
  if (envUrl !== undefined && envUrl !== '') {
    await adminQuery(envUrl, 'select 1');
    return fromEnv(envUrl);
  }
  const binaries = findBinaries();
  if (binaries === undefined) {
    throw new Error('no PostgreSQL server binaries (initdb and pg_ctl) on PATH or under /usr/lib/postgresql/*/bin');
  }
  return startLocal(binaries);
}

/**
 * {@link startTestPostgres}, or undefined when no server can be had — with a logged message saying how
 * to enable the tests — so a file can `describe.skipIf(!pg)`. When `CI` is set a missing server is a
 * failure, not a skip: this rejects with the reason.
 */
export async function postgresOrSkip(): Promise<TestPostgres | undefined> {
  try {
    return await startTestPostgres();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (process.env.CI) {
      throw new Error(`PostgreSQL tests cannot run in CI: ${reason}`);
    }
    console.warn(
      `skipping PostgreSQL tests: ${reason}. To run them, install the Debian package \`postgresql\` (apt-get install postgresql) or set ${TEST_DATABASE_URL_ENV}=postgres://user@host:port/db`,
    );
    return undefined;
  }
}
