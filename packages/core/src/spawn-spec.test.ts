import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isMobKitError } from './errors/error.js';
import { SpawnSpecCodec, normalizeSpawnSpec, parseSpawnSpec, spawnSpecToWire } from './spawn-spec.js';

function failure(fn: () => unknown): { code: string; message: string; field: unknown } {
  try {
    fn();
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    return { code: error.code, message: error.message, field: error.details?.field };
  }
  throw new Error('expected a MobKitError');
}

const FULL_WIRE = {
  profile: 'worker',
  meerkat_id: 'w-1',
  initial_message: [{ type: 'text', text: 'go' }],
  context: { app: 1 },
  labels: { team: 'a' },
  additional_instructions: ['be brief'],
  resume_session_id: 's-1',
  runtime_mode: 'turn_driven',
};
const FULL = {
  profile: 'worker',
  meerkatId: 'w-1',
  initialMessage: [{ type: 'text', text: 'go' }],
  context: { app: 1 },
  labels: { team: 'a' },
  additionalInstructions: ['be brief'],
  resumeSessionId: 's-1',
  runtimeMode: 'turn_driven',
};

describe('spawn spec codec', () => {
  it('decodes every wire field to camelCase and encodes back', () => {
    expect(parseSpawnSpec(FULL_WIRE)).toEqual(FULL);
    expect(spawnSpecToWire(parseSpawnSpec(FULL_WIRE))).toEqual(FULL_WIRE);
    expect(z.decode(SpawnSpecCodec, FULL_WIRE as never)).toEqual(FULL);
  });

  it('leaves out null, empty labels and empty instructions, and ignores unknown keys', () => {
    const spec = parseSpawnSpec({
      profile: 'p',
      meerkat_id: 'm',
      initial_message: null,
      labels: {},
      additional_instructions: [],
      context: null,
      resume_session_id: null,
      extra: true,
    });
    expect(spec).toStrictEqual({ profile: 'p', meerkatId: 'm' });
    expect(spawnSpecToWire({ profile: 'p', meerkatId: 'm', labels: {}, additionalInstructions: [] })).toStrictEqual({
      profile: 'p',
      meerkat_id: 'm',
    });
  });

  it("reads Meerkat's agent_identity when meerkat_id is absent", () => {
    expect(parseSpawnSpec({ profile: 'p', agent_identity: 'a-1' })).toEqual({ profile: 'p', meerkatId: 'a-1' });
  });

  it('refuses bad wire input with InvalidInput naming the key path under the prefix', () => {
    const blank = failure(() => parseSpawnSpec({ profile: 'p', meerkat_id: ' ' }, { pathPrefix: 'params' }));
    expect(blank).toMatchObject({ code: 'InvalidInput', field: 'params.meerkat_id' });
    expect(blank.message).toContain('params.meerkat_id: must not be empty');
    expect(failure(() => parseSpawnSpec({ meerkat_id: 'm' })).message).toContain('profile: required');
    expect(failure(() => parseSpawnSpec({ profile: 'p', meerkat_id: 'm', labels: { k: 1 } })).field).toBe('labels.k');
    expect(failure(() => parseSpawnSpec({ profile: 'p', meerkat_id: 'm', runtime_mode: 'x' })).message).toContain(
      'runtime_mode: expected one of autonomous_host, turn_driven, got "x"',
    );
    expect(failure(() => parseSpawnSpec({ profile: 'p', meerkat_id: 'm', initial_message: '  ' })).field).toBe(
      'initial_message',
    );
    expect(failure(() => parseSpawnSpec({ profile: 'p', meerkat_id: 'm', initial_message: [] })).field).toBe(
      'initial_message',
    );
    expect(failure(() => parseSpawnSpec('spec')).code).toBe('InvalidInput');
  });

  it('validates a camelCase spec built in code, naming its keys', () => {
    expect(normalizeSpawnSpec({ profile: 'p', meerkatId: 'm', labels: null })).toStrictEqual({
      profile: 'p',
      meerkatId: 'm',
    });
    const bad = failure(() => normalizeSpawnSpec({ profile: 'p', meerkatId: '' }, { pathPrefix: 'desired[2]' }));
    expect(bad).toMatchObject({ code: 'InvalidInput', field: 'desired[2].meerkatId' });
    expect(failure(() => normalizeSpawnSpec({ profile: 'p', meerkatId: 'm', additionalInstructions: [1] })).field).toBe(
      'additionalInstructions[0]',
    );
  });
});
