import { type Clock, MobKitError, systemClock } from '@mobkit/core';
import { TokenError } from './errors.js';
import { isLocalhostClassUrl } from './hosts.js';
import { type ClaimOptions, type ValidatedJwt, decodeTokenHeader, validateClaims } from './jwt.js';
import { KeySet } from './keyset.js';
import { type ParsedTrustedOidc, type TrustedOidcRuntimeConfig, parseTrustedOidcConfig } from './trusted-oidc.js';
import type { AuthPolicy, AuthProvider, ConsolePolicy } from './policy.js';

/** The 401 reason codes of the console (spec §13), sent as `{"error":"unauthorized","reason":<code>}`. */
export type ConsoleAuthReason =
  | 'missing_credentials'
  | 'invalid_trusted_oidc_config'
  | 'invalid_token_header'
  | 'jwks_key_not_found'
  | 'invalid_jwks_key_material'
  | 'invalid_token'
  | 'missing_exp'
  | 'token_lifetime_too_long'
  | 'missing_token_identity'
  | 'hs256_not_allowed'
  | 'provider_mismatch'
  | 'provider_not_supported'
  | 'email_not_allowlisted'
  | 'invalid_service_identity'
  | 'service_identity_not_allowlisted'
  | 'policy_denied';

/** The body of a console 401. */
export interface UnauthorizedBody {
  error: 'unauthorized';
  reason: ConsoleAuthReason;
}

/** `{"error":"unauthorized","reason":reason}`. */
export function unauthorizedBody(reason: ConsoleAuthReason): UnauthorizedBody {
  return { error: 'unauthorized', reason };
}

/** Error codes of console access refusals (each 401). */
export type ConsoleAccessErrorCode =
  | 'MissingCredentials'
  | 'InvalidTrustedAuthConfig'
  | 'MissingTokenIdentity'
  | 'Hs256NotAllowed'
  | 'InvalidServiceIdentity'
  | 'ServiceIdentityNotAllowlisted'
  | 'AuthProviderMismatch'
  | 'AuthProviderNotSupported'
  | 'EmailNotAllowlisted'
  | 'Internal'
  | TokenError['code'];

/** A console request was refused: `reason` is the spec's 401 reason code, `body()` the response body, status 401. */
export class ConsoleAccessError extends MobKitError<ConsoleAccessErrorCode> {
  /** The 401 reason code. */
  readonly reason: ConsoleAuthReason;

  constructor(
    code: ConsoleAccessErrorCode,
    reason: ConsoleAuthReason,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, details: { reason, ...options.details } });
    this.reason = reason;
  }

  /** Always 401. */
  override get httpStatus(): number {
    return 401;
  }

  /** `{"error":"unauthorized","reason":…}`. */
  body(): UnauthorizedBody {
    return unauthorizedBody(this.reason);
  }
}

/** The part of an identity the access rules read. */
export interface ConsoleAccessSubject {
  provider: AuthProvider;
  /** The principal: `email` claim, else `sub` (a service identity is `svc:<name>`). */
  email: string;
}

/**
 * Applies the console access rules in the spec's order (§13 `enforce_console_route_access`):
 * 1. `requireAppAuth` false ⇒ allowed;
 * 2. a `service_identity` must be `svc:<name>` (`invalid_service_identity`) and in the allowlist (`service_identity_not_allowlisted`);
 * 3. otherwise the provider must be the policy's default (`provider_mismatch`);
 * 4. `test_provider` is refused (`provider_not_supported`);
 * 5. the email must be in the allowlist (`email_not_allowlisted`).
 * Throws {@link ConsoleAccessError} (401) when refused; returns nothing when allowed.
 */
