import {
  ModuleConfigSchema,
  closedObject,
  type ModuleConfig,
  isMobKitError,
  parseWithSchema,
  wireCodec,
  wireEncoder,
} from '@mobkit/core';
import { z } from 'zod';
import {
  type RuntimeDecisionInputs,
  type RuntimeDecisionState,
  deepFreeze,
  validateBigQueryNaming,
  validateOpsPolicy,
  validateReleaseMetadata,
} from './decisions.js';
import { DecisionStateError } from './errors.js';
import {
  type AuthPolicy,
  AuthPolicyCodec,
  AuthPolicyWireSchema,
  ConsolePolicyCodec,
  ConsolePolicyWireSchema,
  authPolicyMembers,
  authPolicyMembersToWire,
} from './policy.js';
import { TrustedOidcConfigCodec, parseTrustedOidcConfig } from './trusted-oidc.js';

/** Runs `schema` over decision-state wire input: a failure is a {@link DecisionStateError} `InvalidConfig` naming the key path. */
function parseDecisionWire<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  try {
    return parseWithSchema(schema, input, { what, code: 'InvalidConfig' });
  } catch (error) {
    if (!isMobKitError(error) || error instanceof DecisionStateError) throw error;
    throw new DecisionStateError(error.code, error.message, { cause: error, details: error.details });
  }
}

const BigQueryWireSchema = closedObject({ dataset: z.string(), table: z.string() });

/** The codec between wire decision inputs (snake_case, as the original's `RuntimeDecisionInputs`) and {@link RuntimeDecisionInputs}. */
export const RuntimeDecisionInputsCodec = wireCodec(
  closedObject({
    bigquery: BigQueryWireSchema,
    trusted_mobkit_toml: z.string(),
    auth: AuthPolicyWireSchema.optional(),
    trusted_oidc: TrustedOidcConfigCodec,
    console: ConsolePolicyWireSchema.optional(),
    ops: closedObject({
      replica_count: z.number().optional(),
      metrics: closedObject({ enforce_slo_targets: z.boolean().optional() }).optional(),
    }).optional(),
    release_metadata_json: z.string(),
  }),
  {
    decode: (wire): RuntimeDecisionInputs => {
      const { ops, console } = wire;
      const enforceSloTargets = ops?.metrics?.enforce_slo_targets;
      return {
        bigquery: { dataset: wire.bigquery.dataset, table: wire.bigquery.table },
        trustedMobkitToml: wire.trusted_mobkit_toml,
        trustedOidc: wire.trusted_oidc,
        releaseMetadataJson: wire.release_metadata_json,
        ...(wire.auth === undefined ? {} : { auth: authPolicyMembers(wire.auth) }),
        ...(console === undefined
          ? {}
          : { console: console.require_app_auth === undefined ? {} : { requireAppAuth: console.require_app_auth } }),
        ...(ops === undefined
          ? {}
          : {
              ops: {
                ...(ops.replica_count === undefined ? {} : { replicaCount: ops.replica_count }),
                ...(enforceSloTargets === undefined ? {} : { metrics: { enforceSloTargets } }),
              },
            }),
      };
    },
    encode: (inputs) => {
      const { ops, console } = inputs;
      const enforceSloTargets = ops?.metrics?.enforceSloTargets;
      return {
        bigquery: { dataset: inputs.bigquery.dataset, table: inputs.bigquery.table },
        trusted_mobkit_toml: inputs.trustedMobkitToml,
        trusted_oidc: inputs.trustedOidc,
        release_metadata_json: inputs.releaseMetadataJson,
        ...(inputs.auth === undefined ? {} : { auth: authPolicyMembersToWire(inputs.auth) }),
        ...(console === undefined
          ? {}
          : { console: console.requireAppAuth === undefined ? {} : { require_app_auth: console.requireAppAuth } }),
        ...(ops === undefined
          ? {}
          : {
              ops: {
                ...(ops.replicaCount === undefined ? {} : { replica_count: ops.replicaCount }),
                ...(enforceSloTargets === undefined ? {} : { metrics: { enforce_slo_targets: enforceSloTargets } }),
              },
            }),
      };
    },
  },
);

