import { describe, expect, it } from 'vitest';
import { catchError } from '../test/catch-error.js';
import {
  agentDiscoverySpecToWire,
  defaultRuntimeOptions,
  discoverySpecToWire,
  mobKitConfigToWire,
  moduleConfigToWire,
  parseAgentDiscoverySpec,
  parseDiscoverySpec,
  parseMobKitConfig,
  parseModuleConfig,
  parsePreSpawnData,
  parseRuntimeOptions,
  preSpawnDataToWire,
  runtimeOptionsToWire,
} from './config.js';

// Wire examples from mobkit-spec.md section 2, verbatim.
const MODULE_WIRE = {
  id: 'router',
  command: 'meerkat-router',
  args: ['--port', '9001'],
  restart_policy: 'never',
} as const;
const DISCOVERY_WIRE = { namespace: 'prod', modules: ['router'] };
const PRE_SPAWN_WIRE = { module_id: 'memory', env: [['K', 'V']] as [string, string][] };
const AGENT_WIRE = {
  profile: 'worker',
  meerkat_id: 'w-1',
  labels: { k: 'v' },
  context: { team: 'blue' },
  additional_instructions: ['be brief'],
  resume_session_id: '3f0c1a52-6a8e-4f0b-9d0e-1f2a3b4c5d6e',
};

describe('ModuleConfig', () => {
  it('round-trips the spec wire example, mapping restart_policy to restartPolicy', () => {
    const config = parseModuleConfig(MODULE_WIRE);
    expect(config).toEqual({
      id: 'router',
      command: 'meerkat-router',
      args: ['--port', '9001'],
      restartPolicy: 'never',
    });
    expect(moduleConfigToWire(config)).toEqual(MODULE_WIRE);
  });

  it.each(['never', 'on_failure', 'always'] as const)('accepts restart policy %s', (policy) => {
    expect(parseModuleConfig({ ...MODULE_WIRE, restart_policy: policy }).restartPolicy).toBe(policy);
  });

  it('requires every field (no defaults on the wire), naming the missing one', () => {
    const { args: _args, ...noArgs } = MODULE_WIRE;
    const error = catchError(() => parseModuleConfig(noArgs));
    expect(error.code).toBe('MissingField');
    expect(error.message).toContain('args');
    expect(error.details?.field).toBe('args');
  });

  it('names the field, the allowed values and the bad value for an unknown policy', () => {
    const error = catchError(() => parseModuleConfig({ ...MODULE_WIRE, restart_policy: 'sometimes' }, 'modules[1]'));
    expect(error.code).toBe('InvalidFieldType');
    expect(error.message).toContain(
      'modules[1].restart_policy: expected one of never, on_failure, always, got "sometimes"',
    );
  });

  it('rejects a wrong type with the path into the array', () => {
    const error = catchError(() => parseModuleConfig({ ...MODULE_WIRE, args: ['--port', 9001] }));
    expect(error.code).toBe('InvalidFieldType');
    expect(error.message).toMatch(/args\[1\]: expected string, got (integer|number)/);
  });

  it('never leaks a zod error: the cause chain holds no ZodError and the message no stack', () => {
    const error = catchError(() => parseModuleConfig(42));
    expect(error.message).not.toMatch(/ZodError|at .*\.ts:\d+/);
    expect(error.message).toContain('module config');
  });
});

describe('DiscoverySpec, PreSpawnData, MobKitConfig', () => {
  it('round-trips the discovery example', () => {
    const spec = parseDiscoverySpec(DISCOVERY_WIRE);
    expect(spec).toEqual({ namespace: 'prod', modules: ['router'] });
    expect(discoverySpecToWire(spec)).toEqual(DISCOVERY_WIRE);
  });

  it('round-trips pre-spawn env as [[key, value], …] tuples', () => {
    const data = parsePreSpawnData(PRE_SPAWN_WIRE);
    expect(data).toEqual({ moduleId: 'memory', env: [['K', 'V']] });
    expect(preSpawnDataToWire(data)).toEqual(PRE_SPAWN_WIRE);
  });

  it('rejects env given as an object map, naming env', () => {
    const error = catchError(() => parsePreSpawnData({ module_id: 'memory', env: { K: 'V' } }));
    expect(error.message).toContain('env');
    expect(['InvalidFieldType', 'InvalidSchema']).toContain(error.code);
  });

  it('round-trips a full MobKitConfig', () => {
    const wire = { modules: [MODULE_WIRE], discovery: DISCOVERY_WIRE, pre_spawn: [PRE_SPAWN_WIRE] };
    const config = parseMobKitConfig(wire);
    expect(config.modules[0]?.restartPolicy).toBe('never');
    expect(config.preSpawn[0]?.moduleId).toBe('memory');
    expect(mobKitConfigToWire(config)).toEqual(wire);
  });

  it('names the module index of a bad module inside a config', () => {
    const wire = {
      modules: [MODULE_WIRE, { ...MODULE_WIRE, id: 'x', restart_policy: 'sometimes' }],
      discovery: DISCOVERY_WIRE,
    };
    const error = catchError(() => parseMobKitConfig(wire));
    expect(error.message).toContain('modules[1].restart_policy');
    expect(error.details?.field).toBe('modules[1].restart_policy');
  });
});

describe('RuntimeOptions', () => {
  it('has the spec defaults', () => {
    const options = defaultRuntimeOptions();
    expect(options.onFailureRetryBudget).toBe(1);
    expect(options.alwaysRestartBudget).toBe(1);
    expect(options.supervisorRestartBackoffMs).toBe(0);
    expect(options.supervisorTestForceTerminateFailure).toBe(false);
  });

  it('round-trips snake_case options including the memory backend', () => {
    const wire = {
      on_failure_retry_budget: 2,
      always_restart_budget: 3,
      supervisor_restart_backoff_ms: 120,
      supervisor_test_force_terminate_failure: false,
      memory_backend: { kind: 'elephant' as const, endpoint: 'http://127.0.0.1:9', state_path: '/tmp/s.json' },
    };
    const options = parseRuntimeOptions(wire);
    expect(options.supervisorRestartBackoffMs).toBe(120);
    expect(options.memoryBackend).toEqual({
      kind: 'elephant',
      endpoint: 'http://127.0.0.1:9',
      statePath: '/tmp/s.json',
    });
    expect(runtimeOptionsToWire(options)).toMatchObject(wire);
  });

  it('rejects a negative budget, naming it', () => {
    const error = catchError(() => parseRuntimeOptions({ on_failure_retry_budget: -1 }));
    expect(error.message).toContain('on_failure_retry_budget');
  });
});

describe('AgentDiscoverySpec', () => {
  it('round-trips the full example', () => {
    const spec = parseAgentDiscoverySpec(AGENT_WIRE);
    expect(spec.meerkatId).toBe('w-1');
    expect(spec.additionalInstructions).toEqual(['be brief']);
    expect(agentDiscoverySpecToWire(spec)).toEqual(AGENT_WIRE);
  });

  it('omits empty optionals on the way out', () => {
    const spec = parseAgentDiscoverySpec({
      profile: 'worker',
      meerkat_id: 'w-1',
      labels: {},
      additional_instructions: [],
    });
    expect(agentDiscoverySpecToWire(spec)).toEqual({ profile: 'worker', meerkat_id: 'w-1' });
  });

  it('rejects a blank meerkat_id', () => {
    const error = catchError(() => parseAgentDiscoverySpec({ profile: 'worker', meerkat_id: '  ' }));
    expect(error.message).toContain('meerkat_id');
  });
});
