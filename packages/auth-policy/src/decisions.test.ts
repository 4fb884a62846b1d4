import { isMobKitError, parseWithSchema } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  SEED_RELEASE_TARGETS_JSON,
  SEED_TRUSTED_MOBKIT_TOML,
  seedDecisionInputs,
  seedTrustedOidc,
} from '../test/helpers.js';
import {
  type RuntimeDecisionInputs,
  buildRuntimeDecisionState,
  parseReleaseMetadata,
  RuntimeDecisionStateCodec,
  parseRuntimeDecisionInputs,
  runtimeDecisionStateToWire,
} from './decisions.js';
import { DecisionStateError } from './errors.js';

function rejection(inputs: RuntimeDecisionInputs): { code: string; field: unknown; message: string } {
  try {
    buildRuntimeDecisionState(inputs);
  } catch (error) {
    expect(isMobKitError(error)).toBe(true);
    expect(error).toBeInstanceOf(DecisionStateError);
    const e = error as DecisionStateError;
    return { code: e.code, field: e.details?.field, message: e.message };
  }
  throw new Error('expected buildRuntimeDecisionState to reject the inputs');
}

function withInput(patch: Partial<RuntimeDecisionInputs>): RuntimeDecisionInputs {
  return { ...seedDecisionInputs(), ...patch };
}

describe('buildRuntimeDecisionState: the seed decision_state()', () => {
  it('accepts the seed inputs and builds the frozen policy bundle', () => {
    const state = buildRuntimeDecisionState(seedDecisionInputs());
    expect(state.bigquery).toEqual({ dataset: 'phase5_reference_dataset', table: 'phase5_reference_table' });
    expect(state.modules).toEqual([
      { id: 'router', command: 'router-bin', args: ['--mode', 'fast'], restartPolicy: 'always' },
      { id: 'delivery', command: 'delivery-bin', args: ['--sink', 'memory'], restartPolicy: 'on_failure' },
      { id: 'scheduling', command: 'scheduling-bin', args: ['--tick', '60'], restartPolicy: 'always' },
    ]);
    expect(state.auth).toEqual({ defaultProvider: 'google_o_auth', emailAllowlist: [] });
    expect(state.console).toEqual({ requireAppAuth: false });
    expect(state.ops).toEqual({ replicaCount: 1, metrics: { enforceSloTargets: false } });
    expect(state.releaseMetadata).toEqual({
      targets: ['crates.io', 'npm', 'pypi', 'github-releases'],
      supportMatrix: 'same-as-meerkat',
    });
    expect(state.trustedOidc).toEqual(seedTrustedOidc());
    expect(
      Object.isFrozen(state) && Object.isFrozen(state.modules[0]) && Object.isFrozen(state.auth.emailAllowlist),
    ).toBe(true);
  });

  it('defaults: auth, console and ops may be omitted; restart_policy defaults to on_failure', () => {
    const { auth: _a, console: _c, ops: _o, ...rest } = seedDecisionInputs();
    const state = buildRuntimeDecisionState({ ...rest, trustedMobkitToml: '[[modules]]\nid = "m"\ncommand = "bin"\n' });
    expect(state.console.requireAppAuth).toBe(true);
    expect(state.modules[0]).toEqual({ id: 'm', command: 'bin', args: [], restartPolicy: 'on_failure' });
  });
});

