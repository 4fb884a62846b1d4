import { ManualClock } from '@mobkit/core';
import { exportSPKI, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestKey, b64, makeKey, publicKeyOf, seedTrustedOidc, sign, trustedOidcFor } from '../test/helpers.js';
import {
  type ConsoleAuthConfig,
  type ConsoleAuthReason,
  ConsoleAccessError,
  createConsoleAuthenticator,
  enforceConsoleRouteAccess,
  identityFromJwt,
} from './console.js';
import type { AuthPolicy } from './policy.js';
import { isLocalhostClassHost, isLocalhostClassUrl } from './hosts.js';
import type { ValidatedJwt } from './jwt.js';

function denial(fn: () => void): ConsoleAccessError | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConsoleAccessError);
    return error as ConsoleAccessError;
  }
}

describe('enforceConsoleRouteAccess: rule order', () => {
  const policy: AuthPolicy = { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com', 'svc:scheduler'] };
  const on = { requireAppAuth: true };

  it('require_app_auth false allows anything, even an invalid service identity', () => {
    expect(
      denial(() =>
        enforceConsoleRouteAccess(policy, { requireAppAuth: false }, { provider: 'service_identity', email: 'nope' }),
      ),
    ).toBeUndefined();
    expect(
      denial(() =>
        enforceConsoleRouteAccess(policy, { requireAppAuth: false }, { provider: 'test_provider', email: 'x' }),
      ),
    ).toBeUndefined();
  });

  it('service identities must be svc:<name> and allowlisted, whatever the default provider', () => {
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'service_identity', email: 'svc:scheduler' })),
    ).toBeUndefined();
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'service_identity', email: 'scheduler' }))?.reason,
    ).toBe('invalid_service_identity');
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'service_identity', email: 'svc:' }))?.reason,
    ).toBe('invalid_service_identity');
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'service_identity', email: 'svc:  ' }))?.reason,
    ).toBe('invalid_service_identity');
    const e = denial(() =>
      enforceConsoleRouteAccess(policy, on, { provider: 'service_identity', email: 'svc:intruder' }),
    );
    expect(e?.reason).toBe('service_identity_not_allowlisted');
    expect(e?.code).toBe('ServiceIdentityNotAllowlisted');
    expect(e?.httpStatus).toBe(401);
    expect(e?.body()).toEqual({ error: 'unauthorized', reason: 'service_identity_not_allowlisted' });
  });

  it('a provider other than the default is provider_mismatch, checked before the allowlist', () => {
    const e = denial(() =>
      enforceConsoleRouteAccess(policy, on, { provider: 'git_hub_o_auth', email: 'ops@example.com' }),
    );
    expect([e?.code, e?.reason]).toEqual(['AuthProviderMismatch', 'provider_mismatch']);
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'test_provider', email: 'ops@example.com' }))
        ?.reason,
    ).toBe('provider_mismatch');
  });

  it('test_provider is provider_not_supported even when it is the default (before the allowlist)', () => {
    const testPolicy: AuthPolicy = { defaultProvider: 'test_provider', emailAllowlist: [] };
    const e = denial(() => enforceConsoleRouteAccess(testPolicy, on, { provider: 'test_provider', email: 'nobody' }));
    expect([e?.code, e?.reason]).toEqual(['AuthProviderNotSupported', 'provider_not_supported']);
  });

  it('the email must be in the allowlist (exact match); an empty allowlist admits nobody', () => {
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'google_o_auth', email: 'ops@example.com' })),
    ).toBeUndefined();
    expect(
      denial(() => enforceConsoleRouteAccess(policy, on, { provider: 'google_o_auth', email: 'OPS@example.com' }))
        ?.reason,
    ).toBe('email_not_allowlisted');
    const e = denial(() =>
      enforceConsoleRouteAccess({ defaultProvider: 'google_o_auth', emailAllowlist: [] }, on, {
        provider: 'google_o_auth',
        email: 'ops@example.com',
      }),
    );
    expect([e?.code, e?.reason]).toEqual(['EmailNotAllowlisted', 'email_not_allowlisted']);
  });
});

