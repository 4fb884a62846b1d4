import { exportSPKI, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestKey, b64, makeKey, nowSeconds, publicKeyOf, sign } from '../test/helpers.js';
import { TokenError } from './errors.js';
import {
  extractHs256SharedSecret,
  importVerificationKey,
  selectJwkForToken,
  type Jwk,
  type JwtAlgorithm,
} from './jwk.js';
import { MAX_TOKEN_LENGTH, decodeTokenHeader, verifyJwt } from './jwt.js';
import { KeySet, validateJwtLocally, verifyJwtWithJwks } from './keyset.js';

const ALGS: JwtAlgorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const keys = {} as Record<JwtAlgorithm, TestKey>;
let keySet: KeySet;

beforeAll(async () => {
  for (const alg of ALGS) keys[alg] = await makeKey(alg, `kid-${alg.toLowerCase()}`);
  keySet = new KeySet({ keys: ALGS.map((a) => keys[a].jwk) });
});

async function refusal(promise: Promise<unknown>): Promise<TokenError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenError);
  return error as TokenError;
}

describe('valid tokens per algorithm', () => {
  for (const alg of ALGS) {
    it(`${alg}: verifies against the key selected by kid, with claims mapped`, async () => {
      const now = nowSeconds();
      const token = await sign(keys[alg], {
        sub: 'user-1',
        email: 'a@example.com',
        provider: 'google_oauth',
        actor_type: 'human',
        iss: 'https://issuer.example',
        aud: ['other', 'meerkat-console'],
        exp: now + 300,
        nbf: now - 10,
      });
      const jwt = await keySet.verify(token, { issuer: 'https://issuer.example', audience: 'meerkat-console' });
      expect(jwt).toMatchObject({
        subject: 'user-1',
        email: 'a@example.com',
        provider: 'google_oauth',
        actorType: 'human',
        issuer: 'https://issuer.example',
        audience: ['other', 'meerkat-console'],
        expiresAtEpochSeconds: now + 300,
        notBeforeEpochSeconds: now - 10,
        header: { alg, kid: keys[alg].kid },
      });
    });
  }

  it('verifyJwt takes an imported key directly; a string aud becomes a one-element list', async () => {
    const key = await importVerificationKey(keys.ES256.jwk, 'ES256');
    const jwt = await verifyJwt(await sign(keys.ES256, { aud: 'meerkat-console', sub: 's' }), key, {
      audience: 'meerkat-console',
    });
    expect(jwt.audience).toEqual(['meerkat-console']);
  });

  it('validateJwtLocally is the HS256 shared-secret path and refuses other algorithms', async () => {
    const secret = 'phase7-trusted-current-secret';
    const hs = await makeKey('HS256', 'k', true, secret);
    const jwt = await validateJwtLocally(await sign(hs, { sub: 'x', iss: 'i' }), { sharedSecret: secret, issuer: 'i' });
    expect(jwt.subject).toBe('x');
    expect(
      (await refusal(validateJwtLocally(await sign(hs, { sub: 'x' }), { sharedSecret: 'other-secret' }))).kind,
    ).toBe('InvalidSignature');
    expect(
      (await refusal(validateJwtLocally(await sign(keys.RS256, { sub: 'x' }), { sharedSecret: secret }))).kind,
    ).toBe('UnsupportedAlgorithm');
  });
});

