import { describeType } from '@mobkit/core';
import { compactVerify, errors as joseErrors } from 'jose';
import { TokenError } from './errors.js';
import { type JwtAlgorithm, type VerificationKey, isSupportedAlgorithm } from './jwk.js';

/** Tokens longer than this (16 KiB) are refused before any decoding (`TokenTooLarge`). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** The parts of a token header MobKit reads. `jku`, `x5u`, `jwk` and `x5c` are never used: keys come only from trusted config. */
export interface TokenHeader {
  alg: JwtAlgorithm;
  kid?: string;
  typ?: string;
}

/** A token that passed signature and claim checks (spec §13 `ValidatedJwt`, camelCase). */
export interface ValidatedJwt {
  /** `sub`, when present. */
  subject?: string;
  /** `email`, when present. */
  email?: string;
  /** `provider` claim, when present (`google_oauth`, `github_oauth`, `generic_oidc`, …). */
  provider?: string;
  /** `actor_type` claim, when present (`service` marks a service identity). */
  actorType?: string;
  /** `iss`, when present. */
  issuer?: string;
  /** `aud` as a list (a string `aud` becomes a one-element list). */
  audience: string[];
  /** `exp`, when present. */
  expiresAtEpochSeconds?: number;
  /** `nbf`, when present. */
  notBeforeEpochSeconds?: number;
  /** The verified header (`alg`, `kid`). */
  header: TokenHeader;
  /** Every claim of the verified payload. */
  claims: Readonly<Record<string, unknown>>;
}

/** Claim checks applied after the signature verifies. */
export interface ClaimOptions {
  /** Expected `iss` (exact match); unchecked when absent. */
  issuer?: string;
  /** Expected audience: `aud` (string or array) must contain it; unchecked when absent. */
  audience?: string;
  /** Current time in epoch seconds (default: now). */
  nowEpochSeconds?: number;
  /** Clock leeway for `exp` and `nbf` in seconds (default 60). */
  leewaySeconds?: number;
  /**
   * Refuse tokens without `exp` (`MissingExpiry`); off by default in this generic verifier, as in the
   * original. The console authenticator turns it on by default (`requireExp`).
   */
  requireExpiry?: boolean;
  /**
   * Refuse tokens whose lifetime is longer than this many seconds (`TokenLifetimeTooLong`): `exp − iat`,
   * or `exp − now` when the token has no `iat`. Unchecked when absent, and for tokens without `exp`.
   */
  maxLifetimeSeconds?: number;
}

/** Options of {@link verifyJwt}. */
export interface VerifyJwtOptions extends ClaimOptions {
  /** Algorithms the caller accepts (default: all of HS256, RS256, ES256, EdDSA). */
  algorithms?: readonly JwtAlgorithm[];
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

function decodeSegment(segment: string, name: string, stage: 'header' | 'payload'): Buffer {
  // Unpadded base64url only: no '=', '+', '/', whitespace; a length of 4n+1 cannot encode whole bytes.
  if (!SEGMENT.test(segment) || segment.length % 4 === 1) {
    throw new TokenError('InvalidBase64', `token ${name} is not valid unpadded base64url`, stage, {
      details: { segment: name },
    });
  }
  return Buffer.from(segment, 'base64url');
}

function parseJsonObject(bytes: Buffer, name: string, stage: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TokenError('InvalidJson', `token ${name} is not valid UTF-8 JSON: ${(error as Error).message}`, stage, {
      cause: error,
      details: { segment: name },
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenError('InvalidJson', `token ${name} must be a JSON object, got ${describeType(value)}`, stage, {
      details: { segment: name },
    });
  }
  return value as Record<string, unknown>;
}

function splitToken(token: unknown): [string, string, string] {
  if (typeof token !== 'string' || token === '') {
    throw new TokenError('InvalidFormat', 'token must be a non-empty string', 'header');
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TokenError(
      'TokenTooLarge',
      `token is ${token.length} characters; at most ${MAX_TOKEN_LENGTH} are accepted`,
      'header',
      {
        details: { length: token.length, max: MAX_TOKEN_LENGTH },
      },
    );
  }
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new TokenError(
      'InvalidFormat',
      `token must be a compact JWS of 3 dot-separated segments, got ${parts.length}`,
      'header',
      {
        details: { segments: parts.length },
      },
    );
  }
  return parts as [string, string, string];
}

/**
 * Reads and checks a token's header without verifying anything else: size (≤ 16 KiB), three segments,
 * base64url, JSON object, `alg` one of the accepted algorithms (never `none`), `kid` a string when present.
 * Also checks that the payload and signature segments are base64url, so a broken token fails here.
 */
export function decodeTokenHeader(
  token: string,
  algorithms: readonly JwtAlgorithm[] = ['HS256', 'RS256', 'ES256', 'EdDSA'],
): TokenHeader {
  const [headerPart, payloadPart, signaturePart] = splitToken(token);
  const header = parseJsonObject(decodeSegment(headerPart, 'header', 'header'), 'header', 'header');
  decodeSegment(payloadPart, 'payload', 'payload');
  decodeSegment(signaturePart, 'signature', 'payload');
  const alg = header.alg;
  if (typeof alg !== 'string') {
    throw new TokenError('InvalidFormat', `token header "alg" must be a string, got ${describeType(alg)}`, 'header');
  }
  if (!isSupportedAlgorithm(alg) || !algorithms.includes(alg)) {
    throw new TokenError(
      'UnsupportedAlgorithm',
      `token algorithm ${JSON.stringify(alg.slice(0, 40))} is not accepted (accepted: ${algorithms.join(', ')})`,
      'header',
      {
        details: { alg: alg.slice(0, 40) },
      },
    );
  }
  if (signaturePart === '') {
    throw new TokenError('InvalidFormat', 'token has an empty signature segment', 'header');
  }
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') {
    throw new TokenError('InvalidFormat', `token header "kid" must be a string, got ${describeType(kid)}`, 'header');
  }
  const out: TokenHeader = { alg };
  if (kid !== undefined) out.kid = kid;
  if (typeof header.typ === 'string') out.typ = header.typ;
  return out;
}

