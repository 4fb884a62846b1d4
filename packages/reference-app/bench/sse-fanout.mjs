// Benchmark (not a test): the reference app's SSE fan-out and console JSON against baselines measured in the
// same run. Run after a build: `node packages/reference-app/bench/sse-fanout.mjs` (or `npm run bench` here).
//
// 1. SSE fan-out: E agent events published to C clients of `GET /mob/events` (router: one encode per event,
//    backpressure checks, replay buffer) against a bare `node:http` SSE server writing the same pre-encoded
//    frames to C clients. Target: the router delivers at least 50 % of the baseline's frames per second.
// 2. `GET /console/experience` (live snapshot of 8 members, built per request) against a bare Express route
//    answering a precomputed body of the same size. Target: at least 50 % of the baseline's requests/s.
// Server and load generator share this process and the machine's 2 cores: read ratios, not absolutes.
import http from 'node:http';
import express from 'express';
import { buildRuntimeDecisionState } from '@mobkit/auth-policy';
import { MobDefinition, TestClient, createEmbeddedMob } from '@mobkit/mob-adapter';
import { buildReferenceAppRouter, formatSseFrame } from '../dist/index.js';

const CLIENTS = 50;
const EVENTS = 4000;
const ROUNDS = 3;
const HTTP_SECONDS = 3;

const decisions = buildRuntimeDecisionState({
  bigquery: { dataset: 'bench', table: 'bench' },
  trustedMobkitToml: '[[modules]]\nid = "router"\ncommand = "true"\n',
  trustedOidc: {
    discoveryJson: '{"issuer":"http://127.0.0.1:9","jwks_uri":"http://127.0.0.1:9/jwks.json"}',
    jwksJson: '{"keys":[{"kid":"k","kty":"oct","alg":"HS256","k":"YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC1iZW5jaA"}]}',
    audience: 'meerkat-console',
  },
  console: { requireAppAuth: false },
  releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
});

const mob = await createEmbeddedMob(
  MobDefinition.fromToml(
    '[mob]\nid = "bench"\n[profiles.lead]\nmodel = "m"\nexternal_addressable = true\ntools = { comms = true }\n[profiles.worker]\nmodel = "m"\nexternal_addressable = true\ntools = { comms = true }\n',
  ),
  { llm: new TestClient() },
);
await mob.spawnMany([
  { profile: 'lead', meerkatId: 'lead-1' },
  ...Array.from({ length: 7 }, (_, i) => ({
    profile: 'worker',
    meerkatId: `worker-${i + 1}`,
    labels: { group: 'crew' },
  })),
]);

// The surface: the real mob for the roster; agent events are published by the benchmark so their rate is
// not bound by the mob's own pace.
const listeners = new Set();
let seq = 0;
const surface = {
  mobId: () => mob.mobId,
  mobStatus: () => mob.status(),
  profiles: () =>
    Object.values(mob.definition.profiles).map((p) => ({
      name: p.name,
      model: p.model,
      externalAddressable: p.externalAddressable,
      peerDescription: p.peerDescription,
    })),
  listMembers: () => mob.listMembers(),
  getMember: (id) => mob.getMember(id),
  sendMessage: (id, text) => mob.sendMessage(id, text),
  loadedModules: () => ['router'],
  isRunning: () => true,
  moduleHealthTransitions: () => [{ moduleId: 'router', from: null, to: 'Healthy', attempt: 1 }],
  events: () => [],
  subscribe: () => () => undefined,
  subscribeAgentEvents: (fn) => {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};
const makeEvent = () => ({
  memberId: 'worker-1',
  seq: ++seq,
  timestampMs: Date.now(),
  type: 'text_delta',
  payload: { type: 'text_delta', delta: 'a token of text ' },
});

const streams = new AbortController();
const app = express();
app.use(
  buildReferenceAppRouter(surface, decisions, {
    rpcHandler: { handleText: async () => undefined },
    signal: streams.signal,
  }),
);
const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
const routerServer = http.createServer(app);
const routerUrl = await listen(routerServer);

// Baseline SSE server: bare node:http, the same frames, pre-encoded.
const baseClients = new Set();
const baseServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  res.write(': connected\n\n');
  baseClients.add(res);
  res.on('close', () => baseClients.delete(res));
});
const baseUrl = await listen(baseServer);

