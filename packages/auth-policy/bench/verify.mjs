// Benchmark (not a test): token verifications per second through a warm JwksCache, and the cost of
// requireConsoleAuth on a JSON route over loopback HTTP against the same route without it.
// Run after a build: `npm run build` (or nx), then `node packages/auth-policy/bench/verify.mjs`.
// The HTTP server runs in a child process so the load generator does not share its event loop.
import { fork } from 'node:child_process';
import { createServer, request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const distUrl = new URL('../dist/index.js', import.meta.url);
const expressDistUrl = new URL('../dist/express.js', import.meta.url);
const TARGET_OVERHEAD = 0.2;
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const VERIFY_MS = Number(process.env.BENCH_VERIFY_MS ?? 2000);
const HTTP_MS = Number(process.env.BENCH_HTTP_MS ?? 6000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function makeKeys() {
  const hsSecret = new TextEncoder().encode('bench-hs256-secret-with-plenty-of-entropy-0123456789');
  const rs = await generateKeyPair('RS256', { extractable: true });
  const es = await generateKeyPair('ES256', { extractable: true });
  return {
    HS256: {
      kid: 'hs',
      sign: hsSecret,
      jwk: { kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.from(hsSecret).toString('base64url') },
    },
    RS256: { kid: 'rs', sign: rs.privateKey, jwk: { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256' } },
    ES256: { kid: 'es', sign: es.privateKey, jwk: { ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256' } },
  };
}

function token(key, alg, claims) {
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid }).sign(key.sign);
}

// ---- child: the HTTP server ------------------------------------------------------------------
if (process.argv[2] === 'serve') {
  const { default: express } = await import('express');
  const { buildRuntimeDecisionState } = await import(distUrl.href);
  const { requireConsoleAuth } = await import(expressDistUrl.href);
  const config = JSON.parse(process.argv[3]);
  const state = buildRuntimeDecisionState(config);
  const app = express();
  const payload = { contract_version: '0.2.0', modules: state.modules.map((m) => m.id), ok: true };
  const handler = (req, res) => res.json({ ...payload, caller: req.mobkitIdentity?.email ?? 'ops@example.com' });
  app.get('/plain', handler);
  app.get('/auth', requireConsoleAuth(state), handler);
  app.get('/auth-nocache', requireConsoleAuth(state, { verifiedTokenCacheSize: 0 }), handler);
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'stop') server.close(() => process.exit(0));
    if (m === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send({ cpuMicros: user + system });
    }
  });
  server.keepAliveTimeout = 30_000;
} else {
  await main();
}

async function measureVerify(cache, tok) {
  await cache.verify(tok); // warm: discovery + JWKS fetched, key imported (the verified-token memory is off: full work each time)
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < VERIFY_MS) {
    for (let i = 0; i < 100; i++) await cache.verify(tok);
    n += 100;
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

function load(port, path, headers, ms, tokens) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let done = 0;
  let bad = 0;
  const deadline = performance.now() + ms;
  let next = 0;
  const one = () =>
    new Promise((resolve) => {
      const h = tokens === undefined ? headers : { authorization: `Bearer ${tokens[next++ % tokens.length]}` };
      const req = request({ host: '127.0.0.1', port, path, headers: h, agent }, (res) => {
        if (res.statusCode !== 200) bad++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        bad++;
        resolve();
      });
      req.end();
    });
  const worker = async () => {
    while (performance.now() < deadline) {
      await one();
      done++;
    }
  };
  const start = performance.now();
  return Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => {
    agent.destroy();
    return { rps: (done / (performance.now() - start)) * 1000, bad, done };
  });
}