export function enforceConsoleRouteAccess(
  authPolicy: AuthPolicy,
  consolePolicy: ConsolePolicy,
  identity: ConsoleAccessSubject,
): void {
  if (!consolePolicy.requireAppAuth) return;
  const allowlist = authPolicy.emailAllowlist;
  if (identity.provider === 'service_identity') {
    if (!identity.email.startsWith('svc:') || identity.email.slice(4).trim() === '') {
      throw new ConsoleAccessError(
        'InvalidServiceIdentity',
        'invalid_service_identity',
        `service identity ${JSON.stringify(identity.email)} must have the form svc:<name>`,
      );
    }
    if (!allowlist.includes(identity.email)) {
      throw new ConsoleAccessError(
        'ServiceIdentityNotAllowlisted',
        'service_identity_not_allowlisted',
        `service identity ${JSON.stringify(identity.email)} is not in auth.email_allowlist`,
        {
          details: { principal: identity.email },
        },
      );
    }
    return;
  }
  if (identity.provider !== authPolicy.defaultProvider) {
    throw new ConsoleAccessError(
      'AuthProviderMismatch',
      'provider_mismatch',
      `identity provider ${identity.provider} is not the console's provider ${authPolicy.defaultProvider}`,
      {
        details: { provider: identity.provider, expected: authPolicy.defaultProvider },
      },
    );
  }
  if (identity.provider === 'test_provider') {
    throw new ConsoleAccessError(
      'AuthProviderNotSupported',
      'provider_not_supported',
      'test_provider identities are not accepted by the console',
    );
  }
  if (!allowlist.includes(identity.email)) {
    throw new ConsoleAccessError(
      'EmailNotAllowlisted',
      'email_not_allowlisted',
      `${JSON.stringify(identity.email)} is not in auth.email_allowlist`,
      {
        details: { principal: identity.email },
      },
    );
  }
}

/** A verified console caller. */
export interface ConsoleIdentity extends ConsoleAccessSubject {
  /** `sub`, when present. */
  subject?: string;
  /** `actor_type`, when present. */
  actorType?: string;
  /** The verified token. */
  jwt: ValidatedJwt;
}

/**
 * Maps verified claims to a console identity (spec §13): principal = `email` || `sub`; `service_identity`
 * when `actor_type` is `service` or the principal starts with `svc:`; else by the `provider` claim
 * (`google_oauth`, `github_oauth`, `generic_oidc`), default `generic_oidc`. Returns undefined without a principal.
 */