function optionalString(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new TokenError(
      'InvalidClaims',
      `token claim "${name}" must be a string, got ${describeType(value)}`,
      'payload',
      { details: { claim: name } },
    );
  return value;
}

function optionalNumber(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TokenError(
      'InvalidClaims',
      `token claim "${name}" must be a number of epoch seconds, got ${describeType(value)}`,
      'payload',
      { details: { claim: name } },
    );
  }
  return value;
}

/**
 * Refuses a token whose lifetime, `exp − iat` (or `exp − now` without `iat`), is longer than `max` seconds:
 * a stolen long-lived token stays usable for as long as it lives, and an SSE stream opened with it stays
 * open until its `exp`.
 */
function checkLifetime(exp: number | undefined, iat: number | undefined, now: number, max: number | undefined): void {
  if (exp === undefined || max === undefined) return;
  const lifetime = exp - (iat ?? now);
  if (lifetime <= max) return;
  throw new TokenError(
    'TokenLifetimeTooLong',
    `token lifetime is ${lifetime} s (exp − ${iat === undefined ? 'now' : 'iat'}); at most ${max} s is accepted`,
    'payload',
    { details: { lifetime, max, from: iat === undefined ? 'now' : 'iat' } },
  );
}

/**
 * Checks the claims of a verified payload and builds the {@link ValidatedJwt}: `exp` required when
 * `requireExpiry`; the lifetime at most `maxLifetimeSeconds`; `exp` expired iff `exp < now − leeway`; `nbf`
 * invalid iff `nbf > now + leeway`; `iat` a number when present; `iss` exact; `aud` string or array
 * containing the expected audience.
 */