describe('token → identity', () => {
  const jwt = (claims: Partial<ValidatedJwt>): ValidatedJwt => ({
    audience: [],
    header: { alg: 'RS256' },
    claims: {},
    ...claims,
  });
  it('principal is email, else sub; neither gives no identity', () => {
    expect(identityFromJwt(jwt({ email: 'a@x', subject: 's' }))?.email).toBe('a@x');
    expect(identityFromJwt(jwt({ subject: 's' }))?.email).toBe('s');
    expect(identityFromJwt(jwt({ email: '', subject: 's' }))?.email).toBe('s');
    expect(identityFromJwt(jwt({}))).toBeUndefined();
  });
  it('service identity when actor_type is service or the principal starts with svc:', () => {
    expect(identityFromJwt(jwt({ subject: 'svc:cron' }))?.provider).toBe('service_identity');
    expect(identityFromJwt(jwt({ email: 'bot@x', actorType: 'service', provider: 'google_oauth' }))?.provider).toBe(
      'service_identity',
    );
  });
  it('provider claim google_oauth / github_oauth / generic_oidc, default generic_oidc', () => {
    expect(identityFromJwt(jwt({ email: 'a', provider: 'google_oauth' }))?.provider).toBe('google_o_auth');
    expect(identityFromJwt(jwt({ email: 'a', provider: 'github_oauth' }))?.provider).toBe('git_hub_o_auth');
    expect(identityFromJwt(jwt({ email: 'a', provider: 'generic_oidc' }))?.provider).toBe('generic_oidc');
    expect(identityFromJwt(jwt({ email: 'a', provider: 'test_provider' }))?.provider).toBe('generic_oidc');
    expect(identityFromJwt(jwt({ email: 'a' }))?.provider).toBe('generic_oidc');
  });
});

describe('localhost-class hosts', () => {
  it('accepts localhost, 127.0.0.1, ::1 and *.localhost; refuses .local and look-alikes', () => {
    for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '::1', '[::1]', 'idp.localhost', 'a.b.localhost'])
      expect([h, isLocalhostClassHost(h)]).toEqual([h, true]);
    for (const h of [
      'trusted.mobkit.local',
      'localhost.example.com',
      'mylocalhost',
      '.localhost',
      '127.0.0.2',
      '10.0.0.1',
      'localhost.',
      '0.0.0.0',
    ]) {
      expect([h, isLocalhostClassHost(h)]).toEqual([h, false]);
    }
    expect(isLocalhostClassUrl('http://[::1]:8080/x')).toBe(true);
    expect(isLocalhostClassUrl('https://trusted.mobkit.local')).toBe(false);
    expect(isLocalhostClassUrl('not a url')).toBe(false);
  });
});