async function main() {
  const { JwksCache } = await import(distUrl.href);
  const keys = await makeKeys();
  const now = Math.floor(Date.now() / 1000);

  // A loopback OIDC provider for the cache.
  let base = '';
  const idp = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks.json` }));
    else if (req.url === '/jwks.json') res.end(JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));
    else res.writeHead(404).end();
  });
  await new Promise((r) => idp.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${idp.address().port}`;
  const cache = new JwksCache({
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    audience: 'bench',
    verifiedTokenCacheSize: 0,
  });
  const rememberingCache = new JwksCache({
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    audience: 'bench',
  });

  console.log(
    `# @mobkit/auth-policy benchmark (node ${process.version}, ${VERIFY_MS} ms per verification run, ${HTTP_MS} ms per HTTP variant in ${ROUNDS} rounds, concurrency ${CONCURRENCY})`,
  );
  console.log('## verifications per second through a warm JwksCache (sequential awaits, one core)');
  const rates = {};
  let hsToken;
  for (const alg of ['HS256', 'RS256', 'ES256']) {
    const tok = await token(keys[alg], alg, { iss: base, aud: 'bench', sub: 'u', exp: now + 3600 });
    if (alg === 'HS256') hsToken = tok;
    rates[alg] = await measureVerify(cache, tok);
  }
  for (const alg of ['HS256', 'RS256', 'ES256']) {
    console.log(
      `${alg.padEnd(6)} ${rates[alg].toFixed(0).padStart(8)} verifications/s  (${(1e6 / rates[alg]).toFixed(1)} µs each; ratio to HS256 ${(rates[alg] / rates.HS256).toFixed(2)})`,
    );
  }
  const repeated = await measureVerify(rememberingCache, hsToken);
  console.log(
    `HS256, same token again (verified-token memory on; claims re-checked) ${repeated.toFixed(0).padStart(8)} verifications/s  (ratio to full HS256 ${(repeated / rates.HS256).toFixed(1)})`,
  );
  const stats = cache.stats();
  console.log(
    `cache requests during the run: discovery ${stats.discoveryRequests}, jwks ${stats.jwksRequests} (expected 1 and 1: warm cache)`,
  );
  idp.close();

  // Middleware cost over loopback HTTP (HS256 console token; localhost-class issuer).
  const issuer = 'http://127.0.0.1:9';
  const config = {
    bigquery: { dataset: 'bench_ds', table: 'bench_table' },
    trustedMobkitToml: '[[modules]]\nid = "router"\ncommand = "router-bin"\n',
    auth: { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com'] },
    trustedOidc: {
      discoveryJson: JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }),
      jwksJson: JSON.stringify({ keys: [keys.HS256.jwk] }),
      audience: 'meerkat-console',
    },
    console: { requireAppAuth: true },
    releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
  };
  const consoleToken = await token(keys.HS256, 'HS256', {
    iss: issuer,
    aud: 'meerkat-console',
    email: 'ops@example.com',
    provider: 'google_oauth',
    exp: now + 3600,
  });
  const child = fork(new URL(import.meta.url).pathname, ['serve', JSON.stringify(config)], {
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
    stdio: 'inherit',
  });
  try {
    const { port } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const authHeaders = { authorization: `Bearer ${consoleToken}` };
    // Distinct tokens (4096, cycled; more than the 1024 remembered) so every request does the full verification.
    const distinct = await Promise.all(
      Array.from({ length: 4096 }, (_, i) =>
        token(keys.HS256, 'HS256', {
          iss: issuer,
          aud: 'meerkat-console',
          email: 'ops@example.com',
          provider: 'google_oauth',
          exp: now + 3600,
          jti: `t${i}`,
        }),
      ),
    );
    await load(port, '/plain', authHeaders, 500); // warm-up every route
    await load(port, '/auth', authHeaders, 500);
    await load(port, '/auth-nocache', {}, 500, distinct);
    // Short interleaved rounds in rotating order; each round's cost is measured against the baseline of the same
    // round and the median across rounds is reported, so load from other processes on the machine cancels out.
    const plain = [];
    const auth = [];
    const full = [];
    // Server CPU time (user + system, all its threads) per request: steadier than throughput on a busy machine.
    const serverCpu = () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m.cpuMicros));
        child.send('cpu');
      });
    const withCpu = async (run) => {
      const before = await serverCpu();
      const r = await run();
      r.cpuPerRequest = ((await serverCpu()) - before) / Math.max(1, r.done);
      return r;
    };
    const variants = [
      // The baseline sends the same Authorization header, so only the middleware's work differs.
      [plain, () => withCpu(() => load(port, '/plain', authHeaders, HTTP_MS / ROUNDS))],
      [auth, () => withCpu(() => load(port, '/auth', authHeaders, HTTP_MS / ROUNDS))],
      [full, () => withCpu(() => load(port, '/auth-nocache', {}, HTTP_MS / ROUNDS, distinct))],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < variants.length; i++) {
        const [into, run] = variants[(i + round) % variants.length];
        into.push(await run());
      }
    }
    const mean = (xs) => xs.reduce((a, b) => a + b.rps, 0) / xs.length;
    const median = (xs) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const bad = [...plain, ...auth, ...full].reduce((a, b) => a + b.bad, 0);
    const plainRps = mean(plain);
    const authRps = mean(auth);
    const fullRps = mean(full);
    // Cost per request relative to the bare route, per round (same load conditions), median across rounds:
    // server CPU µs per request (the verdict) and wall-clock throughput (plain rps / auth rps − 1, for reference).
    const cpuOverhead = median(plain.map((p, i) => auth[i].cpuPerRequest / p.cpuPerRequest - 1));
    const cpuFullOverhead = median(plain.map((p, i) => full[i].cpuPerRequest / p.cpuPerRequest - 1));
    const overhead = median(plain.map((p, i) => p.rps / auth[i].rps - 1));
    const fullOverhead = median(plain.map((p, i) => p.rps / full[i].rps - 1));
    const cpu = (xs) =>
      median(xs.map((x) => x.cpuPerRequest))
        .toFixed(0)
        .padStart(5);
    console.log('## JSON route over loopback HTTP, Express 5, keep-alive (server in a child process)');
    console.log(
      `baseline  GET /plain same handler and header, no middleware           ${plainRps.toFixed(0).padStart(6)} req/s  server CPU ${cpu(plain)} µs/req`,
    );
    console.log(
      `measured  GET /auth  requireConsoleAuth, HS256, a client's token      ${authRps.toFixed(0).padStart(6)} req/s  server CPU ${cpu(auth)} µs/req  ratio ${(authRps / plainRps).toFixed(3)}`,
    );
    console.log(
      `measured  GET /auth  requireConsoleAuth, HS256, a new token each time ${fullRps.toFixed(0).padStart(6)} req/s  server CPU ${cpu(full)} µs/req  ratio ${(fullRps / plainRps).toFixed(3)}`,
    );
    const verdict = (x) => (x < TARGET_OVERHEAD ? 'PASS' : 'MISS');
    console.log(
      `middleware cost, a console client reusing its token:  CPU ${pct(cpuOverhead)}, throughput ${pct(overhead)} per request (target < ${TARGET_OVERHEAD * 100}%): ${verdict(cpuOverhead)}`,
    );
    console.log(
      `middleware cost, full verification on every request:   CPU ${pct(cpuFullOverhead)}, throughput ${pct(fullOverhead)} per request (target < ${TARGET_OVERHEAD * 100}%): ${verdict(cpuFullOverhead)}`,
    );
    if (bad > 0) console.log(`warning: ${bad} non-200 responses`);
    // `--json`: also print one machine-readable line `@@bench-json {…}` at the end, for `npm run bench`.
    if (process.argv.includes('--json')) {
      const metrics = {
        verificationsPerSec: { ...rates, HS256Remembered: repeated },
        http: {
          plainRps,
          authRps,
          fullRps,
          cpuOverhead,
          cpuFullOverhead,
          throughputOverhead: overhead,
          fullThroughputOverhead: fullOverhead,
          bad,
        },
      };
      console.log(`@@bench-json ${JSON.stringify({ node: process.version, metrics })}`);
    }
  } finally {
    child.send('stop');
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill();
        r();
      }, 2000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
}
