import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireConsoleAuth, requireJwt } from '../src/express.js';
import { JwksCache, buildRuntimeDecisionState, type RuntimeDecisionState } from '../src/index.js';
import {
  b64,
  makeKey,
  nowSeconds,
  seedDecisionInputs,
  sign,
  startOidcServer,
  trustedOidcFor,
  type OidcServer,
  type TestKey,
} from './helpers.js';

const servers: Server[] = [];
let oidc: OidcServer;
let rs: TestKey;
let hs: TestKey;
let state: RuntimeDecisionState;
let consoleUrl: string;
let openUrl: string;
let apiUrl: string;
const refusals: string[] = [];

async function listen(app: express.Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function consoleApp(decisions: RuntimeDecisionState, onRefused?: (reason: string) => void): express.Express {
  const app = express();
  app.use('/console', requireConsoleAuth(decisions, { onRefused: (_req, reason) => onRefused?.(reason) }));
  app.get('/console/modules', (req, res) => {
    res.json({
      contract_version: '0.2.0',
      modules: decisions.modules.map((m) => m.id),
      caller:
        req.mobkitIdentity === undefined
          ? null
          : { email: req.mobkitIdentity.email, provider: req.mobkitIdentity.provider },
      same_on_locals: res.locals.mobkitIdentity === req.mobkitIdentity,
    });
  });
  return app;
}

const issuer = 'http://127.0.0.1:9';
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: issuer,
  aud: 'meerkat-console',
  exp: nowSeconds() + 300,
  email: 'ops@example.com',
  provider: 'google_oauth',
  ...extra,
});

beforeAll(async () => {
  rs = await makeKey('RS256', 'rs-1');
  hs = await makeKey('HS256', 'hs-1');
  state = buildRuntimeDecisionState({
    ...seedDecisionInputs(),
    auth: { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com', 'svc:cron'] },
    console: { requireAppAuth: true },
    trustedOidc: trustedOidcFor([rs.jwk, hs.jwk], issuer),
  });
  consoleUrl = await listen(consoleApp(state, (r) => refusals.push(r)));
  openUrl = await listen(consoleApp(buildRuntimeDecisionState(seedDecisionInputs())));

  oidc = await startOidcServer([rs.jwk]);
  const cache = new JwksCache({ discoveryUrl: oidc.discoveryUrl, audience: 'api' });
  const api = express();
  api.get('/api/me', requireJwt(cache), (req, res) => {
    res.json({ sub: req.mobkitJwt?.subject, aud: res.locals.mobkitJwt?.audience });
  });
  apiUrl = await listen(api);
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await oidc?.close();
});

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
}

