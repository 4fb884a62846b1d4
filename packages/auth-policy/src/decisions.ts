import {
  type MobKitErrorCode,
  type ModuleConfig,
  MobKitError,
  describeType,
  loadTrustedModulesFromToml,
} from '@mobkit/core';
import {
  AUTH_PROVIDERS,
  type AuthPolicy,
  type ConsolePolicy,
  defaultAuthPolicy,
  defaultConsolePolicy,
} from './policy.js';
import { DecisionStateError } from './errors.js';
import { type TrustedOidcRuntimeConfig, parseTrustedOidcConfig } from './trusted-oidc.js';

/** Where session rows live in BigQuery (spec §12 `BigQueryNaming`): names of `[A-Za-z0-9_-]` only. */
export interface BigQueryNaming {
  dataset: string;
  table: string;
}

/** What the single-process runtime can honour (spec §14 `RuntimeOpsPolicy`). */
export interface RuntimeOpsPolicy {
  /** Must be 1 (default 1). */
  replicaCount: number;
  metrics: {
    /** Must be false (default false). */
    enforceSloTargets: boolean;
  };
}

/** The original's default ops policy: one replica, no SLO enforcement. */
export function defaultOpsPolicy(): RuntimeOpsPolicy {
  return { replicaCount: 1, metrics: { enforceSloTargets: false } };
}

/** Release targets and support matrix (spec §14 `ReleaseMetadata`, from `release-targets.json`). */
export interface ReleaseMetadata {
  targets: string[];
  supportMatrix: string;
}

/** The four release targets the original requires. */
export const REQUIRED_RELEASE_TARGETS: readonly string[] = Object.freeze([
  'crates.io',
  'npm',
  'pypi',
  'github-releases',
]);

/** The only accepted support matrix. */
export const SUPPORT_MATRIX = 'same-as-meerkat';

/** Inputs of {@link buildRuntimeDecisionState} (spec §14 `RuntimeDecisionInputs`, camelCase). */
export interface RuntimeDecisionInputs {
  bigquery: BigQueryNaming;
  /** The trust manifest (`mobkit.toml`) text: `[[modules]] id, command, args, restart_policy`. */
  trustedMobkitToml: string;
  /** Default `{ defaultProvider: 'google_o_auth', emailAllowlist: [] }`; missing members take defaults. */
  auth?: Partial<AuthPolicy>;
  trustedOidc: TrustedOidcRuntimeConfig;
  /** Default `{ requireAppAuth: true }`. */
  console?: Partial<ConsolePolicy>;
  /** Default `{ replicaCount: 1, metrics: { enforceSloTargets: false } }`. */
  ops?: { replicaCount?: number; metrics?: { enforceSloTargets?: boolean } };
  /** `{"targets":[…],"support_matrix":"same-as-meerkat"}` as JSON text. */
  releaseMetadataJson: string;
}

/**
 * The validated, immutable policy bundle every HTTP and console surface receives (spec §14
 * `RuntimeDecisionState`). Build it with {@link buildRuntimeDecisionState}; it is deep-frozen.
 */
export interface RuntimeDecisionState {
  readonly bigquery: Readonly<BigQueryNaming>;
  /** The trusted modules from the trust manifest; `/console/modules` lists exactly these ids. */
  readonly modules: readonly Readonly<ModuleConfig>[];
  readonly auth: Readonly<AuthPolicy>;
  readonly trustedOidc: Readonly<TrustedOidcRuntimeConfig>;
  readonly console: Readonly<ConsolePolicy>;
  readonly ops: Readonly<RuntimeOpsPolicy>;
  readonly releaseMetadata: Readonly<ReleaseMetadata>;
}

function fail(
  code: MobKitErrorCode,
  field: string,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): never {
  throw new DecisionStateError(code, message, { cause, details: { field, ...details } });
}

const BIGQUERY_NAME = /^[A-Za-z0-9_-]+$/;

/** Validates BigQuery naming: `EmptyBigQueryDataset`, `EmptyBigQueryTable`, `InvalidBigQueryName`. */
export function validateBigQueryNaming(naming: BigQueryNaming): BigQueryNaming {
  if (naming === null || typeof naming !== 'object')
    fail('InvalidConfig', 'bigquery', 'bigquery must be an object { dataset, table }');
  const dataset = typeof naming.dataset === 'string' ? naming.dataset.trim() : '';
  const table = typeof naming.table === 'string' ? naming.table.trim() : '';
  if (dataset === '')
    fail(
      'EmptyBigQueryDataset',
      'bigquery.dataset',
      'bigquery.dataset must be a non-empty name of letters, digits, _ or -',
    );
  if (table === '')
    fail('EmptyBigQueryTable', 'bigquery.table', 'bigquery.table must be a non-empty name of letters, digits, _ or -');
  for (const [field, name] of [
    ['bigquery.dataset', dataset],
    ['bigquery.table', table],
  ] as const) {
    if (!BIGQUERY_NAME.test(name)) {
      fail('InvalidBigQueryName', field, `${field} ${JSON.stringify(name)} may contain only letters, digits, _ and -`, {
        name,
      });
    }
  }
  return { dataset, table };
}

