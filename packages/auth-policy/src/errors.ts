import { MobKitError, type MobKitErrorOptions } from '@mobkit/core';

/**
 * The spec's token validation kinds (§13 `JwtValidationError`, plus `NoMatchingKey`, `InvalidKeyMaterial`,
 * `TokenTooLarge`, `InvalidClaims`, and `MissingExpiry` / `TokenLifetimeTooLong` of the expiry policy).
 * A {@link TokenError}'s `code` is always one of these.
 */
export type TokenErrorKind =
  | 'InvalidFormat'
  | 'InvalidBase64'
  | 'InvalidJson'
  | 'TokenTooLarge'
  | 'UnsupportedAlgorithm'
  | 'InvalidSignature'
  | 'InvalidClaims'
  | 'Expired'
  | 'MissingExpiry'
  | 'TokenLifetimeTooLong'
  | 'NotYetValid'
  | 'IssuerMismatch'
  | 'AudienceMismatch'
  | 'NoMatchingKey'
  | 'InvalidKeyMaterial';

/** Where in the token a failure was found: the header (before any key is chosen), the key, or the signed content. */
export type TokenErrorStage = 'header' | 'key' | 'payload';

/**
 * A token was refused. `code` is the spec kind (`Expired`, `InvalidSignature`, …), `stage` says whether the
 * header, the key or the signed content was at fault, and `httpStatus` is always 401: a bad token is never a 500.
 */
export class TokenError extends MobKitError<TokenErrorKind> {
  /** Which part of the token was at fault. */
  readonly stage: TokenErrorStage;

  constructor(kind: TokenErrorKind, message: string, stage: TokenErrorStage, options: MobKitErrorOptions = {}) {
    super(kind, message, { ...options, details: { kind, stage, ...options.details } });
    this.stage = stage;
  }

  /** The spec kind; same as `code`. */
  get kind(): TokenErrorKind {
    return this.code;
  }

  /** Always 401. */
  override get httpStatus(): number {
    return 401;
  }
}

/** A JWKS could not be had (discovery or key set fetch failed, or the fetched documents are invalid). */
export class JwksError extends MobKitError<
  'OidcDiscoveryFailed' | 'JwksFetchFailed' | 'InvalidDiscoveryDocument' | 'InvalidJwks'
> {}

/** A {@link buildRuntimeDecisionState} input was invalid. `details.field` names the input (`bigquery.dataset`, …). */
export class DecisionStateError extends MobKitError {}

/** Narrow helper: true when `value` is a {@link TokenError}. */
export function isTokenError(value: unknown): value is TokenError {
  return value instanceof TokenError;
}
