// HTTP scenarios of `npm run bench` (not a test): JSON-RPC `mobkit/status` over HTTP against a bare Express
// JSON route, the same behind console auth (HS256) against it without, and SSE fan-out of agent events to many
// subscribers against one. The server runs in a child process (bench/http-server.mjs); load comes from
// autocannon (JSON-RPC) and plain http clients (SSE) in this process, all on 127.0.0.1.
// Run: `node bench/http.mjs [--quick] [--json]` after a build. Exits 0 either way.
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { consoleToken, forkBenchServer, openSubscribers, percentile, wallNow } from './http-shared.mjs';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? (quick ? 3 : 10));
const ROUND_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? (quick ? 2 : 3));
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 16);
const SUBSCRIBERS = Number(process.env.BENCH_SSE_SUBSCRIBERS ?? 1000);
// Each host message to a TestClient member publishes a burst of 6 agent events (run_started … run_completed).
const SSE_MESSAGES = Number(process.env.BENCH_SSE_MESSAGES ?? (quick ? 12 : 20));
const SSE_INTERVAL_MS = Number(process.env.BENCH_SSE_INTERVAL_MS ?? 250);
const SSE_ROUNDS = Number(process.env.BENCH_SSE_ROUNDS ?? (quick ? 1 : 3));
// Capacity: this many host messages sent at once; deliveries/s until every subscriber has every event.
const SSE_BURST = Number(process.env.BENCH_SSE_BURST ?? 16);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const { child, ask } = forkBenchServer(fileURLToPath(new URL('./http-server.mjs', import.meta.url)));

function cannon(port, path, headers, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}${path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'mobkit/status' }),
        connections: CONNECTIONS,
        duration: seconds,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function checkRoute(port, path, headers) {
  const body = await new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'mobkit/status' }));
  });
  const parsed = JSON.parse(body.text);
  if (body.status !== 200 || parsed.result?.contract_version === undefined)
    throw new Error(`${path} answered ${body.status} ${body.text.slice(0, 200)}`);
  return parsed.result;
}

async function benchRpc(port, authPort) {
  const token = await consoleToken();
  const auth = { authorization: `Bearer ${token}` };
  // Every variant gets the same Authorization header, so only the work behind the route differs.
  const variants = { bare: [port, '/bare'], rpc: [port, '/rpc'], auth: [authPort, '/rpc'] };
  const statusResult = await checkRoute(port, '/rpc', auth);
  await checkRoute(port, '/bare', auth);
  await checkRoute(authPort, '/rpc', auth);
  const noAuthRefused = await new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: authPort,
        path: '/rpc',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 401);
      },
    );
    req.end('{}');
  });
  if (!noAuthRefused) throw new Error('the auth server answered a request without a token: auth is not on');
  for (const [p, path] of Object.values(variants)) await cannon(p, path, auth, 1); // warm-up
  const rounds = { bare: [], rpc: [], auth: [] };
  const names = Object.keys(variants);
  for (let r = 0; r < ROUNDS; r += 1) {
    // Rotating order, so load from other processes on a shared machine hits every variant alike.
    for (let i = 0; i < names.length; i += 1) {
      const name = names[(i + r) % names.length];
      const cpu0 = (await ask('cpu')).cpuMicros;
      const res = await cannon(...variants[name], auth, ROUND_SECONDS);
      const cpuUs = (await ask('cpu')).cpuMicros - cpu0;
      rounds[name].push({
        rps: res.requests.average,
        p99: res.latency.p99,
        non2xx: res.non2xx,
        errors: res.errors + res.timeouts,
        total: res.requests.total,
        cpuUsPerRequest: cpuUs / Math.max(1, res.requests.total),
      });
    }
  }
  // req/s: the mean over the rounds (every variant gets the same total time); p99: the median round's.
  const mean = (ys) => ys.reduce((a, y) => a + y, 0) / ys.length;
  const summary = (xs) => ({
    rps: mean(xs.map((x) => x.rps)),
    p99Ms: median(xs.map((x) => x.p99)),
    cpuUsPerRequest: median(xs.map((x) => x.cpuUsPerRequest)),
    perRoundRps: xs.map((x) => Math.round(x.rps)),
    non2xx: xs.reduce((a, x) => a + x.non2xx, 0),
    errors: xs.reduce((a, x) => a + x.errors, 0),
  });
  return {
    rounds: ROUNDS,
    roundSeconds: ROUND_SECONDS,
    connections: CONNECTIONS,
    loadedModules: statusResult.loaded_modules,
    bare: summary(rounds.bare),
    rpc: summary(rounds.rpc),
    auth: summary(rounds.auth),
    // The verdict: ratio of the mean req/s over the interleaved rounds. For reference, the median of the
    // per-round ratios (each round's variants ran back to back under the same load).
    rpcOverBare: mean(rounds.rpc.map((x) => x.rps)) / mean(rounds.bare.map((x) => x.rps)),
    authOverRpc: mean(rounds.auth.map((x) => x.rps)) / mean(rounds.rpc.map((x) => x.rps)),
    rpcOverBareMedianRound: median(rounds.rpc.map((x, i) => x.rps / rounds.bare[i].rps)),
    authOverRpcMedianRound: median(rounds.auth.map((x, i) => x.rps / rounds.rpc[i].rps)),
    // Server CPU time per request relative to the baseline (steadier than req/s on a busy machine).
    rpcCpuOverBare: median(rounds.rpc.map((x, i) => x.cpuUsPerRequest / rounds.bare[i].cpuUsPerRequest)),
    authCpuOverRpc: median(rounds.auth.map((x, i) => x.cpuUsPerRequest / rounds.rpc[i].cpuUsPerRequest)),
  };
}