describe('claims', () => {
  const leeway = 30;
  const now = 1_800_000_000;
  const opts = { nowEpochSeconds: now, leewaySeconds: leeway };

  it('exp: expired iff exp < now - leeway (the boundary itself is still valid)', async () => {
    await expect(keySet.verify(await sign(keys.HS256, { exp: now - leeway }), opts)).resolves.toBeDefined();
    const e = await refusal(keySet.verify(await sign(keys.HS256, { exp: now - leeway - 1 }), opts));
    expect(e.kind).toBe('Expired');
    expect(e.httpStatus).toBe(401);
  });

  it('nbf: invalid iff nbf > now + leeway', async () => {
    await expect(keySet.verify(await sign(keys.RS256, { nbf: now + leeway }), opts)).resolves.toBeDefined();
    expect((await refusal(keySet.verify(await sign(keys.RS256, { nbf: now + leeway + 1 }), opts))).kind).toBe(
      'NotYetValid',
    );
  });

  it('iss must match exactly; a missing iss does not match', async () => {
    expect(
      (
        await refusal(
          keySet.verify(await sign(keys.ES256, { iss: 'https://issuer.example/' }), {
            issuer: 'https://issuer.example',
          }),
        )
      ).kind,
    ).toBe('IssuerMismatch');
    expect((await refusal(keySet.verify(await sign(keys.ES256, {}), { issuer: 'https://issuer.example' }))).kind).toBe(
      'IssuerMismatch',
    );
  });

  it('aud (string or array) must contain the expected audience; missing aud fails', async () => {
    expect(
      (await refusal(keySet.verify(await sign(keys.EdDSA, { aud: 'other' }), { audience: 'meerkat-console' }))).kind,
    ).toBe('AudienceMismatch');
    expect(
      (await refusal(keySet.verify(await sign(keys.EdDSA, { aud: ['a', 'b'] }), { audience: 'meerkat-console' }))).kind,
    ).toBe('AudienceMismatch');
    expect((await refusal(keySet.verify(await sign(keys.EdDSA, {}), { audience: 'meerkat-console' }))).kind).toBe(
      'AudienceMismatch',
    );
  });

  it('claims of the wrong type are InvalidClaims', async () => {
    expect((await refusal(keySet.verify(await sign(keys.HS256, { exp: 'tomorrow' } as never)))).kind).toBe(
      'InvalidClaims',
    );
    expect((await refusal(keySet.verify(await sign(keys.HS256, { aud: 5 } as never)))).kind).toBe('InvalidClaims');
    expect((await refusal(keySet.verify(await sign(keys.HS256, { iat: 'now' } as never)))).kind).toBe('InvalidClaims');
  });

  it('a required but missing exp is MissingExpiry; a lifetime past maxLifetimeSeconds is TokenLifetimeTooLong', async () => {
    expect((await refusal(keySet.verify(await sign(keys.HS256, { sub: 'x' }), { requireExpiry: true }))).kind).toBe(
      'MissingExpiry',
    );
    const now = Math.floor(Date.now() / 1000);
    const long = await sign(keys.HS256, { iat: now, exp: now + 3601 });
    const e = await refusal(keySet.verify(long, { maxLifetimeSeconds: 3600 }));
    expect(e.kind).toBe('TokenLifetimeTooLong');
    expect(e.stage).toBe('payload');
    expect(e.details).toMatchObject({ lifetime: 3601, max: 3600 });
    await expect(keySet.verify(long, { maxLifetimeSeconds: 3601 })).resolves.toMatchObject({
      expiresAtEpochSeconds: now + 3601,
    });
    // Without exp there is no lifetime to cap (requireExpiry decides about those).
    await expect(
      keySet.verify(await sign(keys.HS256, { sub: 'x' }), { maxLifetimeSeconds: 60 }),
    ).resolves.toBeDefined();
  });
});

