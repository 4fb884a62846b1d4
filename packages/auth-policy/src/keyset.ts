import { TokenError } from './errors.js';
import { type Jwk, type JwksDocument, type JwtAlgorithm, type VerificationKey, importVerificationKey, selectJwkForToken } from './jwk.js';
import { type TokenHeader, type ValidatedJwt, type VerifyJwtOptions, decodeTokenHeader, validateClaims, verifySignature } from './jwt.js';

/**
 * An immutable JWKS with its imported keys cached (keys are imported once per key and algorithm with jose).
 * Verifies tokens by selecting the key by `kid` and `alg` (spec §13 `select_jwk_for_token`).
 */
export class KeySet {
  /** The key set document. */
  readonly jwks: JwksDocument;
  private readonly imported = new Map<Jwk, Map<JwtAlgorithm, Promise<VerificationKey>>>();

  constructor(jwks: JwksDocument) {
    this.jwks = jwks;
  }

  /** The key for a token header, or `NoMatchingKey`. */
  select(header: TokenHeader): Jwk {
    const jwk = selectJwkForToken(this.jwks, header.kid, header.alg);
    if (jwk === undefined) {
      throw new TokenError(
        'NoMatchingKey',
        header.kid === undefined ? `no key in the JWKS fits ${header.alg}` : `no key in the JWKS has kid ${JSON.stringify(header.kid)} for ${header.alg}`,
        'key',
        { details: { kid: header.kid, alg: header.alg } },
      );
    }
    return jwk;
  }

  /** The imported verification key of `jwk` for `alg` (cached; a failed import is not cached). */
  importKey(jwk: Jwk, alg: JwtAlgorithm): Promise<VerificationKey> {
    let byAlg = this.imported.get(jwk);
    if (byAlg === undefined) {
      byAlg = new Map();
      this.imported.set(jwk, byAlg);
    }
    let key = byAlg.get(alg);
    if (key === undefined) {
      key = importVerificationKey(jwk, alg);
      byAlg.set(alg, key);
      const map = byAlg;
      key.catch(() => map.delete(alg));
    }
    return key;
  }

  /** Selects, imports and verifies; throws {@link TokenError} with the spec kind. */
  async verify(token: string, options: VerifyJwtOptions = {}): Promise<ValidatedJwt> {
    const header = decodeTokenHeader(token, options.algorithms);
    return this.verifyDecoded(token, header, options);
  }

  /** Like {@link KeySet.verify} for a header already decoded with {@link decodeTokenHeader}. */
  async verifyDecoded(token: string, header: TokenHeader, options: VerifyJwtOptions = {}): Promise<ValidatedJwt> {
    const key = await this.importKey(this.select(header), header.alg);
    const claims = await verifySignature(token, header, key);
    return validateClaims(claims, header, options);
  }
}

/**
 * Verifies a token against a JWKS document: key by `kid`/`alg`, signature with jose, then claims.
 * For repeated use keep a {@link KeySet}, which caches imported keys.
 */
export function verifyJwtWithJwks(token: string, jwks: JwksDocument, options: VerifyJwtOptions = {}): Promise<ValidatedJwt> {
  return new KeySet(jwks).verify(token, options);
}

/** Options of {@link validateJwtLocally} (spec §13 `validate_jwt_locally`, the HS256 path). */
export interface LocalJwtOptions {
  /** The HS256 shared secret (UTF-8 text or bytes). */
  sharedSecret: string | Uint8Array;
  issuer?: string;
  audience?: string;
  /** Current time in epoch seconds (default: now). */
  nowEpochSeconds?: number;
  /** Leeway in seconds (default 60). */
  leewaySeconds?: number;
}

/** Verifies an HS256 token with a shared secret (spec §13 `validate_jwt_locally`); other algorithms are refused. */
export async function validateJwtLocally(token: string, options: LocalJwtOptions): Promise<ValidatedJwt> {
  const header = decodeTokenHeader(token, ['HS256']);
  const secret = typeof options.sharedSecret === 'string' ? new TextEncoder().encode(options.sharedSecret) : options.sharedSecret;
  if (secret.length === 0) {
    throw new TokenError('InvalidKeyMaterial', 'validateJwtLocally: sharedSecret is empty', 'key');
  }
  const claims = await verifySignature(token, header, secret);
  return validateClaims(claims, header, options);
}
