import { MobKitError, describeType } from '@mobkit/core';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { TokenError } from './errors.js';

/** Token signature algorithms MobKit accepts. `none` and every other value are refused with `UnsupportedAlgorithm`. */
export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256' | 'EdDSA';

/** Every accepted algorithm, in a fixed order. */
export const SUPPORTED_ALGORITHMS: readonly JwtAlgorithm[] = Object.freeze(['HS256', 'RS256', 'ES256', 'EdDSA']);

/** True when `alg` is one of {@link SUPPORTED_ALGORITHMS}. */
export function isSupportedAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && (SUPPORTED_ALGORITHMS as readonly string[]).includes(alg);
}

/** One JSON Web Key as published in a JWKS (spec §13 `Jwk`); other members are kept but ignored. */
export interface Jwk {
  kid?: string;
  kty: string;
  alg?: string;
  use?: string;
  /** Symmetric secret (oct), base64url. */
  k?: string;
  /** RSA modulus and exponent, base64url. */
  n?: string;
  e?: string;
  /** Curve (`P-256`, `Ed25519`) and coordinates, base64url. */
  crv?: string;
  x?: string;
  y?: string;
  [member: string]: unknown;
}

/** A JSON Web Key Set: at least one key. */
export interface JwksDocument {
  keys: Jwk[];
}

