/**
 * @mobkit/auth-policy — who may see and drive the mob: JWT verification (HS256, RS256, ES256, EdDSA) with jose,
 * JWKS key selection and an OIDC-discovery JWKS cache, the console's access rules and 401 reason codes, and the
 * validated runtime decision state. Express middleware lives in the `@mobkit/auth-policy/express` subpath.
 * @packageDocumentation
 */
export {
  TokenError,
  JwksError,
  DecisionStateError,
  isTokenError,
  type TokenErrorKind,
  type TokenErrorStage,
} from './errors.js';
export {
  SUPPORTED_ALGORITHMS,
  isSupportedAlgorithm,
  parseOidcDiscoveryDocument,
  parseJwksDocument,
  selectJwkForToken,
  jwkFitsAlgorithm,
  importVerificationKey,
  extractHs256SharedSecret,
  type JwtAlgorithm,
  type Jwk,
  type JwksDocument,
  type OidcDiscoveryDocument,
  type VerificationKey,
} from './jwk.js';
export {
  MAX_TOKEN_LENGTH,
  decodeTokenHeader,
  validateClaims,
  verifyJwt,
  type TokenHeader,
  type ValidatedJwt,
  type ClaimOptions,
  type VerifyJwtOptions,
} from './jwt.js';
export { KeySet, verifyJwtWithJwks, validateJwtLocally, type LocalJwtOptions, type VerifiedToken } from './keyset.js';
export { JwksCache, type JwksCacheConfig, type JwksCacheStats, type FetchLike } from './jwks-cache.js';
export {
  isLocalhostClassHost,
  isLocalhostClassUrl,
  parseHostHeader,
  normalizeOrigin,
  type HostHeader,
} from './hosts.js';
export {
  parseTrustedOidcConfig,
  TrustedOidcConfigCodec,
  type TrustedOidcRuntimeConfig,
  type ParsedTrustedOidc,
} from './trusted-oidc.js';
export {
  AUTH_PROVIDERS,
  defaultAuthPolicy,
  defaultConsolePolicy,
  AuthProviderCodec,
  AuthPolicyCodec,
  ConsolePolicyCodec,
  parseAuthPolicy,
  authPolicyToWire,
  parseConsolePolicy,
  consolePolicyToWire,
  type AuthProvider,
  type AuthPolicy,
  type AuthPolicyWire,
  type ConsolePolicy,
  type ConsolePolicyWire,
} from './policy.js';
export {
  unauthorizedBody,
  enforceConsoleRouteAccess,
  identityFromJwt,
  reasonForTokenError,
  createConsoleAuthenticator,
  DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
  ConsoleAccessError,
  type ConsoleAuthReason,
  type UnauthorizedBody,
  type ConsoleAccessErrorCode,
  type ConsoleAccessSubject,
  type ConsoleIdentity,
  type ConsoleAuthConfig,
  type ConsoleAuthResult,
  type ConsoleAuthenticator,
  type ConsoleAuthenticatorOptions,
} from './console.js';
export {
  REQUIRED_RELEASE_TARGETS,
  SUPPORT_MATRIX,
  defaultOpsPolicy,
  validateBigQueryNaming,
  validateOpsPolicy,
  parseReleaseMetadata,
  buildRuntimeDecisionState,
  type BigQueryNaming,
  type RuntimeOpsPolicy,
  type ReleaseMetadata,
  type RuntimeDecisionInputs,
  type RuntimeDecisionState,
} from './decisions.js';
export {
  parseRuntimeDecisionInputs,
  RuntimeDecisionInputsCodec,
  RuntimeDecisionStateCodec,
  runtimeDecisionStateToWire,
  type RuntimeDecisionInputsWire,
  type RuntimeDecisionStateWire,
} from './decision-wire.js';