describe('buildRuntimeDecisionState: each invalid input rejected by name', () => {
  const cases: Array<[string, Partial<RuntimeDecisionInputs>, string, string]> = [
    ['blank dataset', { bigquery: { dataset: ' ', table: 't' } }, 'EmptyBigQueryDataset', 'bigquery.dataset'],
    ['blank table', { bigquery: { dataset: 'd', table: '' } }, 'EmptyBigQueryTable', 'bigquery.table'],
    ['dataset with a dot', { bigquery: { dataset: 'proj.ds', table: 't' } }, 'InvalidBigQueryName', 'bigquery.dataset'],
    ['table with a space', { bigquery: { dataset: 'd', table: 'my table' } }, 'InvalidBigQueryName', 'bigquery.table'],
    ['TOML syntax', { trustedMobkitToml: '[[modules]\nid = ' }, 'InvalidToml', 'trusted_mobkit_toml'],
    [
      'module without id',
      { trustedMobkitToml: '[[modules]]\ncommand = "x"\n' },
      'MissingModuleId',
      'trusted_mobkit_toml',
    ],
    [
      'module without command',
      { trustedMobkitToml: '[[modules]]\nid = "x"\n' },
      'MissingModuleCommand',
      'trusted_mobkit_toml',
    ],
    [
      'bad restart policy',
      { trustedMobkitToml: '[[modules]]\nid = "x"\ncommand = "y"\nrestart_policy = "sometimes"\n' },
      'InvalidConfig',
      'trusted_mobkit_toml',
    ],
    ['two replicas', { ops: { replicaCount: 2 } }, 'ReplicaCountMustBeOne', 'ops.replica_count'],
    [
      'SLO targets',
      { ops: { metrics: { enforceSloTargets: true } } },
      'SloTargetsNotSupportedV01',
      'ops.metrics.enforce_slo_targets',
    ],
    ['release JSON syntax', { releaseMetadataJson: '{"targets":' }, 'InvalidReleaseMetadata', 'release_metadata_json'],
    [
      'duplicate target',
      {
        releaseMetadataJson:
          '{"targets":["crates.io","npm","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
      },
      'DuplicateReleaseTarget',
      'release_metadata_json.targets',
    ],
    [
      'missing target',
      { releaseMetadataJson: '{"targets":["crates.io","npm","pypi"],"support_matrix":"same-as-meerkat"}' },
      'MissingReleaseTarget',
      'release_metadata_json.targets',
    ],
    [
      'support matrix',
      { releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"lts"}' },
      'InvalidSupportMatrix',
      'release_metadata_json.support_matrix',
    ],
    [
      'blank audience',
      { trustedOidc: { ...seedTrustedOidc(), audience: '  ' } },
      'InvalidTrustedAuthConfig',
      'trusted_oidc.audience',
    ],
    [
      'discovery not JSON',
      { trustedOidc: { ...seedTrustedOidc(), discoveryJson: '{issuer' } },
      'InvalidTrustedAuthConfig',
      'trusted_oidc.discovery_json',
    ],
    [
      'discovery without jwks_uri',
      { trustedOidc: { ...seedTrustedOidc(), discoveryJson: '{"issuer":"https://i"}' } },
      'InvalidTrustedAuthConfig',
      'trusted_oidc.discovery_json',
    ],
    [
      'JWKS not JSON',
      { trustedOidc: { ...seedTrustedOidc(), jwksJson: 'keys' } },
      'InvalidTrustedAuthConfig',
      'trusted_oidc.jwks_json',
    ],
    [
      'JWKS without keys',
      { trustedOidc: { ...seedTrustedOidc(), jwksJson: '{"keys":[]}' } },
      'InvalidTrustedAuthConfig',
      'trusted_oidc.jwks_json',
    ],
    ['unknown provider', { auth: { defaultProvider: 'okta' as never } }, 'InvalidConfig', 'auth.default_provider'],
    ['allowlist not strings', { auth: { emailAllowlist: [1] as never } }, 'InvalidConfig', 'auth.email_allowlist'],
    [
      'require_app_auth not boolean',
      { console: { requireAppAuth: 'yes' as never } },
      'InvalidConfig',
      'console.require_app_auth',
    ],
  ];
  for (const [name, patch, code, field] of cases) {
    it(`${name} → ${code} (${field})`, () => {
      const r = rejection(withInput(patch));
      expect([r.code, r.field]).toEqual([code, field]);
      expect(r.message).toContain(field.split('.')[0]);
    });
  }

  it('validates in the spec order: BigQuery → TOML → ops → release metadata → audience → discovery → JWKS', () => {
    const allBad: RuntimeDecisionInputs = {
      bigquery: { dataset: '', table: 't' },
      trustedMobkitToml: '[[modules]]\nid = "x"\n',
      trustedOidc: { audience: '', discoveryJson: 'x', jwksJson: 'y' },
      ops: { replicaCount: 3 },
      releaseMetadataJson: 'nope',
    };
    const order = [
      'EmptyBigQueryDataset',
      'MissingModuleCommand',
      'ReplicaCountMustBeOne',
      'InvalidReleaseMetadata',
      'trusted_oidc.audience',
      'trusted_oidc.discovery_json',
      'trusted_oidc.jwks_json',
    ];
    const seen: string[] = [];
    let inputs = allBad;
    const fixes: Array<(i: RuntimeDecisionInputs) => RuntimeDecisionInputs> = [
      (i) => ({ ...i, bigquery: { dataset: 'd', table: 't' } }),
      (i) => ({ ...i, trustedMobkitToml: '' }),
      (i) => ({ ...i, ops: {} }),
      (i) => ({ ...i, releaseMetadataJson: SEED_RELEASE_TARGETS_JSON }),
      (i) => ({ ...i, trustedOidc: { ...i.trustedOidc, audience: 'meerkat-console' } }),
      (i) => ({ ...i, trustedOidc: { ...i.trustedOidc, discoveryJson: seedTrustedOidc().discoveryJson } }),
      (i) => ({ ...i, trustedOidc: { ...i.trustedOidc, jwksJson: seedTrustedOidc().jwksJson } }),
    ];
    for (const fix of fixes) {
      const r = rejection(inputs);
      seen.push(r.code === 'InvalidTrustedAuthConfig' ? String(r.field) : r.code);
      inputs = fix(inputs);
    }
    expect(seen).toEqual(order);
    expect(() => buildRuntimeDecisionState(inputs)).not.toThrow();
  });

  it('release metadata parses into camelCase', () => {
    expect(parseReleaseMetadata(SEED_RELEASE_TARGETS_JSON).supportMatrix).toBe('same-as-meerkat');
  });
});

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
      'invalid runtime decision inputs: <root>: unknown key(s) trusted_toml; allowed: bigquery, trusted_mobkit_toml, auth, trusted_oidc, console, ops, release_metadata_json',
    );
    expect(refused({ ops: { replica_count: 1, metrics: { enforce_slo: true } } }).message).toContain(
      'ops.metrics: unknown key(s) enforce_slo; allowed: enforce_slo_targets',
    );
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