/** Wire (snake_case) form of {@link RuntimeDecisionInputs}, as a config file or JSON-RPC call carries it. */
export type RuntimeDecisionInputsWire = z.input<typeof RuntimeDecisionInputsCodec>;

/**
 * Maps wire-form decision inputs (snake_case, as in the original's `RuntimeDecisionInputs`) to
 * {@link RuntimeDecisionInputs}; only shapes are checked here (`InvalidConfig` naming the key path, unknown
 * keys refused with the allowed ones listed) — pass the result to {@link buildRuntimeDecisionState} for the
 * real validation.
 */
export function parseRuntimeDecisionInputs(wire: unknown): RuntimeDecisionInputs {
  return parseDecisionWire(RuntimeDecisionInputsCodec, wire, 'runtime decision inputs');
}

/**
 * The codec between a wire decision state (snake_case, as the original serializes it) and
 * {@link RuntimeDecisionState}. Decoding validates like {@link buildRuntimeDecisionState} does (BigQuery
 * naming, ops policy, release metadata, trusted OIDC documents) and deep-freezes the state.
 */
export const RuntimeDecisionStateCodec = wireCodec(
  closedObject({
    bigquery: BigQueryWireSchema,
    modules: z.array(ModuleConfigSchema),
    auth: AuthPolicyCodec,
    trusted_oidc: TrustedOidcConfigCodec,
    console: ConsolePolicyCodec,
    ops: closedObject({ replica_count: z.number(), metrics: closedObject({ enforce_slo_targets: z.boolean() }) }),
    release_metadata: closedObject({ targets: z.array(z.string()), support_matrix: z.string() }),
  }),
  {
    decode: (wire): RuntimeDecisionState => {
      parseTrustedOidcConfig(wire.trusted_oidc);
      return deepFreeze({
        bigquery: validateBigQueryNaming(wire.bigquery),
        modules: wire.modules,
        auth: wire.auth,
        trustedOidc: wire.trusted_oidc,
        console: wire.console,
        ops: validateOpsPolicy({
          replicaCount: wire.ops.replica_count,
          metrics: { enforceSloTargets: wire.ops.metrics.enforce_slo_targets },
        }),
        releaseMetadata: validateReleaseMetadata(wire.release_metadata, 'release_metadata'),
      });
    },
    encode: (state) => ({
      bigquery: { dataset: state.bigquery.dataset, table: state.bigquery.table },
      modules: [...state.modules],
      auth: state.auth,
      trusted_oidc: state.trustedOidc,
      console: state.console,
      ops: {
        replica_count: state.ops.replicaCount,
        metrics: { enforce_slo_targets: state.ops.metrics.enforceSloTargets },
      },
      release_metadata: {
        targets: [...state.releaseMetadata.targets],
        support_matrix: state.releaseMetadata.supportMatrix,
      },
    }),
  },
);

/** Wire (snake_case) form of a {@link RuntimeDecisionState}, as {@link runtimeDecisionStateToWire} writes it. */
export interface RuntimeDecisionStateWire {
  bigquery: { dataset: string; table: string };
  modules: Array<{ id: string; command: string; args: string[]; restart_policy: ModuleConfig['restartPolicy'] }>;
  auth: { default_provider: AuthPolicy['defaultProvider']; email_allowlist: string[] };
  trusted_oidc: { discovery_json: string; jwks_json: string; audience: string };
  console: { require_app_auth: boolean };
  ops: { replica_count: number; metrics: { enforce_slo_targets: boolean } };
  release_metadata: { targets: string[]; support_matrix: string };
}

/** Converts a decision state to its wire form (the encoder of {@link RuntimeDecisionStateCodec}). */
export const runtimeDecisionStateToWire = wireEncoder(RuntimeDecisionStateCodec) as (
  state: RuntimeDecisionState,
) => RuntimeDecisionStateWire; // a state encodes every member