/** The two OIDC discovery members MobKit uses (spec §13 `OidcDiscoveryDocument`); others are ignored. */
export interface OidcDiscoveryDocument {
  issuer: string;
  jwksUri: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function nonBlank(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * Validates a parsed OIDC discovery document: `issuer` and `jwks_uri` must be non-blank strings.
 * Throws `InvalidDiscoveryDocument` naming the field.
 */
export function parseOidcDiscoveryDocument(value: unknown, what = 'OIDC discovery document'): OidcDiscoveryDocument {
  if (!isObject(value)) {
    throw new MobKitError(
      'InvalidDiscoveryDocument',
      `${what}: expected a JSON object with issuer and jwks_uri, got ${describeType(value)}`,
      {
        details: { field: '<root>' },
      },
    );
  }
  for (const field of ['issuer', 'jwks_uri'] as const) {
    if (!nonBlank(value[field])) {
      throw new MobKitError(
        'InvalidDiscoveryDocument',
        `${what}: "${field}" must be a non-blank string, got ${describeType(value[field])}`,
        {
          details: { field },
        },
      );
    }
  }
  return { issuer: value.issuer as string, jwksUri: value.jwks_uri as string };
}

/**
 * Validates a parsed JWKS: `{"keys":[…]}` with at least one key, each an object with a string `kty`
 * (and, when present, string `kid`/`alg`). Throws `InvalidJwks` naming the field.
 */
export function parseJwksDocument(value: unknown, what = 'JWKS'): JwksDocument {
  if (!isObject(value) || !Array.isArray(value.keys)) {
    throw new MobKitError(
      'InvalidJwks',
      `${what}: expected {"keys":[…]}, got ${isObject(value) ? `keys of type ${describeType(value.keys)}` : describeType(value)}`,
      {
        details: { field: 'keys' },
      },
    );
  }
  if (value.keys.length === 0) {
    throw new MobKitError('InvalidJwks', `${what}: "keys" is empty; publish at least one verification key`, {
      details: { field: 'keys' },
    });
  }
  const keys = value.keys.map((key, index): Jwk => {
    const field = `keys[${index}]`;
    if (!isObject(key)) {
      throw new MobKitError('InvalidJwks', `${what}: ${field} must be an object, got ${describeType(key)}`, {
        details: { field },
      });
    }
    if (!nonBlank(key.kty)) {
      throw new MobKitError('InvalidJwks', `${what}: ${field}.kty must be a non-blank string (oct, RSA, EC or OKP)`, {
        details: { field: `${field}.kty` },
      });
    }
    for (const member of ['kid', 'alg'] as const) {
      if (key[member] !== undefined && typeof key[member] !== 'string') {
        throw new MobKitError(
          'InvalidJwks',
          `${what}: ${field}.${member} must be a string when present, got ${describeType(key[member])}`,
          {
            details: { field: `${field}.${member}` },
          },
        );
      }
    }
    return key as Jwk;
  });
  return { keys };
}

/** The key type a JWK must have to verify `alg`. */
const KTY_FOR_ALG: Record<JwtAlgorithm, string> = { HS256: 'oct', RS256: 'RSA', ES256: 'EC', EdDSA: 'OKP' };

/** True when the JWK's kty (and curve) can verify `alg`. */
export function jwkFitsAlgorithm(jwk: Jwk, alg: JwtAlgorithm): boolean {
  if (jwk.kty !== KTY_FOR_ALG[alg]) return false;
  if (alg === 'ES256') return jwk.crv === 'P-256';
  if (alg === 'EdDSA') return jwk.crv === 'Ed25519';
  return true;
}

/**
 * Picks the verification key for a token (spec §13 `select_jwk_for_token`): with a `kid`, the key with that kid
 * whose `alg` is absent or equal; without a `kid`, the first key whose `alg` (if any) and key type fit `alg`.
 * Returns `undefined` when nothing matches (the caller raises `NoMatchingKey`).
 */
export function selectJwkForToken(jwks: JwksDocument, kid: string | undefined, alg: JwtAlgorithm): Jwk | undefined {
  if (kid !== undefined) {
    return jwks.keys.find((key) => key.kid === kid && (key.alg === undefined || key.alg === alg));
  }
  return jwks.keys.find((key) => (key.alg === undefined || key.alg === alg) && jwkFitsAlgorithm(key, alg));
}

/** A key ready for jose: a CryptoKey for asymmetric algorithms, the raw secret bytes for HS256. */
export type VerificationKey = CryptoKey | Uint8Array;

function base64UrlBytes(value: unknown, field: string, kid: string | undefined): Buffer {
  if (typeof value !== 'string' || value === '' || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new TokenError(
      'InvalidKeyMaterial',
      `JWK${kid === undefined ? '' : ` "${kid}"`}: "${field}" must be a non-empty base64url string`,
      'key',
      {
        details: { field, kid },
      },
    );
  }
  return Buffer.from(value, 'base64url');
}

/**
 * Turns a JWK into a verification key for `alg` with jose's `importJWK`, keeping only public members
 * (a published private exponent is never used). The key type must fit the algorithm (`UnsupportedAlgorithm`
 * otherwise: an RSA key is never an HS256 secret); RSA moduli must be 2048–8192 bits and P-256 coordinates
 * 32 bytes (`InvalidKeyMaterial`).
 */
export async function importVerificationKey(jwk: Jwk, alg: JwtAlgorithm): Promise<VerificationKey> {
  const kid = jwk.kid;
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new TokenError(
      'UnsupportedAlgorithm',
      `JWK${kid === undefined ? '' : ` "${kid}"`} is for ${jwk.alg}, not ${alg}`,
      'key',
      { details: { kid, alg } },
    );
  }
  if (!jwkFitsAlgorithm(jwk, alg)) {
    throw new TokenError(
      'UnsupportedAlgorithm',
      `JWK${kid === undefined ? '' : ` "${kid}"`} of type ${jwk.kty}${jwk.crv === undefined ? '' : `/${String(jwk.crv)}`} cannot verify ${alg} (needs ${KTY_FOR_ALG[alg]}${alg === 'ES256' ? ' P-256' : alg === 'EdDSA' ? ' Ed25519' : ''})`,
      'key',
      { details: { kid, alg, kty: jwk.kty } },
    );
  }
  let publicJwk: JWK;
  switch (alg) {
    case 'HS256':
      base64UrlBytes(jwk.k, 'k', kid);
      publicJwk = { kty: 'oct', k: jwk.k as string };
      break;
    case 'RS256': {
      const n = base64UrlBytes(jwk.n, 'n', kid);
      base64UrlBytes(jwk.e, 'e', kid);
      let bits = n.length * 8;
      const first = n[0];
      if (first !== undefined) bits -= Math.clz32(first) - 24;
      if (bits < 2048 || bits > 8192) {
        throw new TokenError(
          'InvalidKeyMaterial',
          `JWK${kid === undefined ? '' : ` "${kid}"`}: RSA modulus is ${bits} bits; 2048–8192 are accepted`,
          'key',
          {
            details: { kid, bits },
          },
        );
      }
      publicJwk = { kty: 'RSA', n: jwk.n as string, e: jwk.e as string };
      break;
    }
    case 'ES256':
      for (const field of ['x', 'y'] as const) {
        if (base64UrlBytes(jwk[field], field, kid).length !== 32) {
          throw new TokenError(
            'InvalidKeyMaterial',
            `JWK${kid === undefined ? '' : ` "${kid}"`}: P-256 coordinate "${field}" must be 32 bytes`,
            'key',
            {
              details: { kid, field },
            },
          );
        }
      }
      publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
      break;
    case 'EdDSA':
      if (base64UrlBytes(jwk.x, 'x', kid).length !== 32) {
        throw new TokenError(
          'InvalidKeyMaterial',
          `JWK${kid === undefined ? '' : ` "${kid}"`}: Ed25519 "x" must be 32 bytes`,
          'key',
          { details: { kid, field: 'x' } },
        );
      }
      publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
      break;
  }
  try {
    const key = await importJWK(publicJwk, alg);
    // jose hands HS256 secrets back as bytes and re-imports them into WebCrypto on every verification
    // (~79 µs each). Importing once into a non-extractable HMAC CryptoKey makes each verification ~3× cheaper.
    if (key instanceof Uint8Array) {
      return await globalThis.crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    }
    return key;
  } catch (error) {
    throw new TokenError(
      'InvalidKeyMaterial',
      `JWK${kid === undefined ? '' : ` "${kid}"`} cannot be imported for ${alg}: ${(error as Error).message}`,
      'key',
      {
        cause: error,
        details: { kid, alg },
      },
    );
  }
}

/**
 * The HS256 shared secret of an `oct` JWK as UTF-8 text (spec §13 `extract_hs256_shared_secret`).
 * Throws `InvalidKeyMaterial` when the key is not an oct key with a `k`.
 */
export function extractHs256SharedSecret(jwk: Jwk): string {
  if (jwk.kty !== 'oct') {
    throw new TokenError(
      'InvalidKeyMaterial',
      `JWK${jwk.kid === undefined ? '' : ` "${jwk.kid}"`} is ${jwk.kty}, not an oct (HS256) key`,
      'key',
      {
        details: { kid: jwk.kid },
      },
    );
  }
  return base64UrlBytes(jwk.k, 'k', jwk.kid).toString('utf8');
}
