// A PostgreSQL server for a benchmark run: `MOBKIT_BENCH_DATABASE_URL` when it is set, otherwise a
// throwaway server started from the local initdb/pg_ctl in a temp directory on a free loopback port
// (as the `postgres` user when we run as root: the server refuses root), stopped again by `stop()`.
// Unlike the test harness (packages/test-utils/src/postgres.ts) it keeps the server's defaults —
// fsync on, synchronous_commit on — so a commit in the benchmark costs what it costs in production.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const BENCH_DATABASE_URL_ENV = 'MOBKIT_BENCH_DATABASE_URL';

function findBinaries() {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '');
  const versioned = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  for (const dir of [...dirs, ...versioned]) {
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
      return { initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') };
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
const asRoot = () => process.getuid?.() === 0;

function run(argv, timeoutMs) {
  const [file, args] = asRoot()
    ? ['su', ['postgres', '-s', '/bin/sh', '-c', argv.map(quote).join(' ')]]
    : [argv[0], argv.slice(1)];
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${argv.join(' ')} failed: ${error.message}\n${stdout}${stderr}`.trim()));
      else resolve();
    });
  });
}

/**
 * Resolves with `{ url, where, shared, stop }` (`shared`: the server outlives the run), or with `{ skipped }` (why there is no server) when neither the
 * environment names one nor initdb/pg_ctl are installed.
 */
export async function benchPostgres() {
  const fromEnv = process.env[BENCH_DATABASE_URL_ENV];
  if (fromEnv) return { url: fromEnv, where: BENCH_DATABASE_URL_ENV, shared: true, stop: async () => undefined };
  const binaries = findBinaries();
  if (!binaries)
    return { skipped: `no PostgreSQL: set ${BENCH_DATABASE_URL_ENV}, or install initdb/pg_ctl (Debian: postgresql)` };
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-bench-pg-'));
  if (asRoot()) {
    const owner = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (owner.status !== 0) return { skipped: 'running as root without a `postgres` user to run the server as' };
    chownSync(dir, Number(owner.stdout.trim()), -1);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  try {
    await run([binaries.initdb, '-D', data, '-U', 'postgres', '--auth=trust'], 60_000);
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
    await run([binaries.pgCtl, '-D', data, '-o', options, '-l', join(dir, 'pg.log'), '-w', 'start'], 60_000);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stopArgv = [binaries.pgCtl, '-D', data, '-m', 'fast', 'stop'];
  const onExit = () => {
    const [file, args] = asRoot()
      ? ['su', ['postgres', '-s', '/bin/sh', '-c', stopArgv.map(quote).join(' ')]]
      : [stopArgv[0], stopArgv.slice(1)];
    spawnSync(file, args, { timeout: 20_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    where: `a throwaway local server (${binaries.initdb.replace(/\/initdb$/, '')}, fsync on)`,
    async stop() {
      process.removeListener('exit', onExit);
      await run(stopArgv, 30_000).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