/** Opens `n` SSE clients; resolves when all are connected; each counts frames (`\n\n` after a data line). */
async function openClients(url, n) {
  const clients = [];
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const c = { frames: 0, req: undefined };
          c.req = http.get(url, { agent: false }, (res) => {
            res.setEncoding('utf8');
            let connected = false;
            res.on('data', (chunk) => {
              if (!connected && chunk.includes(': connected')) {
                connected = true;
                resolve();
              }
              for (let i = chunk.indexOf('\ndata: '); i >= 0; i = chunk.indexOf('\ndata: ', i + 1)) c.frames++;
            });
          });
          c.req.on('error', reject);
          clients.push(c);
        }),
    ),
  );
  return clients;
}

async function fanout(kind) {
  const clients = await openClients(kind === 'router' ? `${routerUrl}/mob/events` : `${baseUrl}/`, CLIENTS);
  const start = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) {
    const e = makeEvent();
    if (kind === 'router') for (const fn of listeners) fn(e);
    else {
      const text = formatSseFrame({
        id: `mob:${e.seq}`,
        event: e.type,
        data: JSON.stringify({
          member_id: e.memberId,
          source: 'agent',
          payload: e.payload,
          timestamp_ms: e.timestampMs,
        }),
      });
      for (const res of baseClients) res.write(text);
    }
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  while (clients.some((c) => c.frames < EVENTS)) await new Promise((r) => setTimeout(r, 2));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const c of clients) c.req.destroy();
  await new Promise((r) => setTimeout(r, 50));
  return (EVENTS * CLIENTS) / seconds;
}

/** Requests per second of `url` over keep-alive connections for `seconds`. */
async function rps(url, seconds, connections = 16) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      await new Promise((resolve, reject) => {
        http
          .get(url, { agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject);
      });
      done++;
    }
  };
  const start = Date.now();
  await Promise.all(Array.from({ length: connections }, worker));
  agent.destroy();
  return done / ((Date.now() - start) / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const verdict = (ratio, target) => (ratio >= target ? 'PASS' : 'MISS');

console.log(`SSE fan-out: ${EVENTS} events × ${CLIENTS} clients, ${ROUNDS} interleaved rounds`);
const routerRates = [];
const baseRates = [];
for (let r = 0; r < ROUNDS; r++) {
  baseRates.push(await fanout('baseline'));
  routerRates.push(await fanout('router'));
  console.log(
    `  round ${r + 1}: router ${fmt(routerRates.at(-1))} frames/s, bare node:http ${fmt(baseRates.at(-1))} frames/s`,
  );
}
const fanRatio = median(routerRates) / median(baseRates);
console.log(
  `  median: router ${fmt(median(routerRates))} vs baseline ${fmt(median(baseRates))} frames/s → ratio ${fanRatio.toFixed(2)} (target ≥ 0.50) ${verdict(fanRatio, 0.5)}`,
);

const experienceBody = JSON.stringify(await (await fetch(`${routerUrl}/console/experience`)).json());
const bare = express();
bare.get('/json', (_req, res) => res.set('cache-control', 'no-store').type('application/json').send(experienceBody));
const bareServer = http.createServer(bare);
const bareUrl = await listen(bareServer);
console.log(
  `GET /console/experience (${experienceBody.length} bytes, 8 members) vs a bare Express route with the same body, ${HTTP_SECONDS} s each`,
);
const expRates = [];
const bareRates = [];
for (let r = 0; r < 2; r++) {
  bareRates.push(await rps(`${bareUrl}/json`, HTTP_SECONDS));
  expRates.push(await rps(`${routerUrl}/console/experience`, HTTP_SECONDS));
  console.log(`  round ${r + 1}: experience ${fmt(expRates.at(-1))} req/s, bare ${fmt(bareRates.at(-1))} req/s`);
}
const expRatio = Math.max(...expRates) / Math.max(...bareRates);
console.log(
  `  best: experience ${fmt(Math.max(...expRates))} vs bare ${fmt(Math.max(...bareRates))} req/s → ratio ${expRatio.toFixed(2)} (target ≥ 0.50) ${verdict(expRatio, 0.5)}`,
);

streams.abort();
for (const s of [routerServer, baseServer, bareServer]) {
  s.closeAllConnections();
  s.close();
}
await mob.close();
