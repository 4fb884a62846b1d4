// The HTTP server of the `npm run bench` HTTP scenarios (not a test). Forked by bench/http.mjs so the load
// generator never shares this event loop. It boots a real UnifiedRuntime (TestClient, no modules) and serves,
// on 127.0.0.1 and port 0:
//   POST /bare            a bare Express JSON route: parses the JSON-RPC body and answers a constant
//                         `mobkit/status`-shaped result (the baseline);
//   POST /rpc             JSON-RPC over HTTP: the reference app router (`buildReferenceAppRouter`) serving
//                         `createRpcHandler(runtime)`;
//   POST /rpc on a second port: the same behind console auth (requireConsoleAuth, HS256; a client reusing its token);
//   GET  /mob/events      SSE of every member's agent events (`id: mob:<seq>`), the reference app router;
//   GET  /bare/events     the same frames from a bare Express SSE route (the machine's floor, for comparison).
// IPC from the parent: {cmd:'generate', messages, intervalMs} sends host messages to members at that pace and
// answers {publishTimes: [[seq, wallMs]…]} (publish time of each agent event, high-resolution wall clock)
// and the SSE streams the router dropped as slow meanwhile; {cmd:'cpu'}; {cmd:'stop'}.
import { performance } from 'node:perf_hooks';
import express from 'express';
import {
  MobBootstrapSpec,
  MobDefinition,
  SpawnMemberSpec,
  TestClient,
  UnifiedRuntime,
  createRpcHandler,
  buildRuntimeDecisionState,
} from 'mobkit';
import { buildReferenceAppRouter } from '@mobkit/reference-app';
import { referenceAppSurface } from 'mobkit/http';
import { AUTH_CONFIG, MOB_TOML, MEMBERS } from './http-shared.mjs';

const wallNow = () => performance.timeOrigin + performance.now();

const runtime = await UnifiedRuntime.bootstrap(
  MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
  { modules: [], discovery: { namespace: 'bench', modules: [] }, preSpawn: [] },
  5000,
);
await runtime.spawnMany(MEMBERS.map((id) => SpawnMemberSpec.fromWire('worker', id, null)));
const surface = referenceAppSurface(runtime);
// Publish time of every agent event, recorded by the first listener (registered before the routers' and the
// bare route's, so it runs before any frame is written).
let publishTimes = [];
surface.subscribeAgentEvents((e) => {
  publishTimes.push([e.seq, wallNow()]);
});
const rpc = createRpcHandler(runtime);
const decisionState = buildRuntimeDecisionState(AUTH_CONFIG);

const app = express();
app.disable('x-powered-by');
const STATUS = { contract_version: '0.2.0', running: true, loaded_modules: [], mob_state: 'Running' };
app.post('/bare', express.json(), (req, res) => {
  res.json({ jsonrpc: '2.0', id: req.body?.id ?? null, result: STATUS });
});

const drops = [];
// The SSE floor of this machine: a bare Express SSE route fed by the same agent events, each frame formatted
// once and written to every subscriber (no replay buffer, no backpressure handling, no auth).
const bareStreams = new Set();
surface.subscribeAgentEvents((e) => {
  if (bareStreams.size === 0) return;
  const frame = `id: mob:${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ member_id: e.memberId, source: 'agent', payload: e.payload, timestamp_ms: e.timestampMs })}\n\n`;
  for (const res of bareStreams) res.write(frame);
});
app.get('/bare/events', (req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.flushHeaders();
  bareStreams.add(res);
  req.on('close', () => bareStreams.delete(res));
});

// Two reference app routers over the same runtime, each mounted at `/` of its own Express app and port (so
// both pay exactly the same routing): this app without console auth (POST /rpc, GET /mob/events), and the
// auth app with it (POST /rpc). maxStreams is set explicitly (the default, 2048, also fits 1,000 subscribers).
const openState = buildRuntimeDecisionState({ ...AUTH_CONFIG, console: { requireAppAuth: false } });
const routerOptions = { rpcHandler: rpc, maxStreams: 1100, onStreamDropped: (info) => drops.push(info) };
app.use('/', buildReferenceAppRouter(surface, openState, routerOptions));
const authApp = express();
authApp.disable('x-powered-by');
authApp.use('/', buildReferenceAppRouter(surface, decisionState, routerOptions));
const via = 'reference-app';

const listen = (expressApp) =>
  new Promise((resolve) => {
    const srv = expressApp.listen(0, '127.0.0.1', () => resolve(srv));
    srv.keepAliveTimeout = 30_000;
  });
const server = await listen(app);
const authServer = await listen(authApp);
process.send({ port: server.address().port, authPort: authServer.address().port, via });

async function generate({ messages, intervalMs }) {
  publishTimes = [];
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < messages; i += 1) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      runtime
        .sendMessage(MEMBERS[i % MEMBERS.length], `bench message ${i}`)
        .catch((error) => ({ error: String(error?.message ?? error) })),
    );
  }
  const outcomes = await Promise.all(pending);
  await runtime.mobHandle().waitForIdle?.(30_000);
  await new Promise((r) => setTimeout(r, 50));
  return {
    publishTimes,
    failures: outcomes.filter((o) => o && typeof o === 'object' && 'error' in o).length,
    drops: drops.splice(0),
  };
}

process.on('message', async (m) => {
  if (m?.cmd === 'generate') process.send({ reply: 'generate', ...(await generate(m)) });
  else if (m?.cmd === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ reply: 'cpu', cpuMicros: user + system });
  } else if (m?.cmd === 'stop') {
    for (const srv of [server, authServer]) {
      srv.closeAllConnections?.();
      srv.close();
    }
    await runtime.shutdown();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