/** Validates the ops policy: `ReplicaCountMustBeOne`, `SloTargetsNotSupportedV01`. */
export function validateOpsPolicy(ops: RuntimeDecisionInputs['ops']): RuntimeOpsPolicy {
  const merged = defaultOpsPolicy();
  if (ops !== undefined) {
    if (ops === null || typeof ops !== 'object')
      fail('InvalidConfig', 'ops', 'ops must be an object { replicaCount?, metrics? }');
    if (ops.replicaCount !== undefined) merged.replicaCount = ops.replicaCount;
    if (ops.metrics?.enforceSloTargets !== undefined) merged.metrics.enforceSloTargets = ops.metrics.enforceSloTargets;
  }
  if (merged.replicaCount !== 1) {
    fail(
      'ReplicaCountMustBeOne',
      'ops.replica_count',
      `ops.replica_count is ${String(merged.replicaCount)}; this runtime is one process, so it must be 1`,
      {
        replicaCount: merged.replicaCount,
      },
    );
  }
  if (merged.metrics.enforceSloTargets !== false) {
    fail(
      'SloTargetsNotSupportedV01',
      'ops.metrics.enforce_slo_targets',
      'ops.metrics.enforce_slo_targets must be false: SLO enforcement is not supported yet',
    );
  }
  return merged;
}

/**
 * Parses and validates release metadata JSON: `InvalidReleaseMetadata` (not JSON, or no `targets` array of
 * strings / `support_matrix` string), `DuplicateReleaseTarget`, `MissingReleaseTarget`, `InvalidSupportMatrix`.
 */
export function parseReleaseMetadata(json: string): ReleaseMetadata {
  const field = 'release_metadata_json';
  if (typeof json !== 'string') fail('InvalidReleaseMetadata', field, 'release_metadata_json must be JSON text');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    fail(
      'InvalidReleaseMetadata',
      field,
      `release_metadata_json is not valid JSON: ${(error as Error).message}`,
      {},
      error,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(
      'InvalidReleaseMetadata',
      field,
      `release_metadata_json must be an object {"targets":[…],"support_matrix":…}, got ${describeType(value)}`,
    );
  }
  return validateReleaseMetadata(value as Record<string, unknown>, field);
}

/**
 * @internal Validates release metadata members (`targets`, `support_matrix`) under `field` (the key path, for the
 * messages): `InvalidReleaseMetadata`, `DuplicateReleaseTarget`, `MissingReleaseTarget`, `InvalidSupportMatrix`.
 */
export function validateReleaseMetadata(value: Record<string, unknown>, field: string): ReleaseMetadata {
  const { targets, support_matrix: supportMatrix } = value as Record<string, unknown>;
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) {
    fail('InvalidReleaseMetadata', `${field}.targets`, `${field}.targets must be an array of strings`);
  }
  if (typeof supportMatrix !== 'string') {
    fail(
      'InvalidReleaseMetadata',
      `${field}.support_matrix`,
      `${field}.support_matrix must be a string, got ${describeType(supportMatrix)}`,
    );
  }
  const seen = new Set<string>();
  for (const target of targets as string[]) {
    if (seen.has(target))
      fail(
        'DuplicateReleaseTarget',
        `${field}.targets`,
        `${field}.targets lists ${JSON.stringify(target)} twice; list each target once`,
        { target },
      );
    seen.add(target);
  }
  for (const target of REQUIRED_RELEASE_TARGETS) {
    if (!seen.has(target)) {
      fail(
        'MissingReleaseTarget',
        `${field}.targets`,
        `${field}.targets lacks ${JSON.stringify(target)}; all of ${REQUIRED_RELEASE_TARGETS.join(', ')} are required`,
        { target },
      );
    }
  }
  if (supportMatrix !== SUPPORT_MATRIX) {
    fail(
      'InvalidSupportMatrix',
      `${field}.support_matrix`,
      `${field}.support_matrix must be "${SUPPORT_MATRIX}", got ${JSON.stringify(supportMatrix)}`,
    );
  }
  return { targets: [...(targets as string[])], supportMatrix };
}