describe('requireConsoleAuth over real HTTP', () => {
  it('accepts a Bearer token and puts the identity on req and res.locals', async () => {
    const r = await get(`${consoleUrl}/console/modules`, { authorization: `Bearer ${await sign(rs, claims())}` });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      contract_version: '0.2.0',
      modules: ['router', 'delivery', 'scheduling'],
      caller: { email: 'ops@example.com', provider: 'google_o_auth' },
      same_on_locals: true,
    });
  });

  it('accepts ?auth_token= (URL-encoded) and service identities', async () => {
    const token = await sign(hs, claims({ email: undefined, sub: 'svc:cron' }));
    const r = await get(`${consoleUrl}/console/modules?x=1&auth_token=${encodeURIComponent(token)}`);
    expect(r.status).toBe(200);
    expect(r.body.caller).toEqual({ email: 'svc:cron', provider: 'service_identity' });
  });

  it('refuses with 401 {"error":"unauthorized","reason":…} for each failure, never a 500', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{}, '', 'missing_credentials'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, '', 'missing_credentials'],
      [{ authorization: `Bearer ${b64({ alg: 'none' })}.${b64(claims())}.` }, '', 'invalid_token_header'],
      [{}, `?auth_token=${b64('{"alg"')}.${b64(claims())}.c2ln`, 'invalid_token_header'],
      [{ authorization: `Bearer ${await sign(await makeKey('RS256', 'nobody'), claims())}` }, '', 'jwks_key_not_found'],
      [{ authorization: `Bearer ${await sign(rs, claims({ exp: nowSeconds() - 120 }))}` }, '', 'invalid_token'],
      [{ authorization: `Bearer ${await sign(rs, claims({ aud: 'elsewhere' }))}` }, '', 'invalid_token'],
      [{ authorization: `Bearer ${await sign(rs, claims({ email: undefined }))}` }, '', 'missing_token_identity'],
      [{ authorization: `Bearer ${await sign(rs, claims({ provider: 'github_oauth' }))}` }, '', 'provider_mismatch'],
      [
        { authorization: `Bearer ${await sign(rs, claims({ email: 'eve@example.com' }))}` },
        '',
        'email_not_allowlisted',
      ],
      [
        { authorization: `Bearer ${await sign(rs, claims({ email: 'bot', actor_type: 'service' }))}` },
        '',
        'invalid_service_identity',
      ],
      [
        { authorization: `Bearer ${await sign(rs, claims({ email: 'svc:other' }))}` },
        '',
        'service_identity_not_allowlisted',
      ],
    ];
    refusals.length = 0;
    for (const [headers, query, reason] of cases) {
      const r = await get(`${consoleUrl}/console/modules${query}`, headers);
      expect([reason, r.status, r.body]).toEqual([reason, 401, { error: 'unauthorized', reason }]);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect(refusals).toEqual(cases.map((c) => c[2]));
  });

  it('an oversized token: Node itself answers 431 past 16 KiB of headers; the middleware refuses >16 KiB when a server allows more', async () => {
    const big = await sign(rs, claims({ pad: 'p'.repeat(17_000) }));
    expect((await get(`${consoleUrl}/console/modules`, { authorization: `Bearer ${big}` })).status).toBe(431);
    const app = consoleApp(state);
    const { createServer } = await import('node:http');
    const server = createServer({ maxHeaderSize: 64 * 1024 }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const r = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/console/modules`, {
      authorization: `Bearer ${big}`,
    });
    expect([r.status, r.body]).toEqual([401, { error: 'unauthorized', reason: 'invalid_token' }]);
  });

  it('a .local trusted issuer refuses HS256 with hs256_not_allowed', async () => {
    const seedKey = await makeKey('HS256', 'kid-current', true, 'phase7-trusted-current-secret');
    const strict = buildRuntimeDecisionState({
      ...seedDecisionInputs(),
      auth: { emailAllowlist: ['ops@example.com'] },
      console: { requireAppAuth: true },
    });
    const url = await listen(consoleApp(strict));
    const token = await sign(seedKey, claims({ iss: 'https://trusted.mobkit.local' }));
    const r = await get(`${url}/console/modules`, { authorization: `Bearer ${token}` });
    expect([r.status, r.body]).toEqual([401, { error: 'unauthorized', reason: 'hs256_not_allowed' }]);
  });

  it('the seed decision state (require_app_auth false) lets requests through without a token', async () => {
    const r = await get(`${openUrl}/console/modules`);
    expect(r.status).toBe(200);
    expect(r.body.caller).toBeNull();
    expect(r.body.modules).toEqual(['router', 'delivery', 'scheduling']);
  });
});

describe('requireJwt over real HTTP with a JwksCache', () => {
  it('401 without a token, 200 with claims for a valid one, 401 with reason for a bad one', async () => {
    expect(await get(`${apiUrl}/api/me`)).toMatchObject({
      status: 401,
      body: { error: 'unauthorized', reason: 'missing_credentials' },
    });
    const ok = await get(`${apiUrl}/api/me`, {
      authorization: `Bearer ${await sign(rs, { iss: oidc.url, aud: 'api', sub: 'u1', exp: nowSeconds() + 60 })}`,
    });
    expect([ok.status, ok.body]).toEqual([200, { sub: 'u1', aud: ['api'] }]);
    const bad = await get(`${apiUrl}/api/me`, {
      authorization: `Bearer ${await sign(rs, { iss: oidc.url, aud: 'other', sub: 'u1' })}`,
    });
    expect([bad.status, bad.body]).toEqual([401, { error: 'unauthorized', reason: 'invalid_token' }]);
    const query = await get(`${apiUrl}/api/me?auth_token=${await sign(rs, { iss: oidc.url, aud: 'api', sub: 'u1' })}`);
    expect(query.body.reason).toBe('missing_credentials');
  });

  it('an unreachable key set is 503 jwks_unavailable, not a 500', async () => {
    const down = await startOidcServer([rs.jwk]);
    down.failJwksWith = 500;
    const app = express();
    app.get('/x', requireJwt(new JwksCache({ discoveryUrl: down.discoveryUrl })), (_req, res) => {
      res.json({ ok: true });
    });
    const url = await listen(app);
    const r = await get(`${url}/x`, { authorization: `Bearer ${await sign(rs, { sub: 'u' })}` });
    await down.close();
    expect([r.status, r.body]).toEqual([503, { error: 'unavailable', reason: 'jwks_unavailable' }]);
  });
});