export function validateClaims(
  claims: Record<string, unknown>,
  header: TokenHeader,
  options: ClaimOptions = {},
): ValidatedJwt {
  const now = options.nowEpochSeconds ?? Math.floor(Date.now() / 1000);
  const leeway = options.leewaySeconds ?? 60;
  const exp = optionalNumber(claims, 'exp');
  const nbf = optionalNumber(claims, 'nbf');
  const iat = optionalNumber(claims, 'iat');
  const issuer = optionalString(claims, 'iss');
  const rawAud = claims.aud;
  let audience: string[];
  if (rawAud === undefined || rawAud === null) audience = [];
  else if (typeof rawAud === 'string') audience = [rawAud];
  else if (Array.isArray(rawAud) && rawAud.every((a) => typeof a === 'string')) audience = rawAud as string[];
  else
    throw new TokenError(
      'InvalidClaims',
      `token claim "aud" must be a string or an array of strings, got ${describeType(rawAud)}`,
      'payload',
      { details: { claim: 'aud' } },
    );

  if (exp === undefined && options.requireExpiry === true) {
    throw new TokenError('MissingExpiry', 'token has no "exp" claim; this verifier requires one', 'payload', {
      details: { claim: 'exp' },
    });
  }
  if (exp !== undefined && exp < now - leeway) {
    throw new TokenError('Expired', `token expired at ${exp} (now ${now}, leeway ${leeway} s)`, 'payload', {
      details: { exp, now, leeway },
    });
  }
  if (nbf !== undefined && nbf > now + leeway) {
    throw new TokenError(
      'NotYetValid',
      `token is not valid before ${nbf} (now ${now}, leeway ${leeway} s)`,
      'payload',
      { details: { nbf, now, leeway } },
    );
  }
  checkLifetime(exp, iat, now, options.maxLifetimeSeconds);
  if (options.issuer !== undefined && issuer !== options.issuer) {
    throw new TokenError(
      'IssuerMismatch',
      `token issuer ${issuer === undefined ? '(none)' : JSON.stringify(issuer)} is not the expected ${JSON.stringify(options.issuer)}`,
      'payload',
      {
        details: { expected: options.issuer, actual: issuer },
      },
    );
  }
  if (options.audience !== undefined && !audience.includes(options.audience)) {
    throw new TokenError(
      'AudienceMismatch',
      `token audience ${JSON.stringify(audience)} does not contain ${JSON.stringify(options.audience)}`,
      'payload',
      {
        details: { expected: options.audience, actual: audience },
      },
    );
  }
  const out: ValidatedJwt = { audience, header, claims: Object.freeze({ ...claims }) };
  const subject = optionalString(claims, 'sub');
  const email = optionalString(claims, 'email');
  const provider = optionalString(claims, 'provider');
  const actorType = optionalString(claims, 'actor_type');
  if (subject !== undefined) out.subject = subject;
  if (email !== undefined) out.email = email;
  if (provider !== undefined) out.provider = provider;
  if (actorType !== undefined) out.actorType = actorType;
  if (issuer !== undefined) out.issuer = issuer;
  if (exp !== undefined) out.expiresAtEpochSeconds = exp;
  if (nbf !== undefined) out.notBeforeEpochSeconds = nbf;
  return out;
}

/**
 * Verifies a token's signature with jose against `key` for exactly the header's algorithm. Throws
 * `InvalidSignature` when it does not verify and `UnsupportedAlgorithm` when the key cannot verify that
 * algorithm. Returns the decoded payload object.
 * @internal
 */
export async function verifySignature(
  token: string,
  header: TokenHeader,
  key: VerificationKey,
): Promise<Record<string, unknown>> {
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(token, key, { algorithms: [header.alg] }));
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new TokenError('InvalidSignature', 'token signature does not verify', 'payload', { cause: error });
    }
    if (
      error instanceof joseErrors.JOSEAlgNotAllowed ||
      error instanceof joseErrors.JOSENotSupported ||
      error instanceof TypeError
    ) {
      throw new TokenError(
        'UnsupportedAlgorithm',
        `token cannot be verified with this key for ${header.alg}: ${(error as Error).message}`,
        'key',
        { cause: error },
      );
    }
    if (error instanceof joseErrors.JWSInvalid) {
      throw new TokenError('InvalidFormat', `token is not a valid JWS: ${error.message}`, 'header', { cause: error });
    }
    throw new TokenError(
      'InvalidSignature',
      `token signature does not verify: ${(error as Error).message}`,
      'payload',
      { cause: error },
    );
  }
  return parseJsonObject(Buffer.from(payload), 'payload', 'payload');
}

/**
 * Verifies a compact JWS token against one key and checks its claims (spec §13): the header's `alg` must be
 * accepted and the key must fit it; then signature (jose), `exp`/`nbf` with leeway, `iss`, `aud`.
 * Throws {@link TokenError} with the spec kind; never anything else for a bad token.
 */
export async function verifyJwt(
  token: string,
  key: VerificationKey,
  options: VerifyJwtOptions = {},
): Promise<ValidatedJwt> {
  const header = decodeTokenHeader(token, options.algorithms);
  const claims = await verifySignature(token, header, key);
  return validateClaims(claims, header, options);
}
