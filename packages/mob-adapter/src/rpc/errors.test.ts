import { describe, expect, it } from 'vitest';
import { mapRkatRpcError } from './errors.js';

describe('mapRkatRpcError', () => {
  it.each([
    ['mob not found: m', 'MobNotFound', 'MOB_NOT_FOUND'],
    ['profile not found: p', 'ProfileNotFound', 'PROFILE_NOT_FOUND'],
    ['mob member not found: x', 'MemberNotFound', 'MEMBER_NOT_FOUND'],
    ['mob member already exists: x', 'MemberAlreadyExists', 'MEMBER_ALREADY_EXISTS'],
    ['mob member is not externally addressable: x', 'NotExternallyAddressable', 'NOT_EXTERNALLY_ADDRESSABLE'],
    ['invalid state transition: Stopped -> Running', 'InvalidTransition', 'INVALID_TRANSITION'],
    ['definition error: empty_profiles: at least one', 'DefinitionError', 'DEFINITION_ERROR'],
    ['invalid mob definition: unknown field', 'DefinitionError', 'DEFINITION_ERROR'],
    ["wiring error: profile 'x' has tools.comms=false", 'WiringError', 'WIRING_ERROR'],
    ['topology violation: a -> b', 'TopologyViolation', 'TOPOLOGY_VIOLATION'],
    ['mob/turn_start is only valid for turn_driven members', 'UnsupportedForMode', 'UNSUPPORTED_FOR_MODE'],
    ['kickoff wait timed out after 100ms', 'MobTimeout', 'TIMEOUT'],
    ['member ready wait timed out', 'MobTimeout', 'TIMEOUT'],
    ['something new', 'Internal', 'INTERNAL'],
  ])('classifies -32602 "%s" by prefix', (message, code, mobCode) => {
    const err = mapRkatRpcError({ code: -32602, message }, 'mob/x');
    expect(err.code).toBe(code);
    expect(err.mobCode).toBe(mobCode);
    expect(err.details).toMatchObject({ rpcCode: -32602, rpcMessage: message, method: 'mob/x' });
    expect(err.message).toContain(message);
  });

  it('classifies by code first', () => {
    const busy = mapRkatRpcError(
      { code: -32002, message: 'mob member not found: x', data: { kind: 'busy' } },
      'mob/retire',
    );
    expect(busy).toMatchObject({ code: 'MobBusy', mobCode: 'BUSY', retryable: true });
    expect(busy.details).toMatchObject({ data: { kind: 'busy' }, retryable: true });
    expect(
      mapRkatRpcError({ code: -32027, message: 'stale', data: { watermark: 5, requested: 1 } }, 'mob/events').code,
    ).toBe('StaleCursor');
    expect(mapRkatRpcError({ code: -32028, message: 'stale fence' }, 'm').code).toBe('StaleFence');
    expect(mapRkatRpcError({ code: -32025, message: 'denied' }, 'm').code).toBe('ScopeDenied');
    expect(mapRkatRpcError({ code: -32010, message: 'provider down' }, 'm').code).toBe('ProviderError');
    const missing = mapRkatRpcError({ code: -32601, message: 'method not found' }, 'mob/reconcile');
    expect(missing.code).toBe('MobCapabilityMissing');
    expect(missing.message).toContain('mob/reconcile');
    expect(mapRkatRpcError({ code: -32603, message: 'boom' }, 'm').code).toBe('Internal');
  });
});
