// Store benchmarks (issue 16), each against a baseline measured in the same run on the same machine:
//   1. event-log append throughput (SQLite store, batches of 256) against raw batched inserts of the same
//      rows into a table of the same shape and indexes in the same database file (target ≥ 0.8×);
//   2. an event query for one member (100 events after a random seq) over 1,000,000 events, against the
//      same query over 100,000 (target < 20 ms at 1,000,000 and < 2× the time at 100,000);
//   3. durable writes: 64 concurrent callers, each "send" three record puts in a row (create the delivery
//      with expectedVersion 0, its idempotency key, then mark it sent with expectedVersion 1), every one
//      acknowledged only once committed (target ≥ 10,000 sends/s).
// The raw baseline of 1. is the plain sync driver at its fastest: one transaction per batch, one reused
// prepared INSERT, WAL and synchronous=NORMAL like the store.
// With MOBKIT_BENCH_DATABASE_URL=postgres://… the append row is measured on PostgreSQL too.
// Run after a build: `node packages/store/bench/store.mjs [--quick] [--json]`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { openSqliteStore } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const BATCH = 256;
const APPEND_EVENTS = quick ? 40_000 : 120_000;
const MEMBERS = 100;
const SMALL = 100_000;
const LARGE = quick ? 300_000 : 1_000_000;
const QUERIES = 200;
const SENDERS = 64;
const SENDS = quick ? 6_400 : 32_000;

const payload = (i) => ({
  event_id: `evt-${i}`,
  source: 'agent',
  timestamp_ms: 1_700_000_000_000 + i,
  event: {
    kind: 'agent',
    agent_id: `m-${i % MEMBERS}`,
    event_type: 'text_delta',
    payload: { type: 'text_delta', delta: `token ${i} ` },
  },
});

function draft(i, prefix) {
  return {
    id: `${prefix}-${i}`,
    timestampMs: 1_700_000_000_000 + i,
    memberId: `m-${i % MEMBERS}`,
    kind: 'agent',
    eventType: i % 10 === 0 ? 'run_completed' : 'text_delta',
    data: payload(i),
  };
}

async function appendStore(store, count, prefix, from = 0) {
  const t0 = performance.now();
  for (let i = from; i < from + count; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(i + BATCH, from + count); k++) batch.push(draft(k, prefix));
    await store.events.append(batch);
  }
  return count / ((performance.now() - t0) / 1000);
}

/** The baseline: the same rows as plain INSERTs, one transaction per 256, into a table with the same columns and indexes. */
async function appendRaw(db, count, prefix) {
  db.exec(
    `create table if not exists bench_raw (seq integer primary key, id text not null unique, timestamp_ms integer not null,
       member_id text, kind text not null, event_type text not null, data text not null);
     create index if not exists bench_raw_member on bench_raw (member_id, seq);
     create index if not exists bench_raw_type on bench_raw (event_type, seq);
     create index if not exists bench_raw_kind on bench_raw (kind, seq);
     create index if not exists bench_raw_ts on bench_raw (timestamp_ms);`,
  );
  const insert = db.prepare(
    'insert into bench_raw (id, timestamp_ms, member_id, kind, event_type, data) values (?, ?, ?, ?, ?, ?)',
  );
  const t0 = performance.now();
  for (let i = 0; i < count; i += BATCH) {
    db.exec('begin immediate');
    for (let k = i; k < Math.min(i + BATCH, count); k++) {
      const d = draft(k, prefix);
      insert.run([d.id, d.timestampMs, d.memberId, d.kind, d.eventType, JSON.stringify(d.data)]);
    }
    db.exec('commit');
    // Yield like an awaited store call does, so both sides pay the same event-loop turn per batch.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return count / ((performance.now() - t0) / 1000);
}

/** 3. `SENDERS` concurrent callers, each running sends (three record puts, two with expectedVersion) one after another. */
async function durableWrites(store) {
  let next = 0;
  const sender = async () => {
    for (let i = next++; i < SENDS; i = next++) {
      const id = `delivery-${i}`;
      const created = await store.records.put(
        'deliveries',
        id,
        { state: 'pending', to: `member-${i % MEMBERS}`, body: `message ${i}` },
        { expectedVersion: 0, index: 'pending' },
      );
      await store.records.put('idempotency', `key-${i}`, { delivery: id });
      await store.records.put(
        'deliveries',
        id,
        { state: 'sent', to: `member-${i % MEMBERS}`, body: `message ${i}` },
        { expectedVersion: created.version, index: 'sent' },
      );
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SENDERS }, sender));
  return SENDS / ((performance.now() - t0) / 1000);
}