function resolveAuthPolicy(auth: RuntimeDecisionInputs['auth']): AuthPolicy {
  const policy = defaultAuthPolicy();
  if (auth === undefined) return policy;
  if (auth === null || typeof auth !== 'object')
    fail('InvalidConfig', 'auth', 'auth must be an object { defaultProvider?, emailAllowlist? }');
  if (auth.defaultProvider !== undefined) {
    if (!(AUTH_PROVIDERS as readonly string[]).includes(auth.defaultProvider)) {
      fail(
        'InvalidConfig',
        'auth.default_provider',
        `auth.default_provider: expected one of ${AUTH_PROVIDERS.join(', ')}, got ${JSON.stringify(auth.defaultProvider)}`,
      );
    }
    policy.defaultProvider = auth.defaultProvider;
  }
  if (auth.emailAllowlist !== undefined) {
    if (!Array.isArray(auth.emailAllowlist) || auth.emailAllowlist.some((e) => typeof e !== 'string')) {
      fail('InvalidConfig', 'auth.email_allowlist', 'auth.email_allowlist must be an array of strings');
    }
    policy.emailAllowlist = [...auth.emailAllowlist];
  }
  return policy;
}

function resolveConsolePolicy(console: RuntimeDecisionInputs['console']): ConsolePolicy {
  const policy = defaultConsolePolicy();
  if (console === undefined) return policy;
  if (console === null || typeof console !== 'object')
    fail('InvalidConfig', 'console', 'console must be an object { requireAppAuth? }');
  if (console.requireAppAuth !== undefined) {
    if (typeof console.requireAppAuth !== 'boolean')
      fail('InvalidConfig', 'console.require_app_auth', 'console.require_app_auth must be true or false');
    policy.requireAppAuth = console.requireAppAuth;
  }
  return policy;
}

/** @internal Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * Validates the inputs and builds the immutable {@link RuntimeDecisionState} (spec §14), in the original's order:
 * BigQuery naming (`EmptyBigQueryDataset`, `EmptyBigQueryTable`, `InvalidBigQueryName`) → trust manifest TOML
 * (core's loader: `InvalidToml`, `MissingModuleId`, `MissingModuleCommand`, `InvalidConfig`) → ops policy
 * (`ReplicaCountMustBeOne`, `SloTargetsNotSupportedV01`) → release metadata (`InvalidReleaseMetadata`,
 * `DuplicateReleaseTarget`, `MissingReleaseTarget`, `InvalidSupportMatrix`) → OIDC audience → discovery JSON →
 * JWKS JSON (`InvalidTrustedAuthConfig`, `details.field` naming which). Auth and console policies are checked
 * last (`InvalidConfig`). Every error names its input in `details.field`.
 */
export function buildRuntimeDecisionState(inputs: RuntimeDecisionInputs): RuntimeDecisionState {
  if (inputs === null || typeof inputs !== 'object')
    fail('InvalidConfig', '<root>', 'buildRuntimeDecisionState: inputs must be an object');
  const bigquery = validateBigQueryNaming(inputs.bigquery);
  if (typeof inputs.trustedMobkitToml !== 'string')
    fail('InvalidConfig', 'trusted_mobkit_toml', 'trusted_mobkit_toml must be TOML text');
  let modules: ModuleConfig[];
  try {
    modules = loadTrustedModulesFromToml(inputs.trustedMobkitToml);
  } catch (error) {
    if (error instanceof MobKitError) {
      throw new DecisionStateError(error.code, `trusted_mobkit_toml: ${error.message}`, {
        cause: error,
        details: { ...error.details, field: 'trusted_mobkit_toml', member: error.details?.field },
      });
    }
    throw error;
  }
  const ops = validateOpsPolicy(inputs.ops);
  const releaseMetadata = parseReleaseMetadata(inputs.releaseMetadataJson);
  try {
    parseTrustedOidcConfig(inputs.trustedOidc);
  } catch (error) {
    const e = error as MobKitError;
    throw new DecisionStateError(e.code, e.message, { cause: error, details: e.details });
  }
  const auth = resolveAuthPolicy(inputs.auth);
  const console = resolveConsolePolicy(inputs.console);
  const trustedOidc: TrustedOidcRuntimeConfig = {
    discoveryJson: inputs.trustedOidc.discoveryJson,
    jwksJson: inputs.trustedOidc.jwksJson,
    audience: inputs.trustedOidc.audience,
  };
  return deepFreeze({ bigquery, modules, auth, trustedOidc, console, ops, releaseMetadata });
}