describe('refusals', () => {
  it('alg "none" (unsecured token) is UnsupportedAlgorithm at the header', async () => {
    const token = `${b64({ alg: 'none', kid: keys.HS256.kid })}.${b64({ sub: 'admin' })}.`;
    const e = await refusal(keySet.verify(token));
    expect(e.kind).toBe('UnsupportedAlgorithm');
    expect(e.stage).toBe('header');
    for (const alg of ['None', 'NONE', 'HS512', 'PS256']) {
      const t = `${b64({ alg })}.${b64({ sub: 'admin' })}.${b64('sig')}`;
      expect((await refusal(keySet.verify(t))).kind).toBe('UnsupportedAlgorithm');
    }
  });

  it('algorithm confusion: HS256 signed with the RSA public key (PEM) as the secret never verifies', async () => {
    const pem = await exportSPKI(publicKeyOf(keys.RS256));
    const forge = (kid: string) =>
      new SignJWT({ sub: 'admin' }).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(pem));
    // The RSA JWK declares alg RS256: it is not selected for an HS256 token.
    expect((await refusal(keySet.verify(await forge(keys.RS256.kid)))).kind).toBe('NoMatchingKey');
    // Without alg on the JWK, the RSA key is selected but cannot be an HS256 secret.
    const noAlg = await makeKey('RS256', 'rsa-no-alg', false);
    const pem2 = await exportSPKI(publicKeyOf(noAlg));
    const forged = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-no-alg' })
      .sign(new TextEncoder().encode(pem2));
    const e = await refusal(new KeySet({ keys: [noAlg.jwk] }).verify(forged));
    expect(e.kind).toBe('UnsupportedAlgorithm');
    expect(e.stage).toBe('key');
    // And an imported RSA key used for an HS256 token is refused by jose.
    const rsaKey = await importVerificationKey(noAlg.jwk, 'RS256');
    expect((await refusal(verifyJwt(forged, rsaKey))).kind).toBe('UnsupportedAlgorithm');
  });

  it('a kid not in the set is NoMatchingKey', async () => {
    const stranger = await makeKey('RS256', 'kid-unknown');
    const e = await refusal(keySet.verify(await sign(stranger, { sub: 'x' })));
    expect(e.kind).toBe('NoMatchingKey');
    expect(e.details).toMatchObject({ kid: 'kid-unknown' });
  });

  it('a signature by another key with a known kid is InvalidSignature', async () => {
    const impostor = await makeKey('ES256', keys.ES256.kid);
    expect((await refusal(keySet.verify(await sign(impostor, { sub: 'x' })))).kind).toBe('InvalidSignature');
    const token = await sign(keys.HS256, { sub: 'x' });
    const tampered = token.replace(/\.[^.]+\./, `.${b64({ sub: 'admin' })}.`);
    expect((await refusal(keySet.verify(tampered))).kind).toBe('InvalidSignature');
  });

  it(`a token over ${MAX_TOKEN_LENGTH} characters is TokenTooLarge before any decoding`, async () => {
    const big = await sign(keys.HS256, { sub: 'x', pad: 'p'.repeat(MAX_TOKEN_LENGTH) });
    expect(big.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    expect((await refusal(keySet.verify(big))).kind).toBe('TokenTooLarge');
    expect(() => decodeTokenHeader(`${'a'.repeat(MAX_TOKEN_LENGTH)}.b.c`)).toThrow(/at most 16384/);
  });

  it('broken base64 or JSON is InvalidBase64 / InvalidJson, and the wrong shape is InvalidFormat', async () => {
    const good = await sign(keys.HS256, { sub: 'x' });
    const [, payload, sig] = good.split('.');
    const cases: Array<[string, string, string]> = [
      [`e!!.${payload}.${sig}`, 'InvalidBase64', 'header'],
      [`${b64({ alg: 'HS256' })}=.${payload}.${sig}`, 'InvalidBase64', 'header'],
      [`${b64('{"alg":"HS256"')}.${payload}.${sig}`, 'InvalidJson', 'header'],
      [`${b64('[1,2]')}.${payload}.${sig}`, 'InvalidJson', 'header'],
      [`${b64({ alg: 'HS256' })}.pay/load.${sig}`, 'InvalidBase64', 'payload'],
      ['only.two', 'InvalidFormat', 'header'],
      ['a.b.c.d', 'InvalidFormat', 'header'],
      ['', 'InvalidFormat', 'header'],
      [`${b64({ alg: 'HS256', kid: 7 })}.${payload}.${sig}`, 'InvalidFormat', 'header'],
    ];
    for (const [token, kind, stage] of cases) {
      const e = await refusal(keySet.verify(token));
      expect([token, e.kind, e.stage]).toEqual([token, kind, stage]);
    }
    // A payload that is signed but not JSON: the signature verifies, the JSON does not.
    const notJson = `${b64({ alg: 'HS256', kid: keys.HS256.kid })}.${b64('not json')}`;
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', keys.HS256.signingKey as Uint8Array)
      .update(notJson)
      .digest('base64url');
    const e = await refusal(keySet.verify(`${notJson}.${mac}`));
    expect([e.kind, e.stage]).toEqual(['InvalidJson', 'payload']);
  });

  it('jku, x5u and jwk headers are ignored: an attacker key embedded or linked is never used', async () => {
    const attacker = await makeKey('RS256', keys.RS256.kid);
    const token = await sign(
      attacker,
      { sub: 'admin' },
      { jku: 'http://127.0.0.1:1/jwks.json', x5u: 'http://127.0.0.1:1/cert.pem', jwk: attacker.jwk },
    );
    expect((await refusal(keySet.verify(token))).kind).toBe('InvalidSignature');
  });

  it('an RSA key under 2048 bits and malformed EC coordinates are InvalidKeyMaterial', async () => {
    // jose will not even generate a 1024-bit key, so node:crypto makes one for this test.
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const small = {
      ...(publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
      kty: 'RSA',
      kid: 'small',
    } as Jwk;
    const e = await refusal(importVerificationKey(small, 'RS256'));
    expect(e.kind).toBe('InvalidKeyMaterial');
    expect(e.message).toMatch(/1024 bits/);
    const badEc = { ...keys.ES256.jwk, x: 'AAAA' };
    expect((await refusal(importVerificationKey(badEc, 'ES256'))).kind).toBe('InvalidKeyMaterial');
    expect((await refusal(importVerificationKey({ kty: 'oct', kid: 'e' }, 'HS256'))).kind).toBe('InvalidKeyMaterial');
  });

  it('accepted algorithms can be narrowed per verifier', async () => {
    const e = await refusal(
      verifyJwtWithJwks(await sign(keys.HS256, { sub: 'x' }), keySet.jwks, { algorithms: ['RS256', 'ES256'] }),
    );
    expect(e.kind).toBe('UnsupportedAlgorithm');
  });
});

describe('verified-token memory', () => {
  it('remembers verified signatures per key set, re-checks claims, and never remembers a failure', async () => {
    const set = new KeySet({ keys: [keys.HS256.jwk] }, { verifiedCacheSize: 2 });
    const now = 1_800_000_000;
    const token = await sign(keys.HS256, { sub: 'x', exp: now + 10 });
    expect(set.lookupVerified(token)).toBeUndefined();
    await set.verify(token, { nowEpochSeconds: now });
    expect(set.lookupVerified(token)?.header).toMatchObject({ alg: 'HS256', kid: keys.HS256.kid });
    expect((await refusal(set.verify(token, { nowEpochSeconds: now + 100, leewaySeconds: 0 }))).kind).toBe('Expired');
    expect((await refusal(set.verify(token, { algorithms: ['RS256'] }))).kind).toBe('UnsupportedAlgorithm');
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${b64('forged-signature')}`;
    expect((await refusal(set.verify(forged, { nowEpochSeconds: now }))).kind).toBe('InvalidSignature');
    expect(set.lookupVerified(forged)).toBeUndefined();
    // Bounded: the oldest entry goes first.
    const t2 = await sign(keys.HS256, { sub: 'y' });
    const t3 = await sign(keys.HS256, { sub: 'z' });
    await set.verify(t2);
    await set.verify(t3);
    expect([set.lookupVerified(token), set.lookupVerified(t2)?.claims.sub, set.lookupVerified(t3)?.claims.sub]).toEqual(
      [undefined, 'y', 'z'],
    );
  });
});

describe('key selection', () => {
  const jwks = {
    keys: [
      { kid: 'a', kty: 'RSA', alg: 'RS256' },
      { kid: 'b', kty: 'oct' },
      { kty: 'EC', crv: 'P-256', alg: 'ES256' },
      { kid: 'c', kty: 'oct', alg: 'HS256' },
    ] as Jwk[],
  };
  it('with kid: kid match and (no alg or same alg)', () => {
    expect(selectJwkForToken(jwks, 'a', 'RS256')?.kid).toBe('a');
    expect(selectJwkForToken(jwks, 'a', 'HS256')).toBeUndefined();
    expect(selectJwkForToken(jwks, 'b', 'HS256')?.kid).toBe('b');
    expect(selectJwkForToken(jwks, 'zzz', 'HS256')).toBeUndefined();
  });
  it('without kid: first key whose alg and type fit', () => {
    expect(selectJwkForToken(jwks, undefined, 'HS256')?.kid).toBe('b');
    expect(selectJwkForToken(jwks, undefined, 'ES256')?.crv).toBe('P-256');
    expect(selectJwkForToken(jwks, undefined, 'EdDSA')).toBeUndefined();
  });
  it('extractHs256SharedSecret reads the oct key as UTF-8', () => {
    expect(extractHs256SharedSecret({ kty: 'oct', k: 'cGhhc2U3LXRydXN0ZWQtY3VycmVudC1zZWNyZXQ' })).toBe(
      'phase7-trusted-current-secret',
    );
    expect(() => extractHs256SharedSecret({ kty: 'RSA', n: 'x', e: 'AQAB' })).toThrow(TokenError);
  });
});