async function queryTimes(store, total) {
  const times = [];
  for (let q = 0; q < QUERIES; q++) {
    const member = `m-${(q * 37) % MEMBERS}`;
    const afterSeq = Math.floor((((q * 7919) % 1000) / 1000) * total);
    const t0 = performance.now();
    const rows = await store.events.query({ memberId: member, afterSeq, limit: 100 });
    times.push(performance.now() - t0);
    if (rows.length === 0 && afterSeq < total - MEMBERS * 100)
      throw new Error(`no rows for ${member} after ${afterSeq}`);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], p99Ms: times[Math.floor(times.length * 0.99)] };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-store-bench-'));
  const results = {};
  try {
    // 1. append throughput, interleaved rounds so drift hits both sides
    const file = join(dir, 'append.db');
    const store = await openSqliteStore({ path: file });
    const raw = new Database(file, { timeout: 5_000 });
    raw.exec('pragma journal_mode=wal');
    raw.exec('pragma synchronous=normal');
    const storeRates = [];
    const rawRates = [];
    const per = APPEND_EVENTS / 3;
    for (let round = 0; round < 3; round++) {
      storeRates.push(await appendStore(store, per, `s${round}`, round * per));
      rawRates.push(await appendRaw(raw, per, `r${round}`));
    }
    raw.close();
    await store.close();
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    results.append = {
      storeEventsPerSec: median(storeRates),
      rawEventsPerSec: median(rawRates),
      batch: BATCH,
      rounds: 3,
    };
    results.append.ratio = results.append.storeEventsPerSec / results.append.rawEventsPerSec;
    console.log(
      `event-log append (SQLite)   ${Math.round(results.append.storeEventsPerSec)} events/s vs raw ${Math.round(results.append.rawEventsPerSec)} events/s: ${results.append.ratio.toFixed(2)}×`,
    );

    if (process.env.MOBKIT_BENCH_DATABASE_URL) {
      const { openPostgresStore } = await import('../dist/postgres/index.js');
      const pgStore = await openPostgresStore({ url: process.env.MOBKIT_BENCH_DATABASE_URL });
      results.appendPostgres = { storeEventsPerSec: await appendStore(pgStore, APPEND_EVENTS / 3, `pg-${Date.now()}`) };
      await pgStore.close();
      console.log(`event-log append (PostgreSQL) ${Math.round(results.appendPostgres.storeEventsPerSec)} events/s`);
    }

    // 2. one member's query at SMALL and LARGE events
    const qstore = await openSqliteStore({ path: join(dir, 'query.db') });
    await appendStore(qstore, SMALL, 'q');
    const small = await queryTimes(qstore, SMALL);
    await appendStore(qstore, LARGE - SMALL, 'q', SMALL);
    const large = await queryTimes(qstore, LARGE);
    await qstore.close();
    results.query = {
      small,
      large,
      smallEvents: SMALL,
      largeEvents: LARGE,
      queries: QUERIES,
      ratio: large.medianMs / small.medianMs,
    };
    console.log(
      `query one member, 100 rows: ${large.medianMs.toFixed(2)} ms median at ${LARGE} events vs ${small.medianMs.toFixed(2)} ms at ${SMALL}: ${results.query.ratio.toFixed(2)}×`,
    );

    // 3. durable record writes from concurrent callers (group commit)
    const wstore = await openSqliteStore({ path: join(dir, 'writes.db') });
    await durableWrites(wstore); // warm-up round: statements prepared, file grown
    const rates = [];
    for (let round = 0; round < 3; round++) {
      const rstore = await openSqliteStore({ path: join(dir, `writes-${round}.db`) });
      rates.push(await durableWrites(rstore));
      await rstore.close();
    }
    await wstore.close();
    results.durableWrites = { opsPerSec: median(rates), concurrency: SENDERS, writesPerOp: 3, rounds: 3 };
    console.log(
      `durable writes (SQLite)     ${Math.round(results.durableWrites.opsPerSec)} sends/s (${SENDERS} concurrent senders, 3 committed record puts each)`,
    );
  } catch (error) {
    results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(results.error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) console.log(`@@bench-json ${JSON.stringify({ metrics: results, error: results.error })}`);
}

await main();
