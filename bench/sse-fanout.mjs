// SSE fan-out of `npm run bench` (not a test): p99 latency of agent events to 1,000 subscribers of the
// reference app's `GET /mob/events` served from the durable event log, against a bare Express SSE route fed
// by the same events in the same run (the machine's floor). Target: router p99 ≤ 1.1× the bare route's.
//
// The server runs in a child process (this file with `--server`), so the subscribers never share its event
// loop. Its surface is log-backed like mobkit's `referenceAppSurface` over a store: every event is appended
// to a @mobkit/store memory store's event log first (gapless seqs over agent and module events) and
// delivered to live subscribers only after the append resolved, carrying the log's seq; the router streams
// with ids `<seq>`. Events are published by the server at the pace of host messages to TestClient members
// (a burst of 6 agent events — run_started … run_completed — every `intervalMs`), so the rate is the same
// for both routes and not bound by a mob. Latency = delivery in the server (after the append, before any
// frame is written) → frame parsed by the subscriber process, on one high-resolution wall clock.
//
// Run after a build (`npx nx run @mobkit/reference-app:build`, `npx nx run @mobkit/store:build`):
//   node bench/sse-fanout.mjs [--quick] [--json]
// Env: BENCH_SSE_SUBSCRIBERS (1000), BENCH_SSE_MESSAGES (20; quick 12), BENCH_SSE_INTERVAL_MS (250),
// BENCH_SSE_ROUNDS (3; quick 1). With --json the last line is `@@bench-json {...}` for bench/run.mjs.
// Exits 0 either way (an error is reported in the JSON).
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { forkBenchServer, openSubscribers, percentile, wallNow } from './http-shared.mjs';

if (process.argv.includes('--server')) await serve();
else await measure();

// ------------------------------------------------------------------------------------------------- server

