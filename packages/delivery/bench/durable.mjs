// Durable resolve + send: 64 concurrent senders, each resolving a route (RoutingService with durable
// TrustedResolutions on the store's records: resolve() awaits a record put) and sending through a
// DeliveryService whose ledger is the store (StoreLedger: begin before the first attempt, the finished
// record after it, group-committed across sends) to an in-process memory sink. Measured in the same run
// on the in-memory store, SQLite (a temp file) and PostgreSQL (MOBKIT_BENCH_DATABASE_URL, or a throwaway
// local server when initdb is installed), in interleaved rounds; the figure is each store's median round.
// Run after a build: `node packages/delivery/bench/durable.mjs [--quick] [--json]`.
// Targets (issue 16): >= 10,000 ops/s on SQLite, >= 3,000 ops/s on PostgreSQL; the memory figure beside them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoutingService, TrustedResolutions } from '../../routing/dist/index.js';
import { createMemoryStore, openSqliteStore } from '../../store/dist/index.js';
import { DeliveryService, MemorySink } from '../dist/index.js';
import { benchPostgres } from './postgres-server.mjs';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const SENDERS = 64;
const ROUNDS = 3;
const ROUND_SECONDS = quick ? 1 : 2.5;
const WARMUP_MS = quick ? 500 : 1000;
const REQUEST = { recipient: 'user@example.com', channel: 'transactional', rateLimitPerMinute: 1_000_000_000 };
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

/** `store` with its transactions counted (how many sends share one commit). */
function counted(store) {
  const counts = { transactions: 0 };
  return {
    counts,
    store: {
      ...store,
      transaction(fn) {
        counts.transactions++;
        return store.transaction(fn);
      },
    },
  };
}

/** The resolve + send flow over one store; `op(i)` is one durable resolve + keyed send. */
async function flowOn(rawStore) {
  const { store, counts } = counted(rawStore);
  const routing = new RoutingService({ trusted: await TrustedResolutions.open(store.records) });
  const memory = new MemorySink();
  const delivery = await DeliveryService.open({ sinks: { email: memory }, trusted: routing.trusted, store });
  const run = randomBytes(4).toString('hex');
  const op = async (i) => {
    const resolution = await routing.resolve(REQUEST);
    const record = await delivery.send({ resolution, payload: { text: 'hello', n: i }, idempotencyKey: `${run}-${i}` });
    if (record.status !== 'sent') throw new Error(`send ${i} ended ${record.status}`);
    if (memory.messages.length > 10_000) memory.clear();
  };
  const close = async () => {
    await delivery.close();
    await routing.trusted.settled(); // the trusted-resolution prune in flight, before the store closes
  };
  return { op, counts, close };
}

let next = 0;
/** Runs `SENDERS` concurrent senders for `ms`; resolves with the sends completed, the seconds and this process's CPU µs. */
async function drive(flow, ms) {
  let n = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (performance.now() < end) {
        await flow.op(next++);
        n++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { ops: n, seconds: (performance.now() - start) / 1000, cpuUs: used.user + used.system };
}

async function dropSchema(url, schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const loadBefore = load();
  console.log(`node ${process.version}, ${new Date().toISOString()}, load average ${loadBefore.join(' ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-bench-durable-'));
  const stores = [];
  const cleanups = [];
  let postgresSkipped;
  let postgresWhere;
  try {
    stores.push({ kind: 'memory', store: createMemoryStore() });
    stores.push({ kind: 'sqlite', store: await openSqliteStore({ path: join(dir, 'state.db') }) });
    const server = await benchPostgres();
    if (server.skipped) postgresSkipped = server.skipped;
    else {
      cleanups.push(server.stop);
      postgresWhere = server.where;
      const { openPostgresStore } = await import('../../store/dist/postgres/index.js');
      const schema = `mobkit_bench_${randomBytes(4).toString('hex')}`;
      const store = await openPostgresStore({ url: server.url, schema });
      stores.push({ kind: 'postgres', store });
      // A server named by the environment keeps running: drop what the run created (after the store closed).
      if (server.shared) cleanups.unshift(() => dropSchema(server.url, schema));
    }
    for (const s of stores) {
      s.flow = await flowOn(s.store);
      s.rounds = [];
      await drive(s.flow, WARMUP_MS);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of stores) {
        const before = s.flow.counts.transactions;
        const r = await drive(s.flow, ROUND_SECONDS * 1000);
        s.rounds.push({ ...r, opsPerSec: r.ops / r.seconds, transactions: s.flow.counts.transactions - before });
      }
    }
    const metrics = { senders: SENDERS, rounds: ROUNDS, roundSeconds: ROUND_SECONDS };
    for (const s of stores) {
      const rates = s.rounds.map((r) => r.opsPerSec);
      const ops = s.rounds.reduce((a, r) => a + r.ops, 0);
      const transactions = s.rounds.reduce((a, r) => a + r.transactions, 0);
      const cpuUs = s.rounds.reduce((a, r) => a + r.cpuUs, 0);
      metrics[s.kind] = {
        opsPerSec: median(rates),
        perRound: rates.map((x) => Math.round(x)),
        ops,
        // Each send appends two ledger entries (begin, finished record); prunes add a few transactions.
        sendsPerTransaction: ops / Math.max(transactions, 1),
        // CPU of this process (routing, delivery, the store adapter; not a PostgreSQL server's) per send.
        cpuUsPerOp: cpuUs / Math.max(ops, 1),
        ...(s.kind === 'postgres' ? { server: postgresWhere } : {}),
      };
      console.log(
        `resolve+send, store ledger (${s.kind}), ${SENDERS} senders`.padEnd(58) +
          `${Math.round(metrics[s.kind].opsPerSec).toLocaleString('en-US').padStart(9)} ops/s  (rounds ${rates.map((x) => Math.round(x)).join(', ')}; ${metrics[s.kind].sendsPerTransaction.toFixed(1)} sends per ledger transaction; ${metrics[s.kind].cpuUsPerOp.toFixed(0)} µs CPU per send here)`,
      );
    }
    if (postgresSkipped) {
      metrics.postgresSkipped = postgresSkipped;
      console.log(`PostgreSQL not measured: ${postgresSkipped}`);
    }
    metrics.loadavgBefore = loadBefore;
    metrics.loadavgAfter = load();
    const verdict = (x, target) => (x === undefined ? 'not measured' : x >= target ? 'PASS' : 'MISS');
    console.log('');
    console.log(
      `SQLite target >= 10,000 ops/s: ${verdict(metrics.sqlite.opsPerSec, 10_000)}; PostgreSQL target >= 3,000 ops/s: ${verdict(metrics.postgres?.opsPerSec, 3_000)} (memory ${Math.round(metrics.memory.opsPerSec).toLocaleString('en-US')} ops/s); load average ${loadBefore[0]} -> ${metrics.loadavgAfter[0]}`,
    );
    if (json) console.log(`@@bench-json ${JSON.stringify({ node: process.version, quick, metrics })}`);
  } finally {
    for (const s of stores) {
      await s.flow?.close().catch(() => undefined);
      await s.store.close().catch(() => undefined);
    }
    for (const cleanup of cleanups) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  if (json)
    console.log(
      `@@bench-json ${JSON.stringify({ node: process.version, quick, error: String(error?.stack ?? error) })}`,
    );
  process.exitCode = 1;
}
