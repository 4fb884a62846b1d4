import type { ErrorCodeInfo } from './types.js';

/** Codes raised by JWT/JWKS/OIDC verification and console access policy. Reuse a code from core.ts when the meaning is the same. */
export const authErrorCodes = {
  // Token verification (spec §13 `JwtValidationError` kinds; a malformed JSON segment reuses core's `InvalidJson`).
  InvalidFormat: { rpc: -32001, http: 401, summary: 'a token is not a compact JWS of three base64url segments' },
  InvalidBase64: { rpc: -32001, http: 401, summary: 'a token segment is not valid unpadded base64url' },
  TokenTooLarge: { rpc: -32001, http: 401, summary: 'a token is longer than the accepted maximum (16 KiB)' },
  UnsupportedAlgorithm: {
    rpc: -32001,
    http: 401,
    summary: 'a token algorithm is not accepted, or the key does not fit the algorithm',
  },
  InvalidSignature: { rpc: -32001, http: 401, summary: 'a token signature does not verify' },
  InvalidClaims: { rpc: -32001, http: 401, summary: 'a token claim has the wrong type or a required claim is missing' },
  Expired: { rpc: -32001, http: 401, summary: 'a token is past its exp (beyond the leeway)' },
  NotYetValid: { rpc: -32001, http: 401, summary: 'a token is before its nbf (beyond the leeway)' },
  MissingExpiry: { rpc: -32001, http: 401, summary: 'a token has no exp claim and the verifier requires one' },
  TokenLifetimeTooLong: {
    rpc: -32001,
    http: 401,
    summary: 'a token lifetime (exp − iat, or exp − now without iat) is longer than the accepted maximum',
  },
  IssuerMismatch: { rpc: -32001, http: 401, summary: 'a token iss is not the expected issuer' },
  AudienceMismatch: { rpc: -32001, http: 401, summary: 'a token aud does not contain the expected audience' },
  NoMatchingKey: { rpc: -32001, http: 401, summary: 'no key in the JWKS matches the token kid and alg' },
  InvalidKeyMaterial: { rpc: -32001, http: 401, summary: 'a JWK cannot be used as a verification key' },
  // JWKS / OIDC discovery documents and fetching.
  InvalidDiscoveryDocument: {
    rpc: -32602,
    http: 400,
    summary: 'an OIDC discovery document lacks a non-blank issuer or jwks_uri',
  },
  InvalidJwks: { rpc: -32602, http: 400, summary: 'a JWKS document is not {"keys":[…]} with at least one key' },
  OidcDiscoveryFailed: { rpc: -32003, http: 503, summary: 'the OIDC discovery document could not be fetched' },
  JwksFetchFailed: { rpc: -32003, http: 503, summary: 'the JWKS could not be fetched' },
  // Console access (spec §13 console ingress and `enforce_console_route_access`).
  MissingCredentials: { rpc: -32001, http: 401, summary: 'a console request carries no bearer token or auth_token' },
  MissingTokenIdentity: { rpc: -32001, http: 401, summary: 'a token has neither email nor sub' },
  Hs256NotAllowed: {
    rpc: -32001,
    http: 401,
    summary: 'HS256 is accepted only when issuer and jwks_uri hosts are localhost-class',
  },
  InvalidServiceIdentity: { rpc: -32001, http: 401, summary: 'a service identity does not have the form svc:<name>' },
  ServiceIdentityNotAllowlisted: { rpc: -32001, http: 401, summary: 'a service identity is not in the allowlist' },
  AuthProviderMismatch: { rpc: -32001, http: 401, summary: 'the identity provider is not the policy default provider' },
  AuthProviderNotSupported: {
    rpc: -32001,
    http: 401,
    summary: 'the identity provider (test_provider) is not accepted',
  },
  EmailNotAllowlisted: { rpc: -32001, http: 401, summary: 'the identity email is not in the allowlist' },
  // Runtime decision state (spec §14 `build_runtime_decision_state`).
  EmptyBigQueryDataset: { rpc: -32602, http: 400, summary: 'bigquery.dataset is blank' },
  EmptyBigQueryTable: { rpc: -32602, http: 400, summary: 'bigquery.table is blank' },
  InvalidBigQueryName: {
    rpc: -32602,
    http: 400,
    summary: 'a BigQuery dataset or table name has characters outside [A-Za-z0-9_-]',
  },
  ReplicaCountMustBeOne: {
    rpc: -32602,
    http: 400,
    summary: 'ops.replica_count must be 1 in this single-process runtime',
  },
  SloTargetsNotSupportedV01: {
    rpc: -32602,
    http: 400,
    summary: 'ops.metrics.enforce_slo_targets is not supported yet',
  },
  InvalidReleaseMetadata: {
    rpc: -32602,
    http: 400,
    summary: 'release metadata JSON does not parse or lacks targets/support_matrix',
  },
  DuplicateReleaseTarget: { rpc: -32602, http: 400, summary: 'release metadata lists a target twice' },
  MissingReleaseTarget: {
    rpc: -32602,
    http: 400,
    summary: 'release metadata lacks one of crates.io, npm, pypi, github-releases',
  },
  InvalidSupportMatrix: { rpc: -32602, http: 400, summary: 'release metadata support_matrix is not same-as-meerkat' },
  InvalidTrustedAuthConfig: {
    rpc: -32602,
    http: 400,
    summary: 'trusted OIDC audience, discovery JSON or JWKS JSON is invalid',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
