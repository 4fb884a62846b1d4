import { parseWithSchema } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  SEED_RELEASE_TARGETS_JSON,
  SEED_TRUSTED_MOBKIT_TOML,
  seedDecisionInputs,
  seedTrustedOidc,
} from '../test/helpers.js';
import { RuntimeDecisionStateCodec, parseRuntimeDecisionInputs, runtimeDecisionStateToWire } from './decision-wire.js';
import { buildRuntimeDecisionState } from './decisions.js';
import { DecisionStateError } from './errors.js';

describe('wire form of decision inputs and state', () => {
  const wire = {
    bigquery: { dataset: 'phase5_reference_dataset', table: 'phase5_reference_table' },
    trusted_mobkit_toml:
      '[[modules]]\nid = "router"\ncommand = "router-bin"\nargs = ["--mode", "fast"]\nrestart_policy = "always"\n',
    auth: { default_provider: 'google_o_auth', email_allowlist: ['ops@example.com'] },
    trusted_oidc: {
      discovery_json: seedTrustedOidc().discoveryJson,
      jwks_json: seedTrustedOidc().jwksJson,
      audience: 'meerkat-console',
    },
    console: { require_app_auth: false },
    ops: { replica_count: 1, metrics: { enforce_slo_targets: false } },
    release_metadata_json: SEED_RELEASE_TARGETS_JSON,
  };

  it('the seed written in snake_case builds exactly the seed state', () => {
    const seedWire = { ...wire, trusted_mobkit_toml: SEED_TRUSTED_MOBKIT_TOML, auth: {} };
    expect(buildRuntimeDecisionState(parseRuntimeDecisionInputs(seedWire))).toEqual(
      buildRuntimeDecisionState(seedDecisionInputs()),
    );
  });

  it('snake_case inputs build a state that maps back to the same snake_case', () => {
    const state = buildRuntimeDecisionState(parseRuntimeDecisionInputs(wire));
    expect(state.console.requireAppAuth).toBe(false);
    expect(runtimeDecisionStateToWire(state)).toEqual({
      bigquery: wire.bigquery,
      modules: [{ id: 'router', command: 'router-bin', args: ['--mode', 'fast'], restart_policy: 'always' }],
      auth: wire.auth,
      trusted_oidc: wire.trusted_oidc,
      console: { require_app_auth: false },
      ops: { replica_count: 1, metrics: { enforce_slo_targets: false } },
      release_metadata: { targets: ['crates.io', 'npm', 'pypi', 'github-releases'], support_matrix: 'same-as-meerkat' },
    });
  });

  it('wrong shapes are InvalidConfig naming the field; values are left to buildRuntimeDecisionState', () => {
    const named = (patch: Record<string, unknown>) => {
      try {
        parseRuntimeDecisionInputs({ ...wire, ...patch });
      } catch (error) {
        return [(error as DecisionStateError).code, (error as DecisionStateError).details?.field];
      }
      return 'accepted';
    };
    expect(named({ trusted_oidc: { ...wire.trusted_oidc, jwks_json: { keys: [] } } })).toEqual([
      'InvalidConfig',
      'trusted_oidc.jwks_json',
    ]);
    expect(named({ ops: { replica_count: '2' } })).toEqual(['InvalidConfig', 'ops.replica_count']);
    expect(named({ auth: { default_provider: 'okta' } })).toEqual(['InvalidConfig', 'auth.default_provider']);
    expect(named({ bigquery: 'x' })).toEqual(['InvalidConfig', 'bigquery']);
    expect(named({ ops: { replica_count: 2 } })).toBe('accepted');
    expect(() => buildRuntimeDecisionState(parseRuntimeDecisionInputs({ ...wire, ops: { replica_count: 2 } }))).toThrow(
      /replica_count is 2/,
    );
  });

  it('refuses unknown keys at any depth, naming them and the allowed ones, as a DecisionStateError', () => {
    const refused = (patch: Record<string, unknown>) =>
      expectMobKitError(() => parseRuntimeDecisionInputs({ ...wire, ...patch }), 'InvalidConfig');
    const top = refused({ trusted_toml: 'x' });
    expect(top).toBeInstanceOf(DecisionStateError);
    expect(top.message).toBe(
      'invalid runtime decision inputs: trusted_toml: unknown key; allowed: bigquery, trusted_mobkit_toml, auth, trusted_oidc, console, ops, release_metadata_json',
    );
    expect(top.details?.field).toBe('trusted_toml');
    const nested = refused({ ops: { replica_count: 1, metrics: { enforce_slo: true } } });
    expect(nested.message).toBe(
      'invalid runtime decision inputs: ops.metrics.enforce_slo: unknown key; allowed: enforce_slo_targets',
    );
    expect(nested.details?.field).toBe('ops.metrics.enforce_slo');
    expect(refused({ auth: { email_allowlist: ['a', 7] } }).details?.field).toBe('auth.email_allowlist[1]');
  });

  it('decoding keeps absent members absent, so buildRuntimeDecisionState applies its defaults', () => {
    const inputs = parseRuntimeDecisionInputs({ ...wire, auth: {}, console: {}, ops: {} });
    expect([inputs.auth, inputs.console, inputs.ops]).toEqual([{}, {}, {}]);
    const { auth: _a, console: _c, ops: _o, ...bare } = wire;
    const minimal = parseRuntimeDecisionInputs(bare);
    expect(['auth', 'console', 'ops'].filter((k) => k in minimal)).toEqual([]);
    expect(buildRuntimeDecisionState(minimal).console.requireAppAuth).toBe(true);
  });

  it('the state codec decodes what runtimeDecisionStateToWire writes into an equal, frozen state', () => {
    const state = buildRuntimeDecisionState(parseRuntimeDecisionInputs(wire));
    const decoded = parseWithSchema(RuntimeDecisionStateCodec, runtimeDecisionStateToWire(state), {
      what: 'decision state',
    });
    expect(decoded).toEqual(state);
    expect(Object.isFrozen(decoded.auth.emailAllowlist)).toBe(true);
    // Decoding validates like buildRuntimeDecisionState.
    const twoReplicas = {
      ...runtimeDecisionStateToWire(state),
      ops: { replica_count: 2, metrics: { enforce_slo_targets: false } },
    };
    expectMobKitError(
      () => parseWithSchema(RuntimeDecisionStateCodec, twoReplicas, { what: 'decision state' }),
      'ReplicaCountMustBeOne',
    );
    const noNpm = {
      ...runtimeDecisionStateToWire(state),
      release_metadata: { targets: ['crates.io', 'pypi', 'github-releases'], support_matrix: 'same-as-meerkat' },
    };
    const missing = expectMobKitError(
      () => parseWithSchema(RuntimeDecisionStateCodec, noNpm, { what: 'decision state' }),
      'MissingReleaseTarget',
    );
    expect(missing.details?.field).toBe('release_metadata.targets');
  });
});