export function identityFromJwt(jwt: ValidatedJwt): ConsoleIdentity | undefined {
  const principal = nonEmpty(jwt.email) ?? nonEmpty(jwt.subject);
  if (principal === undefined) return undefined;
  let provider: AuthProvider;
  if (jwt.actorType === 'service' || principal.startsWith('svc:')) provider = 'service_identity';
  else if (jwt.provider === 'google_oauth' || jwt.provider === 'google_o_auth') provider = 'google_o_auth';
  else if (jwt.provider === 'github_oauth' || jwt.provider === 'git_hub_o_auth') provider = 'git_hub_o_auth';
  else provider = 'generic_oidc';
  const identity: ConsoleIdentity = { provider, email: principal, jwt };
  if (jwt.subject !== undefined) identity.subject = jwt.subject;
  if (jwt.actorType !== undefined) identity.actorType = jwt.actorType;
  return identity;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** What a console needs to authenticate a request: a {@link RuntimeDecisionState} has all three. */
export interface ConsoleAuthConfig {
  auth: AuthPolicy;
  console: ConsolePolicy;
  trustedOidc: TrustedOidcRuntimeConfig;
}

/** Outcome of {@link ConsoleAuthenticator.authenticate}: never throws, never a 500. */
export type ConsoleAuthResult =
  | { ok: true; identity: ConsoleIdentity | undefined }
  | { ok: false; status: 401; reason: ConsoleAuthReason; body: UnauthorizedBody; error: ConsoleAccessError };

/** Options of {@link createConsoleAuthenticator}. */
export interface ConsoleAuthenticatorOptions {
  /** Time source (default the system clock). */
  clock?: Clock;
  /** Leeway for `exp`/`nbf` in seconds (default 30, as the original). */
  leewaySeconds?: number;
  /**
   * Refuse tokens without `exp` (reason `missing_exp`; default true: a token that never expires, and every
   * SSE stream opened with it, would stay valid forever). `false` opts out (`[http] require_exp = false`).
   */
  requireExp?: boolean;
  /**
   * The longest token lifetime accepted, in seconds (default {@link DEFAULT_MAX_TOKEN_LIFETIME_SECONDS},
   * 24 h): a token whose `exp − iat` (or `exp − now` without `iat`) is longer is refused with reason
   * `token_lifetime_too_long` (`[http] max_token_lifetime_s`).
   */
  maxTokenLifetimeSeconds?: number;
  /** Verified tokens remembered so a repeated token skips signature work (default 1024, 0 disables; claims and policy are always re-checked). */
  verifiedTokenCacheSize?: number;
}

/** The console's default cap on a token's lifetime: 24 h. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/** Authenticates console requests against a trusted OIDC config; see {@link createConsoleAuthenticator}. */
export interface ConsoleAuthenticator {
  /** Token (or undefined when the request had none) → identity or a 401 refusal with its reason. */
  authenticate(token: string | undefined): Promise<ConsoleAuthResult>;
}

const TOKEN_REASON: Record<TokenError['code'], ConsoleAuthReason> = {
  InvalidFormat: 'invalid_token_header',
  InvalidBase64: 'invalid_token_header',
  InvalidJson: 'invalid_token_header',
  TokenTooLarge: 'invalid_token',
  UnsupportedAlgorithm: 'invalid_token_header',
  InvalidSignature: 'invalid_token',
  InvalidClaims: 'invalid_token',
  Expired: 'invalid_token',
  MissingExpiry: 'missing_exp',
  TokenLifetimeTooLong: 'token_lifetime_too_long',
  NotYetValid: 'invalid_token',
  IssuerMismatch: 'invalid_token',
  AudienceMismatch: 'invalid_token',
  NoMatchingKey: 'jwks_key_not_found',
  InvalidKeyMaterial: 'invalid_jwks_key_material',
};

/**
 * The console 401 reason for a token failure (header faults ⇒ `invalid_token_header`, key faults ⇒
 * `jwks_key_not_found` / `invalid_jwks_key_material`, the expiry policy ⇒ `missing_exp` /
 * `token_lifetime_too_long`, the rest ⇒ `invalid_token`).
 */
export function reasonForTokenError(error: TokenError): ConsoleAuthReason {
  if (error.kind === 'MissingExpiry' || error.kind === 'TokenLifetimeTooLong') return TOKEN_REASON[error.kind];
  if (error.stage === 'payload') return 'invalid_token';
  if (error.stage === 'key' && error.kind === 'UnsupportedAlgorithm') return 'invalid_jwks_key_material';
  return TOKEN_REASON[error.kind];
}

function refuse(error: ConsoleAccessError): ConsoleAuthResult {
  return { ok: false, status: 401, reason: error.reason, body: error.body(), error };
}

/**
 * Builds the console's token check over trusted config (spec §13 console ingress). The trusted discovery and JWKS
 * are parsed once; any caller-supplied key material (`jku`, `x5u`, `jwk` headers) is ignored. Order:
 * `requireAppAuth` false ⇒ allowed without a token → token present (`missing_credentials`) → trusted config valid
 * (`invalid_trusted_oidc_config`) → header (`invalid_token_header`) → key by kid/alg (`jwks_key_not_found`) →
 * HS256 only for localhost-class issuer and jwks_uri (`hs256_not_allowed`) → key material
 * (`invalid_jwks_key_material`) → signature, exp/nbf (leeway 30 s), iss = discovery issuer, aud = trusted
 * audience (`invalid_token`), `exp` present unless `requireExp: false` (`missing_exp`), lifetime at most
 * `maxTokenLifetimeSeconds` (`token_lifetime_too_long`) → principal (`missing_token_identity`) → {@link enforceConsoleRouteAccess}.
 */
export function createConsoleAuthenticator(
  config: ConsoleAuthConfig,
  options: ConsoleAuthenticatorOptions = {},
): ConsoleAuthenticator {
  const clock = options.clock ?? systemClock;
  const leewaySeconds = options.leewaySeconds ?? 30;
  const requireExpiry = options.requireExp ?? true;
  const maxLifetimeSeconds = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (typeof maxLifetimeSeconds !== 'number' || !Number.isFinite(maxLifetimeSeconds) || maxLifetimeSeconds <= 0) {
    throw new TypeError(
      `createConsoleAuthenticator: maxTokenLifetimeSeconds must be a positive number of seconds, got ${String(maxLifetimeSeconds)}`,
    );
  }
  let trusted: { parsed: ParsedTrustedOidc; keys: KeySet; hs256Allowed: boolean } | undefined;
  let configError: ConsoleAccessError | undefined;
  if (config.console.requireAppAuth) {
    try {
      const parsed = parseTrustedOidcConfig(config.trustedOidc);
      trusted = {
        parsed,
        keys: new KeySet(parsed.jwks, { verifiedCacheSize: options.verifiedTokenCacheSize }),
        hs256Allowed: isLocalhostClassUrl(parsed.discovery.issuer) && isLocalhostClassUrl(parsed.discovery.jwksUri),
      };
    } catch (error) {
      configError = new ConsoleAccessError(
        'InvalidTrustedAuthConfig',
        'invalid_trusted_oidc_config',
        `console trusted OIDC config is invalid: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async function authenticate(token: string | undefined): Promise<ConsoleAuthResult> {
    if (!config.console.requireAppAuth) return { ok: true, identity: undefined };
    if (token === undefined || token.trim() === '') {
      return refuse(
        new ConsoleAccessError(
          'MissingCredentials',
          'missing_credentials',
          'console requests need a token: Authorization: Bearer <token> or ?auth_token=<token>',
        ),
      );
    }
    if (trusted === undefined)
      return refuse(
        configError ??
          new ConsoleAccessError(
            'InvalidTrustedAuthConfig',
            'invalid_trusted_oidc_config',
            'console trusted OIDC config is missing',
          ),
      );
    const claimOptions = {
      issuer: trusted.parsed.discovery.issuer,
      audience: trusted.parsed.audience,
      leewaySeconds,
      requireExpiry,
      maxLifetimeSeconds,
      nowEpochSeconds: Math.floor(clock.nowMs() / 1000),
    };
    try {
      // A token whose signature already verified against this immutable key set skips straight to the claim checks.
      const hit = trusted.keys.lookupVerified(token);
      const jwt =
        hit !== undefined
          ? validateClaims(hit.claims, hit.header, claimOptions)
          : await verifyFresh(trusted, token, claimOptions);
      if (jwt instanceof ConsoleAccessError) return refuse(jwt);
      const identity = identityFromJwt(jwt);
      if (identity === undefined) {
        return refuse(
          new ConsoleAccessError(
            'MissingTokenIdentity',
            'missing_token_identity',
            'the token has neither an email nor a sub claim',
          ),
        );
      }
      enforceConsoleRouteAccess(config.auth, config.console, identity);
      return { ok: true, identity };
    } catch (error) {
      if (error instanceof ConsoleAccessError) return refuse(error);
      if (error instanceof TokenError) {
        return refuse(
          new ConsoleAccessError(error.kind, reasonForTokenError(error), error.message, {
            cause: error,
            details: { kind: error.kind },
          }),
        );
      }
      return refuse(
        new ConsoleAccessError(
          'Internal',
          'policy_denied',
          `console access check failed: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
      );
    }
  }

  return { authenticate };
}

/** Header → key by kid/alg → HS256 host rule → key import → signature and claims (the uncached path). */
async function verifyFresh(
  trusted: { parsed: ParsedTrustedOidc; keys: KeySet; hs256Allowed: boolean },
  token: string,
  claimOptions: ClaimOptions,
): Promise<ValidatedJwt | ConsoleAccessError> {
  const header = decodeTokenHeader(token);
  const jwk = trusted.keys.select(header);
  if (header.alg === 'HS256' && !trusted.hs256Allowed) {
    return new ConsoleAccessError(
      'Hs256NotAllowed',
      'hs256_not_allowed',
      'HS256 console tokens are accepted only when the trusted issuer and jwks_uri hosts are localhost-class',
      {
        details: { issuer: trusted.parsed.discovery.issuer, jwksUri: trusted.parsed.discovery.jwksUri },
      },
    );
  }
  await trusted.keys.importKey(jwk, header.alg);
  return trusted.keys.verifyDecoded(token, header, claimOptions);
}
