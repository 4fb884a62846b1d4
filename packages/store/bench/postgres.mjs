// PostgreSQL store micro-bench (issue 16): durable writes through @mobkit/store/postgres with 64 concurrent
// callers, each doing send-shaped units of work, against a throwaway server on loopback started like the
// test harness does (initdb + pg_ctl, as the `postgres` user when run as root) — but with fsync ON and
// synchronous_commit ON: every acknowledged write is on disk.
//   send:      put(idempotency key, expectedVersion 0), put(history record), put(history record finished)
//   keyed-tx:  two transaction(fn) calls of two puts each (the delivery ledger's keyed send), awaited one
//              by one as the ledger does today, and then issued together (Promise.all) inside each fn
// Prints ops/s and the load average (2 shared cores: read the figures with it).
// Run after a build: `node packages/store/bench/postgres.mjs [--quick] [--json] [--fsync-off]`.
// With MOBKIT_BENCH_DATABASE_URL=postgres://… it uses that server instead of starting one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../dist/postgres/index.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const fsyncOff = process.argv.includes('--fsync-off');
const CONCURRENCY = 64;
const SECONDS = quick ? 3 : 8;
const WARMUP_SECONDS = 1;

const asRoot = process.getuid?.() === 0;
const quote = (s) => `'${s.replaceAll("'", `'\\''`)}'`;
function pgTool(argv) {
  if (asRoot) execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', argv.map(quote).join(' ')], { stdio: 'pipe' });
  else execFileSync(argv[0], argv.slice(1), { stdio: 'pipe' });
}

function binaries() {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const versioned = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  for (const dir of [...dirs, ...versioned]) {
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) {
      return { initdb: join(dir, 'initdb'), pgCtl: join(dir, 'pg_ctl') };
    }
  }
  throw new Error('no initdb/pg_ctl found: install the Debian postgresql package, or set MOBKIT_BENCH_DATABASE_URL');
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function startServer() {
  const { initdb, pgCtl } = binaries();
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-pg-bench-'));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, -1);
  }
  const data = join(dir, 'data');
  pgTool([initdb, '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  const port = await freePort();
  const durability = fsyncOff ? '-c fsync=off' : '-c fsync=on -c synchronous_commit=on';
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 ${durability}`;
  pgTool([pgCtl, '-D', data, '-o', options, '-l', join(dir, 'pg.log'), '-w', 'start']);
  const stop = () => {
    try {
      pgTool([pgCtl, '-D', data, '-m', 'immediate', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop, postmaster };
}

/** One send-shaped unit: an idempotency key taken with compare-and-set, a history record, then its finish. */
async function send(store, worker, n) {
  const id = `d-${worker}-${n}`;
  const at = 1_700_000_000_000 + n;
  await store.records.put('bench_keys', `key-${id}`, { delivery_id: id }, { expectedVersion: 0, range: at });
  await store.records.put('bench_history', id, { id, state: 'begun' }, { index: `r-${worker}`, range: at });
  await store.records.put('bench_history', id, { id, state: 'delivered' }, { index: `r-${worker}`, range: at });
}

/** The delivery ledger's keyed send: begin and finish, each one transaction of two puts. */
async function keyedSend(store, worker, n) {
  const id = `t-${worker}-${n}`;
  const at = 1_700_000_000_000 + n;
  let keyVersion = 0;
  await store.transaction(async (tx) => {
    await tx.records.put('bench_history', id, { id, state: 'begun' }, { index: `r-${worker}`, range: at });
    keyVersion = (await tx.records.put('bench_keys', `key-${id}`, { id }, { expectedVersion: 0, range: at })).version;
  });
  await store.transaction(async (tx) => {
    await tx.records.put('bench_history', id, { id, state: 'delivered' }, { index: `r-${worker}`, range: at });
    await tx.records.put('bench_keys', `key-${id}`, { id, done: true }, { expectedVersion: keyVersion, range: at });
  });
}

/** The same keyed send with each transaction's two puts issued together (one round trip, not two). */
async function keyedSendTogether(store, worker, n) {
  const id = `p-${worker}-${n}`;
  const at = 1_700_000_000_000 + n;
  let keyVersion = 0;
  await store.transaction(async (tx) => {
    const [, key] = await Promise.all([
      tx.records.put('bench_history', id, { id, state: 'begun' }, { index: `r-${worker}`, range: at }),
      tx.records.put('bench_keys', `key-${id}`, { id }, { expectedVersion: 0, range: at }),
    ]);
    keyVersion = key.version;
  });
  await store.transaction((tx) =>
    Promise.all([
      tx.records.put('bench_history', id, { id, state: 'delivered' }, { index: `r-${worker}`, range: at }),
      tx.records.put('bench_keys', `key-${id}`, { id, done: true }, { expectedVersion: keyVersion, range: at }),
    ]),
  );
}

async function measure(store, unit) {
  let stopAt = performance.now() + WARMUP_SECONDS * 1000;
  let counting = false;
  let done = 0;
  const worker = async (w) => {
    for (let n = 0; ; n++) {
      if (performance.now() >= stopAt) {
        if (counting) return;
        // The warm-up ends: the first worker past it starts the measured window for all.
        counting = true;
        done = 0;
        stopAt = performance.now() + SECONDS * 1000;
        t0 = performance.now();
      }
      await unit(store, w, n);
      done++;
    }
  };
  let t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return done / ((performance.now() - t0) / 1000);
}

const load = () => loadavg().map((l) => l.toFixed(2));

const TICKS = 100; // USER_HZ on Linux
/** CPU seconds used so far by the server: the postmaster and every process it started. */
function serverCpuSeconds(postmaster) {
  if (postmaster === undefined) return Number.NaN;
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pid) === postmaster || Number(fields[1]) === postmaster)
      ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS;
}

