import { ManualClock } from '@mobkit/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JwksCache, JwksError, TokenError, type JwtAlgorithm } from '../src/index.js';
import { makeKey, sign, startOidcServer, type OidcServer, type TestKey } from './helpers.js';

const T0 = 1_800_000_000_000;
let server: OidcServer | undefined;
const keys = {} as Record<JwtAlgorithm, TestKey>;

beforeAll(async () => {
  for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA'] as const) keys[alg] = await makeKey(alg, `k-${alg}`);
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The running OIDC server's URL (each test starts one). */
function oidcUrl(): string {
  if (server === undefined) throw new Error('no OIDC server is running');
  return server.url;
}

function claims(clock: ManualClock, extra: Record<string, unknown> = {}) {
  return { iss: oidcUrl(), aud: 'api', sub: 'user-1', exp: Math.floor(clock.nowMs() / 1000) + 600, ...extra };
}

async function kindOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (e: unknown) => (e instanceof TokenError || e instanceof JwksError ? e.code : `unexpected ${String(e)}`),
  );
}

function counts(cache: JwksCache) {
  const s = cache.stats();
  return { discovery: s.discoveryRequests, jwks: s.jwksRequests };
}

describe('JwksCache against a real OIDC discovery + JWKS server on 127.0.0.1', () => {
  it('verifies a valid token per algorithm after one discovery and one JWKS request', async () => {
    server = await startOidcServer(Object.values(keys).map((k) => k.jwk));
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, audience: 'api', clock });
    expect(counts(cache)).toEqual({ discovery: 0, jwks: 0 });
    for (const alg of ['HS256', 'RS256', 'ES256', 'EdDSA'] as const) {
      const jwt = await cache.verify(await sign(keys[alg], claims(clock)));
      expect([alg, jwt.subject, jwt.issuer, jwt.header.alg]).toEqual([alg, 'user-1', server.url, alg]);
    }
    expect(counts(cache)).toEqual({ discovery: 1, jwks: 1 });
    expect(server.hits.get('/jwks.json')).toBe(1);
    expect(cache.current()?.discovery.jwksUri).toBe(`${server.url}/jwks.json`);
  });

  it('concurrent first uses share one refresh', async () => {
    server = await startOidcServer([keys.ES256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock });
    const token = await sign(keys.ES256, claims(clock));
    const results = await Promise.all(Array.from({ length: 10 }, () => kindOf(cache.verify(token))));
    expect(results).toEqual(Array(10).fill('ok'));
    expect(counts(cache)).toEqual({ discovery: 1, jwks: 1 });
  });

  it('a provider that never answers fails after httpTimeoutMs with OidcDiscoveryFailed', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const cache = new JwksCache({
        discoveryUrl: `http://127.0.0.1:${port}/.well-known/openid-configuration`,
        httpTimeoutMs: 200,
      });
      expect(await kindOf(cache.verify(await sign(keys.RS256, { sub: 'x' })))).toBe('OidcDiscoveryFailed');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('checks iss against the discovery issuer by default and aud when configured', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, audience: 'api', clock });
    expect(await kindOf(cache.verify(await sign(keys.RS256, claims(clock, { iss: 'https://other.example' }))))).toBe(
      'IssuerMismatch',
    );
    expect(await kindOf(cache.verify(await sign(keys.RS256, claims(clock, { aud: 'console' }))))).toBe(
      'AudienceMismatch',
    );
    expect(await kindOf(cache.verify(await sign(keys.RS256, claims(clock, { exp: Math.floor(T0 / 1000) - 61 }))))).toBe(
      'Expired',
    );
    expect(await kindOf(cache.verify(await sign(keys.RS256, claims(clock, { nbf: Math.floor(T0 / 1000) + 61 }))))).toBe(
      'NotYetValid',
    );
  });

  it('refreshes after the refresh interval, not before', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock, refreshIntervalMs: 60_000 });
    const token = await sign(keys.RS256, claims(clock));
    await cache.verify(token);
    clock.advance(59_999);
    await cache.verify(token);
    expect(counts(cache)).toEqual({ discovery: 1, jwks: 1 });
    clock.advance(1);
    await cache.verify(token);
    expect(counts(cache)).toEqual({ discovery: 2, jwks: 2 });
    const explicit = await cache.refresh();
    expect([explicit.jwks.keys[0]?.kid, explicit.discovery.issuer]).toEqual([keys.RS256.kid, oidcUrl()]);
    expect(counts(cache)).toEqual({ discovery: 3, jwks: 3 });
  });

  it('key rotation: a new kid triggers one refresh and is accepted; a removed kid is then rejected', async () => {
    const oldKey = await makeKey('RS256', 'kid-old');
    const newKey = await makeKey('ES256', 'kid-new');
    server = await startOidcServer([oldKey.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock, refreshCooldownMs: 30_000 });
    await cache.verify(await sign(oldKey, claims(clock)));
    expect(counts(cache)).toEqual({ discovery: 1, jwks: 1 });

    server.keys = [newKey.jwk];
    clock.advance(30_000);
    const jwt = await cache.verify(await sign(newKey, claims(clock)));
    expect(jwt.header.kid).toBe('kid-new');
    expect(counts(cache)).toEqual({ discovery: 2, jwks: 2 });
    expect(cache.stats().kidMissRefreshes).toBe(1);

    // The old key is gone from the refreshed set: refused (and within the cool-down no new request is made).
    expect(await kindOf(cache.verify(await sign(oldKey, claims(clock))))).toBe('NoMatchingKey');
    expect(counts(cache)).toEqual({ discovery: 2, jwks: 2 });
  });

  it('unknown kids: at most one refresh per cool-down, however many bad tokens arrive', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock, refreshCooldownMs: 30_000 });
    await cache.verify(await sign(keys.RS256, claims(clock)));
    clock.advance(30_000);
    const strangers = await Promise.all(Array.from({ length: 20 }, (_, i) => makeKey('HS256', `unknown-${i}`)));
    const tokens = await Promise.all(strangers.map((k) => sign(k, claims(clock))));
    // Twenty concurrent bad tokens: one refresh, shared by all.
    const kinds = await Promise.all(tokens.map((t) => kindOf(cache.verify(t))));
    expect(new Set(kinds)).toEqual(new Set(['NoMatchingKey']));
    expect(counts(cache)).toEqual({ discovery: 2, jwks: 2 });
    // Twenty more, one after another, inside the cool-down: no request at all.
    for (const t of tokens) expect(await kindOf(cache.verify(t))).toBe('NoMatchingKey');
    expect(counts(cache)).toEqual({ discovery: 2, jwks: 2 });
    // After the cool-down one more refresh is allowed.
    clock.advance(30_000);
    for (const t of tokens.slice(0, 5)) expect(await kindOf(cache.verify(t))).toBe('NoMatchingKey');
    expect(counts(cache)).toEqual({ discovery: 3, jwks: 3 });
    expect(server.hits.get('/jwks.json')).toBe(3);
  });

  it('never fetches jku or x5u from a token header', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock });
    const attacker = await makeKey('RS256', 'attacker');
    const token = await sign(attacker, claims(clock), {
      jku: `${server.url}/attacker-jwks.json`,
      x5u: `${server.url}/attacker.pem`,
      jwk: attacker.jwk,
    });
    expect(await kindOf(cache.verify(token))).toBe('NoMatchingKey');
    const sameKid = await sign({ ...attacker, kid: keys.RS256.kid }, claims(clock), {
      jku: `${server.url}/attacker-jwks.json`,
    });
    expect(await kindOf(cache.verify(sameKid))).toBe('InvalidSignature');
    expect(server.hits.get('/attacker-jwks.json')).toBeUndefined();
    expect(server.hits.get('/attacker.pem')).toBeUndefined();
    expect([...server.hits.keys()].sort()).toEqual(['/.well-known/openid-configuration', '/jwks.json']);
  });

  it('refuses alg none, oversized and broken tokens before any HTTP request', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock: new ManualClock(T0) });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.`;
    expect(await kindOf(cache.verify(none))).toBe('UnsupportedAlgorithm');
    expect(await kindOf(cache.verify('x'.repeat(17_000)))).toBe('TokenTooLarge');
    expect(await kindOf(cache.verify('!!.!!.!!'))).toBe('InvalidBase64');
    expect(counts(cache)).toEqual({ discovery: 0, jwks: 0 });
  });

  it("HS256 through the cache: accepted for a localhost-class issuer by default, refused with hs256: 'deny'", async () => {
    server = await startOidcServer([keys.HS256.jwk]);
    const clock = new ManualClock(T0);
    const denied = new JwksCache({ discoveryUrl: server.discoveryUrl, clock, hs256: 'deny' });
    expect(await kindOf(denied.verify(await sign(keys.HS256, claims(clock))))).toBe('UnsupportedAlgorithm');
    // Issuer and jwks_uri are on 127.0.0.1, localhost-class, so the default ('localhost-only') accepts HS256.
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock });
    expect(await kindOf(cache.verify(await sign(keys.HS256, claims(clock))))).toBe('ok');
  });

  it('fetch failures: JwksError before the first good fetch; afterwards the last good keys keep serving', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const clock = new ManualClock(T0);
    const cache = new JwksCache({ discoveryUrl: server.discoveryUrl, clock, refreshIntervalMs: 60_000 });
    server.failJwksWith = 500;
    const token = await sign(keys.RS256, claims(clock));
    expect(await kindOf(cache.verify(token))).toBe('JwksFetchFailed');
    server.failJwksWith = undefined;
    // Within the cool-down a failing provider is not asked again: the last error is returned.
    clock.advance(29_999);
    expect(await kindOf(cache.verify(token))).toBe('JwksFetchFailed');
    expect(counts(cache)).toEqual({ discovery: 1, jwks: 1 });
    clock.advance(1);
    clock.advance(30_000);
    expect(await kindOf(cache.verify(token))).toBe('ok');
    server.failJwksWith = 503;
    clock.advance(60_000);
    expect(await kindOf(cache.verify(token))).toBe('ok');
    expect(cache.stats()).toMatchObject({ refreshes: 1, failedRefreshes: 2 });
  });

  it('an unreachable discovery URL is OidcDiscoveryFailed; invalid documents are named', async () => {
    server = await startOidcServer([keys.RS256.jwk]);
    const port = new URL(server.url).port;
    await server.close();
    server = undefined;
    const cache = new JwksCache({
      discoveryUrl: `http://127.0.0.1:${port}/.well-known/openid-configuration`,
      httpTimeoutMs: 2000,
    });
    expect(await kindOf(cache.verify(await sign(keys.RS256, { sub: 'x' })))).toBe('OidcDiscoveryFailed');
    server = await startOidcServer([]);
    const empty = new JwksCache({ discoveryUrl: server.discoveryUrl });
    expect(await kindOf(empty.verify(await sign(keys.RS256, { sub: 'x' })))).toBe('InvalidJwks');
    expect(() => new JwksCache({ discoveryUrl: 'file:///etc/passwd' })).toThrow(/http\(s\)/);
  });
});