async function serve() {
  const { default: express } = await import('express');
  const { buildRuntimeDecisionState } = await import('@mobkit/auth-policy');
  const { createMemoryStore } = await import('@mobkit/store');
  const { buildReferenceAppRouter } = await import('@mobkit/reference-app');
  const { AUTH_CONFIG, MEMBERS } = await import('./http-shared.mjs');

  const store = createMemoryStore();
  const log = store.events;
  const listeners = new Set();
  let delivered = [];
  const toAgentEvent = (entry) => ({
    memberId: entry.memberId,
    seq: entry.seq,
    timestampMs: entry.timestampMs,
    type: entry.eventType,
    payload: entry.data.payload,
  });
  const surface = {
    mobId: () => 'bench',
    mobStatus: async () => 'Running',
    profiles: () => [{ name: 'worker', model: 'gpt-5.2', externalAddressable: true, peerDescription: '' }],
    listMembers: async () => MEMBERS.map((id) => member(id)),
    getMember: async (id) => (MEMBERS.includes(id) ? member(id) : undefined),
    sendMessage: async (id) => `session-${id}`,
    loadedModules: () => [],
    isRunning: () => true,
    moduleHealthTransitions: () => [],
    events: () => [],
    subscribe: () => () => undefined,
    eventLog: () => ({
      store: { ...store.info },
      readAgentEvents: async ({ afterSeq, memberId, limit }) =>
        (await log.query({ afterSeq, kinds: ['agent'], limit, ...(memberId ? { memberId } : {}) })).map(toAgentEvent),
      bounds: async () => {
        const { firstSeq, lastSeq } = await log.bounds();
        return { firstSeq, lastSeq };
      },
    }),
    subscribeAgentEvents: (fn, memberId) => {
      const entry = { fn, memberId };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
  function member(id) {
    return { meerkatId: id, profile: 'worker', state: 'active', sessionId: `session-${id}`, wiredTo: [], labels: {} };
  }

  // Delivery after the append, in seq order: the first listener records the delivery time (before any frame
  // is written), then the router's hub and the bare route get the same event objects.
  let appending = Promise.resolve();
  let ids = 0;
  const publish = (memberId, text) => {
    const now = Date.now();
    const types = ['run_started', 'text_delta', 'text_delta', 'text_delta', 'turn_completed', 'run_completed'];
    const batch = types.map((type, i) => ({
      id: `bench-${++ids}`,
      timestampMs: now,
      memberId,
      kind: 'agent',
      eventType: type,
      data: { member_id: memberId, payload: type === 'text_delta' ? { type, delta: `${text} ${i}` } : { type } },
    }));
    appending = appending.then(async () => {
      for (const entry of await log.append(batch)) {
        const e = toAgentEvent(entry);
        delivered.push([e.seq, wallNow()]);
        for (const l of listeners) if (l.memberId === undefined || l.memberId === e.memberId) l.fn(e);
      }
    });
    return appending;
  };

  const app = express();
  app.disable('x-powered-by');
  // The floor: a bare Express SSE route, each frame formatted once and written to every subscriber (no
  // backpressure handling, no auth, no resume).
  const bareStreams = new Set();
  surface.subscribeAgentEvents((e) => {
    if (bareStreams.size === 0) return;
    const frame = `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ member_id: e.memberId, source: 'agent', payload: e.payload, timestamp_ms: e.timestampMs })}\n\n`;
    for (const res of bareStreams) res.write(frame);
  });
  app.get('/bare/events', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    bareStreams.add(res);
    req.on('close', () => bareStreams.delete(res));
  });
  const drops = [];
  const openState = buildRuntimeDecisionState({ ...AUTH_CONFIG, console: { requireAppAuth: false } });
  app.use(
    '/',
    buildReferenceAppRouter(surface, openState, {
      rpcHandler: { handleText: async () => undefined },
      maxStreams: 1100,
      onStreamDropped: (info) => drops.push(info),
    }),
  );
  const server = await new Promise((resolve) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  process.send({ port: server.address().port, store: store.info });

  async function generate({ messages, intervalMs }) {
    delivered = [];
    const start = performance.now();
    const pending = [];
    for (let i = 0; i < messages; i += 1) {
      const wait = start + i * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(publish(MEMBERS[i % MEMBERS.length], `bench message ${i}`));
    }
    await Promise.all(pending);
    await new Promise((r) => setTimeout(r, 50));
    return { publishTimes: delivered, drops: drops.splice(0) };
  }

  process.on('message', async (m) => {
    if (m?.cmd === 'generate') process.send({ reply: 'generate', ...(await generate(m)) });
    else if (m?.cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ reply: 'cpu', cpuMicros: user + system });
    } else if (m?.cmd === 'stop') {
      server.closeAllConnections?.();
      server.close();
      await store.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ------------------------------------------------------------------------------------------------- client

async function measure() {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const SUBSCRIBERS = Number(process.env.BENCH_SSE_SUBSCRIBERS ?? 1000);
  const MESSAGES = Number(process.env.BENCH_SSE_MESSAGES ?? (quick ? 12 : 20));
  const INTERVAL_MS = Number(process.env.BENCH_SSE_INTERVAL_MS ?? 250);
  const ROUNDS = Number(process.env.BENCH_SSE_ROUNDS ?? (quick ? 1 : 3));
  const WARMUP_MESSAGES = 4;
  const { child, ask } = forkBenchServer(fileURLToPath(import.meta.url), ['--server']);

  async function fanOut(port, path, messages = MESSAGES) {
    const subs = await openSubscribers(port, SUBSCRIBERS, path);
    await new Promise((r) => setTimeout(r, 200));
    const cpu0 = (await ask('cpu')).cpuMicros;
    const { publishTimes, drops } = await ask('generate', { messages, intervalMs: INTERVAL_MS });
    const expected = publishTimes.length;
    const deadline = performance.now() + 15_000;
    while (performance.now() < deadline && subs.some((s) => s.seqs.length < expected))
      await new Promise((r) => setTimeout(r, 20));
    const serverCpuMs = ((await ask('cpu')).cpuMicros - cpu0) / 1000;
    const published = new Map(publishTimes);
    const latencies = [];
    for (const s of subs)
      for (let i = 0; i < s.seqs.length; i += 1) {
        const at = published.get(s.seqs[i]);
        if (at !== undefined) latencies.push(s.times[i] - at);
      }
    for (const s of subs) {
      s.closing = true;
      s.req.destroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    return { latencies, events: expected, expected: expected * SUBSCRIBERS, serverCpuMs, dropped: drops.length };
  }

  function summarize(path, runs) {
    const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const sum = (k) => runs.reduce((a, r) => a + r[k], 0);
    const deliveries = latencies.length;
    return {
      path,
      subscribers: SUBSCRIBERS,
      runs: runs.length,
      messages: MESSAGES,
      intervalMs: INTERVAL_MS,
      eventsPublished: sum('events'),
      deliveries,
      expectedDeliveries: sum('expected'),
      dropped: sum('dropped'),
      serverCpuUsPerDelivery: (sum('serverCpuMs') * 1000) / Math.max(1, deliveries),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1),
    };
  }

  const out = { node: process.version, quick };
  try {
    const ready = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`bench server exited (${code}) before listening`)));
    });
    out.store = ready.store;
    console.log(
      `# SSE fan-out (node ${process.version}, ${quick ? 'quick' : 'full'}): ${SUBSCRIBERS} subscribers, ${MESSAGES} bursts of 6 events every ${INTERVAL_MS} ms, ${ROUNDS} interleaved round(s) after a warm-up of each route; log-backed surface over a ${ready.store.kind} store`,
    );
    // Warm-up, not counted: the first 1,000 connections and bursts of a fresh process pay JIT and allocation
    // costs that would otherwise land on whichever route runs first.
    for (const path of ['/mob/events', '/bare/events']) await fanOut(ready.port, path, WARMUP_MESSAGES);
    const runs = { router: [], bare: [] };
    for (let r = 0; r < ROUNDS; r += 1) {
      // Alternate which goes first, so drift on a shared machine hits both alike.
      const order = r % 2 === 0 ? ['router', 'bare'] : ['bare', 'router'];
      for (const kind of order) {
        const run = await fanOut(ready.port, kind === 'router' ? '/mob/events' : '/bare/events');
        runs[kind].push(run);
        const sorted = [...run.latencies].sort((x, y) => x - y);
        console.log(
          `  round ${r + 1} ${kind.padEnd(6)} p50 ${percentile(sorted, 50)?.toFixed(1)} ms p99 ${percentile(sorted, 99)?.toFixed(1)} ms (${sorted.length}/${run.expected})`,
        );
      }
    }
    const router = summarize('/mob/events', runs.router);
    const bare = summarize('/bare/events', runs.bare);
    const ratio = router.p99Ms / Math.max(bare.p99Ms, 0.001);
    out.sseFanout = { router, bare, p99Ratio: ratio, target: 1.1 };
    for (const s of [router, bare])
      console.log(
        `${s.path.padEnd(13)} ${s.deliveries}/${s.expectedDeliveries} deliveries, p50 ${s.p50Ms?.toFixed(1)} ms p99 ${s.p99Ms?.toFixed(1)} ms max ${s.maxMs?.toFixed(1)} ms, server CPU ${s.serverCpuUsPerDelivery.toFixed(2)} µs/delivery, ${s.dropped} dropped`,
      );
    console.log(`p99 ratio router / bare: ${ratio.toFixed(2)}× (target ≤ 1.10×) ${ratio <= 1.1 ? 'PASS' : 'MISS'}`);
  } catch (error) {
    out.error = String(error?.stack ?? error);
    console.log(`SSE fan-out benchmark failed: ${out.error}`);
  } finally {
    child.send({ cmd: 'stop' });
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 5000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  if (json) console.log(`@@bench-json ${JSON.stringify(out)}`);
}