describe('createConsoleAuthenticator: every 401 reason', () => {
  const clock = new ManualClock(1_800_000_000_000);
  const now = 1_800_000_000;
  const issuer = 'http://127.0.0.1:9';
  let rs: TestKey;
  let rsNoAlg: TestKey;
  let hs: TestKey;
  let config: ConsoleAuthConfig;
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: issuer,
    aud: 'meerkat-console',
    exp: now + 60,
    email: 'ops@example.com',
    provider: 'google_oauth',
    ...extra,
  });

  beforeAll(async () => {
    rs = await makeKey('RS256', 'rs-1');
    rsNoAlg = await makeKey('RS256', 'rs-no-alg', false);
    hs = await makeKey('HS256', 'hs-1');
    config = {
      auth: { defaultProvider: 'google_o_auth', emailAllowlist: ['ops@example.com', 'svc:cron'] },
      console: { requireAppAuth: true },
      trustedOidc: trustedOidcFor(
        [rs.jwk, rsNoAlg.jwk, hs.jwk, { kid: 'broken', kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', alg: 'ES256' }],
        issuer,
      ),
    };
  });

  async function reasonOf(
    token: string | undefined,
    cfg: ConsoleAuthConfig = config,
  ): Promise<ConsoleAuthReason | 'ok'> {
    const result = await createConsoleAuthenticator(cfg, { clock }).authenticate(token);
    if (result.ok) return 'ok';
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ error: 'unauthorized', reason: result.reason });
    return result.reason;
  }

  it('accepts an allowlisted identity and returns it', async () => {
    const result = await createConsoleAuthenticator(config, { clock }).authenticate(await sign(rs, claims()));
    expect(result.ok && result.identity).toMatchObject({ provider: 'google_o_auth', email: 'ops@example.com' });
    expect(await reasonOf(await sign(hs, claims({ email: undefined, sub: 'svc:cron' })))).toBe('ok');
  });

  it('maps each failure to its reason', async () => {
    expect(await reasonOf(undefined)).toBe('missing_credentials');
    expect(await reasonOf('  ')).toBe('missing_credentials');
    expect(
      await reasonOf(await sign(rs, claims()), {
        ...config,
        trustedOidc: { ...config.trustedOidc, jwksJson: '{"keys":[]}' },
      }),
    ).toBe('invalid_trusted_oidc_config');
    expect(await reasonOf(`${b64({ alg: 'none' })}.${b64(claims())}.`)).toBe('invalid_token_header');
    expect(await reasonOf(`e!.${b64(claims())}.sig`)).toBe('invalid_token_header');
    expect(await reasonOf(await sign(await makeKey('RS256', 'stranger'), claims()))).toBe('jwks_key_not_found');
    expect(await reasonOf(await sign(await makeKey('ES256', 'broken'), claims()))).toBe('invalid_jwks_key_material');
    expect(await reasonOf(await sign(rs, claims({ exp: now - 31 })))).toBe('invalid_token');
    expect(await reasonOf(await sign(rs, claims({ exp: now - 30 })))).toBe('ok');
    expect(await reasonOf(await sign(rs, claims({ aud: 'other' })))).toBe('invalid_token');
    expect(await reasonOf(await sign(rs, claims({ iss: 'https://evil.example' })))).toBe('invalid_token');
    expect(await reasonOf(await sign(rs, claims({ email: undefined })))).toBe('missing_token_identity');
    expect(await reasonOf(await sign(rs, claims({ provider: 'github_oauth' })))).toBe('provider_mismatch');
    expect(await reasonOf(await sign(rs, claims({ email: 'stranger@example.com' })))).toBe('email_not_allowlisted');
    expect(await reasonOf(await sign(rs, claims({ email: 'cron', actor_type: 'service' })))).toBe(
      'invalid_service_identity',
    );
    expect(await reasonOf(await sign(rs, claims({ email: 'svc:other' })))).toBe('service_identity_not_allowlisted');
    const testDefault = { ...config, auth: { defaultProvider: 'test_provider' as const, emailAllowlist: [] } };
    expect(await reasonOf(await sign(rs, claims({ provider: 'generic_oidc' })), testDefault)).toBe('provider_mismatch');
  });

  it('refuses alg confusion (HS256 keyed with the RSA public key) and an oversized token', async () => {
    const forge = async (key: TestKey) =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: key.kid })
        .sign(new TextEncoder().encode(await exportSPKI(publicKeyOf(key))));
    expect(await reasonOf(await forge(rs))).toBe('jwks_key_not_found');
    expect(await reasonOf(await forge(rsNoAlg))).toBe('invalid_jwks_key_material');
    expect(await reasonOf(await sign(rs, claims({ pad: 'x'.repeat(17_000) })))).toBe('invalid_token');
  });

  it('ignores caller-supplied keys: a jwk/jku header with the trusted kid does not make a forged token valid', async () => {
    const attacker = await makeKey('RS256', rs.kid);
    const forged = await sign(attacker, claims(), {
      jwk: attacker.jwk,
      jku: 'http://127.0.0.1:1/jwks.json',
      x5u: 'http://127.0.0.1:1/x.pem',
    });
    expect(await reasonOf(forged)).toBe('invalid_token');
  });

  it('HS256 only when issuer and jwks_uri are both localhost-class (the seed .local issuer is refused)', async () => {
    const seedKey = await makeKey('HS256', 'kid-current', true, 'phase7-trusted-current-secret');
    const seed = {
      ...config,
      auth: { defaultProvider: 'google_o_auth' as const, emailAllowlist: ['ops@example.com'] },
      trustedOidc: seedTrustedOidc(),
    };
    const token = await sign(seedKey, claims({ iss: 'https://trusted.mobkit.local' }));
    expect(await reasonOf(token, seed)).toBe('hs256_not_allowed');
    const mixed = {
      ...config,
      trustedOidc: {
        ...config.trustedOidc,
        discoveryJson: JSON.stringify({ issuer, jwks_uri: 'https://idp.example.com/jwks' }),
      },
    };
    expect(await reasonOf(await sign(hs, claims()), mixed)).toBe('hs256_not_allowed');
    const devHost = { ...config, trustedOidc: trustedOidcFor([hs.jwk], 'http://idp.localhost:8080') };
    expect(await reasonOf(await sign(hs, claims({ iss: 'http://idp.localhost:8080' })), devHost)).toBe('ok');
  });

  it('a token seen before is still re-checked for exp on every request', async () => {
    const auth = createConsoleAuthenticator(config, { clock });
    const token = await sign(rs, claims({ exp: now + 60 }));
    expect((await auth.authenticate(token)).ok).toBe(true);
    expect((await auth.authenticate(token)).ok).toBe(true);
    clock.advance(91_000);
    try {
      const later = await auth.authenticate(token);
      expect(later.ok === false && later.reason).toBe('invalid_token');
      expect(later.ok === false && later.error.code).toBe('Expired');
    } finally {
      clock.set(1_800_000_000_000);
    }
  });

  it('refuses a token without exp by default (missing_exp); requireExp: false opts out', async () => {
    const noExp = await sign(rs, claims({ exp: undefined }));
    const refused = await createConsoleAuthenticator(config, { clock }).authenticate(noExp);
    expect(refused.ok === false && refused.reason).toBe('missing_exp');
    expect(refused.ok === false && refused.error.code).toBe('MissingExpiry');
    expect(refused.ok === false && refused.body).toEqual({ error: 'unauthorized', reason: 'missing_exp' });
    const optedOut = await createConsoleAuthenticator(config, { clock, requireExp: false }).authenticate(noExp);
    expect(optedOut.ok).toBe(true);
  });

  it('caps the accepted lifetime: exp − iat, or exp − now without iat (token_lifetime_too_long)', async () => {
    const day = 24 * 3600;
    const reasonWith = async (extra: Record<string, unknown>, options = {}) => {
      const result = await createConsoleAuthenticator(config, { clock, ...options }).authenticate(
        await sign(rs, claims(extra)),
      );
      return result.ok ? 'ok' : `${result.reason}/${result.error.code}`;
    };
    // The default cap is 24 h.
    expect(await reasonWith({ iat: now, exp: now + day })).toBe('ok');
    expect(await reasonWith({ iat: now, exp: now + day + 1 })).toBe('token_lifetime_too_long/TokenLifetimeTooLong');
    // Issued long ago with a short lifetime left is still too long a lifetime.
    expect(await reasonWith({ iat: now - day, exp: now + 60 })).toBe('token_lifetime_too_long/TokenLifetimeTooLong');
    expect(await reasonWith({ exp: now + day })).toBe('ok');
    expect(await reasonWith({ exp: now + 10 * 365 * day })).toBe('token_lifetime_too_long/TokenLifetimeTooLong');
    // Configurable.
    expect(await reasonWith({ iat: now, exp: now + 600 }, { maxTokenLifetimeSeconds: 300 })).toBe(
      'token_lifetime_too_long/TokenLifetimeTooLong',
    );
    expect(await reasonWith({ iat: now, exp: now + 300 }, { maxTokenLifetimeSeconds: 300 })).toBe('ok');
    expect(await reasonWith({ iat: 'yesterday' })).toBe('invalid_token/InvalidClaims');
  });

  it('rejects a non-positive token lifetime cap at build time', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createConsoleAuthenticator(config, { maxTokenLifetimeSeconds: bad })).toThrow(TypeError);
    }
  });

  it('require_app_auth false allows without a token and without verifying one', async () => {
    const off = {
      ...config,
      console: { requireAppAuth: false },
      trustedOidc: { ...config.trustedOidc, discoveryJson: 'not json' },
    };
    expect(await reasonOf(undefined, off)).toBe('ok');
    expect(await reasonOf('garbage', off)).toBe('ok');
  });
});