async function fanOut(port, n, path = '/mob/events', messages = SSE_MESSAGES, intervalMs = SSE_INTERVAL_MS) {
  const subs = await openSubscribers(port, n, path);
  await new Promise((r) => setTimeout(r, 200));
  const t0 = wallNow();
  const serverCpu0 = (await ask('cpu')).cpuMicros;
  const clientCpu0 = process.cpuUsage();
  const { publishTimes, failures, drops } = await ask('generate', { messages, intervalMs });
  // Wait (bounded) until every subscriber has every event.
  const expected = publishTimes.length;
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline && subs.some((s) => s.seqs.length < expected))
    await new Promise((r) => setTimeout(r, 20));
  // CPU time spent while events flowed (server: runtime + fan-out; client: this process parsing the streams).
  const serverCpuMs = ((await ask('cpu')).cpuMicros - serverCpu0) / 1000;
  const clientCpu = process.cpuUsage(clientCpu0);
  const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
  const published = new Map(publishTimes);
  const latencies = [];
  let lastReceipt = t0;
  let delivered = 0;
  for (const s of subs) {
    for (let i = 0; i < s.seqs.length; i += 1) {
      const at = published.get(s.seqs[i]);
      if (at === undefined) continue;
      delivered += 1;
      latencies.push(s.times[i] - at);
      if (s.times[i] > lastReceipt) lastReceipt = s.times[i];
    }
  }
  for (const s of subs) {
    s.closing = true;
    s.req.destroy();
  }
  const firstPublish = publishTimes.length ? Math.min(...publishTimes.map((p) => p[1])) : t0;
  await new Promise((r) => setTimeout(r, 300));
  return {
    path,
    n,
    messages,
    intervalMs,
    latencies,
    delivered,
    expected: expected * n,
    events: expected,
    seconds: (lastReceipt - firstPublish) / 1000,
    serverCpuMs,
    clientCpuMs,
    failures,
    dropped: drops?.length ?? 0,
  };
}

