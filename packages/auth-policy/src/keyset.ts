import { TokenError } from './errors.js';
import {
  type Jwk,
  type JwksDocument,
  type JwtAlgorithm,
  type VerificationKey,
  importVerificationKey,
  selectJwkForToken,
} from './jwk.js';
import {
  type TokenHeader,
  type ValidatedJwt,
  type VerifyJwtOptions,
  decodeTokenHeader,
  validateClaims,
  verifySignature,
} from './jwt.js';

/**
 * An immutable JWKS with its imported keys cached (keys are imported once per key and algorithm with jose).
 * Verifies tokens by selecting the key by `kid` and `alg` (spec §13 `select_jwk_for_token`).
 */
export class KeySet {
  /** The key set document. */
  readonly jwks: JwksDocument;
  private readonly imported = new Map<Jwk, Map<JwtAlgorithm, Promise<VerificationKey>>>();
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly verifiedCacheSize: number;

  /**
   * @param jwks the key set.
   * @param options.verifiedCacheSize how many tokens whose signature verified against this set to remember
   *   (default 1024, 0 disables). A remembered token skips decoding and signature checks but its claims
   *   (`exp`, `nbf`, `iss`, `aud`) are checked again on every use. Only tokens up to 4 KiB are remembered.
   */
  constructor(jwks: JwksDocument, options: { verifiedCacheSize?: number } = {}) {
    this.jwks = jwks;
    this.verifiedCacheSize = options.verifiedCacheSize ?? 1024;
  }

  /**
   * The header and claims of `token` if its signature already verified against this key set, else undefined.
   * The set is immutable, so a signature that verified once verifies again.
   */
  lookupVerified(token: string): VerifiedToken | undefined {
    return this.verified.get(token);
  }

  private remember(token: string, entry: VerifiedToken): void {
    if (this.verifiedCacheSize <= 0 || token.length > 4096) return;
    if (this.verified.size >= this.verifiedCacheSize) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, entry);
  }

  /** The key for a token header, or `NoMatchingKey`. */
  select(header: TokenHeader): Jwk {
    const jwk = selectJwkForToken(this.jwks, header.kid, header.alg);
    if (jwk === undefined) {
      throw new TokenError(
        'NoMatchingKey',
        header.kid === undefined
          ? `no key in the JWKS fits ${header.alg}`
          : `no key in the JWKS has kid ${JSON.stringify(header.kid)} for ${header.alg}`,
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
    const hit = this.verified.get(token);
    if (hit !== undefined && (options.algorithms === undefined || options.algorithms.includes(hit.header.alg))) {
      return validateClaims(hit.claims, hit.header, options);
    }
    const header = decodeTokenHeader(token, options.algorithms);
    return this.verifyDecoded(token, header, options);
  }

  /** Like {@link KeySet.verify} for a header already decoded with {@link decodeTokenHeader}. */
  async verifyDecoded(token: string, header: TokenHeader, options: VerifyJwtOptions = {}): Promise<ValidatedJwt> {
    const hit = this.verified.get(token);
    if (hit !== undefined) return validateClaims(hit.claims, hit.header, options);
    const key = await this.importKey(this.select(header), header.alg);
    const claims = await verifySignature(token, header, key);
    const result = validateClaims(claims, header, options);
    this.remember(token, { header, claims: result.claims });
    return result;
  }
}

/** A token whose signature verified: its header and claims. */
export interface VerifiedToken {
  header: TokenHeader;
  claims: Readonly<Record<string, unknown>>;
}

/**
 * Verifies a token against a JWKS document: key by `kid`/`alg`, signature with jose, then claims.
 * For repeated use keep a {@link KeySet}, which caches imported keys.
 */
export function verifyJwtWithJwks(
  token: string,
  jwks: JwksDocument,
  options: VerifyJwtOptions = {},
): Promise<ValidatedJwt> {
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
  const secret =
    typeof options.sharedSecret === 'string' ? new TextEncoder().encode(options.sharedSecret) : options.sharedSecret;
  if (secret.length === 0) {
    throw new TokenError('InvalidKeyMaterial', 'validateJwtLocally: sharedSecret is empty', 'key');
  }
  const claims = await verifySignature(token, header, secret);
  return validateClaims(claims, header, options);
}