/** Runs `unit` for the window and reports ops/s and the CPU cores the bench process and the server used. */
async function measureWithCpu(store, unit, postmaster) {
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuSeconds(postmaster);
  const t0 = performance.now();
  const opsPerSec = await measure(store, unit);
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  return {
    opsPerSec,
    clientCores: (used.user + used.system) / 1e6 / seconds,
    serverCores: (serverCpuSeconds(postmaster) - server0) / seconds,
  };
}

const external = process.env.MOBKIT_BENCH_DATABASE_URL;
const server = external ? { url: external, stop: () => undefined } : await startServer();
const rows = [];
try {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const settings = await admin.query(
    `select name, setting from pg_settings where name in ('fsync', 'synchronous_commit') order by name`,
  );
  await admin.end();
  const durability = settings.rows.map((r) => `${r.name}=${r.setting}`).join(' ');
  for (const [name, unit, writesPerOp] of [
    ['send (3 puts, one CAS)', send, 3],
    ['keyed send (2 transactions × 2 puts)', keyedSend, 4],
    ['keyed send, puts of each transaction issued together', keyedSendTogether, 4],
  ]) {
    const schema = `bench_${rows.length}_${process.pid}`;
    const store = await openPostgresStore({ url: server.url, schema });
    const before = load();
    const measured = await measureWithCpu(store, unit, server.postmaster);
    await store.close();
    rows.push({ name, ...measured, writesPerOp, loadBefore: before, loadAfter: load(), durability });
  }
} finally {
  server.stop();
}

if (json) {
  const [sendRow, txRow, togetherRow] = rows;
  const metrics = {
    durableWrites: { opsPerSec: Math.round(sendRow.opsPerSec), concurrency: CONCURRENCY, writesPerOp: 3 },
    keyedSends: { opsPerSec: Math.round(txRow.opsPerSec), concurrency: CONCURRENCY, writesPerOp: 4 },
    keyedSendsPutsTogether: { opsPerSec: Math.round(togetherRow.opsPerSec), concurrency: CONCURRENCY, writesPerOp: 4 },
  };
  console.log(`@@bench-json ${JSON.stringify({ metrics, loadavg: rows[0].loadBefore.map(Number) })}`);
} else {
  for (const r of rows) {
    console.log(
      `${r.name}: ${Math.round(r.opsPerSec)} ops/s (${Math.round(r.opsPerSec * r.writesPerOp)} writes/s), ` +
        `${CONCURRENCY} callers, ${r.durability}; CPU cores used: bench ${r.clientCores.toFixed(2)}, ` +
        `server ${Number.isNaN(r.serverCores) ? 'n/a' : r.serverCores.toFixed(2)}; ` +
        `load average ${r.loadBefore.join(' ')} → ${r.loadAfter.join(' ')}`,
    );
  }
  console.log('target: ≥ 3,000 sends/s with 64 concurrent senders');
}