/** Pools the runs of one variant: deliveries/s over the summed time, latency percentiles over every delivery. */
function summarize(runs) {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const sum = (k) => runs.reduce((a, r) => a + r[k], 0);
  const delivered = sum('delivered');
  return {
    path: runs[0].path,
    subscribers: runs[0].n,
    runs: runs.length,
    messages: runs[0].messages,
    intervalMs: runs[0].intervalMs,
    eventsPublished: sum('events'),
    deliveries: delivered,
    expectedDeliveries: sum('expected'),
    failures: sum('failures'),
    dropped: sum('dropped'),
    serverCpuUsPerDelivery: (sum('serverCpuMs') * 1000) / Math.max(1, delivered),
    clientCpuUsPerDelivery: (sum('clientCpuMs') * 1000) / Math.max(1, delivered),
    seconds: sum('seconds'),
    deliveriesPerSec: delivered / sum('seconds'),
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
  out.via = ready.via;
  console.log(
    `# HTTP scenarios (node ${process.version}, ${quick ? 'quick' : 'full'}; server via ${ready.via}; ${ROUNDS} rounds × ${ROUND_SECONDS} s per variant, ${CONNECTIONS} connections)`,
  );
  const rpc = await benchRpc(ready.port, ready.authPort);
  out.rpc = rpc;
  console.log(
    `bare Express JSON route   ${rpc.bare.rps.toFixed(0).padStart(7)} req/s  p99 ${rpc.bare.p99Ms} ms  server CPU ${rpc.bare.cpuUsPerRequest.toFixed(0)} µs/req`,
  );
  console.log(
    `JSON-RPC mobkit/status    ${rpc.rpc.rps.toFixed(0).padStart(7)} req/s  p99 ${rpc.rpc.p99Ms} ms  ratio ${rpc.rpcOverBare.toFixed(3)} (target ≥ 0.8)  server CPU ${rpc.rpc.cpuUsPerRequest.toFixed(0)} µs/req`,
  );
  console.log(
    `same, console auth HS256  ${rpc.auth.rps.toFixed(0).padStart(7)} req/s  p99 ${rpc.auth.p99Ms} ms  ratio to no auth ${rpc.authOverRpc.toFixed(3)} (target ≥ 0.8)  server CPU ${rpc.auth.cpuUsPerRequest.toFixed(0)} µs/req`,
  );
  if (rpc.bare.non2xx + rpc.rpc.non2xx + rpc.auth.non2xx + rpc.bare.errors + rpc.rpc.errors + rpc.auth.errors > 0)
    console.log('warning: non-2xx responses or errors during the load');
  // Interleaved rounds (one subscriber, many through the reference app, many from a bare SSE route).
  const runs = { one: [], many: [], bare: [] };
  for (let r = 0; r < SSE_ROUNDS; r += 1) {
    runs.one.push(await fanOut(ready.port, 1));
    runs.many.push(await fanOut(ready.port, SUBSCRIBERS));
    runs.bare.push(await fanOut(ready.port, SUBSCRIBERS, '/bare/events'));
  }
  const [one, many, bare] = [summarize(runs.one), summarize(runs.many), summarize(runs.bare)];
  const burst = summarize([await fanOut(ready.port, SUBSCRIBERS, '/mob/events', SSE_BURST, 0)]);
  const bareBurst = summarize([await fanOut(ready.port, SUBSCRIBERS, '/bare/events', SSE_BURST, 0)]);
  out.sse = { one, many, bare, burst, bareBurst };
  console.log(
    `SSE capacity (${SSE_BURST} host messages at once): reference app ${burst.deliveriesPerSec.toFixed(0)} deliveries/s (${burst.deliveries}/${burst.expectedDeliveries}), bare route ${bareBurst.deliveriesPerSec.toFixed(0)} deliveries/s (${bareBurst.deliveries}/${bareBurst.expectedDeliveries})`,
  );
  for (const s of [one, many, bare]) {
    console.log(
      `SSE ${s.path}, ${String(s.subscribers).padStart(4)} subscriber(s): ${s.eventsPublished} events, ${s.deliveries}/${s.expectedDeliveries} deliveries, ${s.deliveriesPerSec.toFixed(0)} deliveries/s, latency p50 ${s.p50Ms?.toFixed(1)} ms p99 ${s.p99Ms?.toFixed(1)} ms max ${s.maxMs?.toFixed(1)} ms; CPU µs per delivery: server ${s.serverCpuUsPerDelivery.toFixed(1)}, client ${s.clientCpuUsPerDelivery.toFixed(1)}`,
    );
  }
} catch (error) {
  out.error = String(error?.stack ?? error);
  console.log(`HTTP benchmark failed: ${out.error}`);
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
process.exit(0);
