import { isMobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { SEED_RELEASE_TARGETS_JSON, seedDecisionInputs, seedTrustedOidc } from '../test/helpers.js';
import { type RuntimeDecisionInputs, buildRuntimeDecisionState, parseReleaseMetadata } from './decisions.js';
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
