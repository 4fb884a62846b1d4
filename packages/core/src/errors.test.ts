import { describe, expect, it } from 'vitest';
import { catchError } from '../test/catch-error.js';
import {
  parseRpcCapabilities,
  rpcCapabilitiesToWire,
  MOBKIT_CONTRACT_VERSION,
  MAX_SCHEDULES_PER_REQUEST,
} from './capabilities.js';
import { ManualClock, SequenceIds, sequenceId, systemClock } from './clock.js';
import { ERROR_CODES, ERROR_CODE_SECTIONS, errorCodeInfo } from './errors/codes.js';
import { MobKitError, isMobKitError, toMobKitError } from './errors/error.js';

describe('the error code table', () => {
  it('maps every code to a JSON-RPC number and an HTTP status', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(Number.isInteger(info.rpc), code).toBe(true);
      expect(info.rpc === -32700 || (info.rpc >= -32603 && info.rpc <= -32000), `${code} rpc ${info.rpc}`).toBe(true);
      expect(info.http >= 400 && info.http <= 599, `${code} http ${info.http}`).toBe(true);
      expect(info.summary.trim().length, code).toBeGreaterThan(0);
    }
  });

  it('a code defined in two package sections maps identically', () => {
    const seen = new Map<string, { section: string; rpc: number; http: number }>();
    for (const [section, codes] of Object.entries(ERROR_CODE_SECTIONS)) {
      for (const [code, info] of Object.entries(codes)) {
        const first = seen.get(code);
        if (first)
          expect({ rpc: info.rpc, http: info.http }, `${code} in ${first.section} and ${section}`).toEqual({
            rpc: first.rpc,
            http: first.http,
          });
        else seen.set(code, { section, rpc: info.rpc, http: info.http });
      }
    }
    expect(seen.size).toBe(Object.keys(ERROR_CODES).length);
  });

  it('unknown codes fall back to Internal', () => {
    expect(errorCodeInfo('NoSuchCode')).toEqual(ERROR_CODES.Internal);
  });
});

describe('MobKitError', () => {
  it('carries code, message, details and cause, and maps to rpc/http', () => {
    const cause = new Error('disk full');
    const error = new MobKitError('InvalidConfig', 'modules[0].id is blank', {
      details: { field: 'modules[0].id' },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MobKitError');
    expect(error.cause).toBe(cause);
    expect(error.rpcCode).toBe(-32602);
    expect(error.httpStatus).toBe(400);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'InvalidConfig',
      message: 'modules[0].id is blank',
      details: { field: 'modules[0].id' },
    });
  });

  it('subclasses keep their name and are recognised by isMobKitError, by code too', () => {
    class DeliveryError extends MobKitError {}
    const error = new DeliveryError('InvalidInput', 'x');
    expect(error.name).toBe('DeliveryError');
    expect(isMobKitError(error)).toBe(true);
    expect(isMobKitError(error, 'InvalidInput')).toBe(true);
    expect(isMobKitError(error, 'Internal')).toBe(false);
    expect(isMobKitError(new Error('plain'))).toBe(false);
    expect(isMobKitError({ code: 'InvalidInput', message: 'x' })).toBe(false);
  });

  it('toMobKitError passes MobKit errors through and wraps anything else as Internal', () => {
    const own = new MobKitError('InvalidJson', 'x');
    expect(toMobKitError(own)).toBe(own);
    const wrapped = toMobKitError(new RangeError('bad'), 'InvalidInput');
    expect(wrapped.code).toBe('InvalidInput');
    expect(wrapped.message).toBe('bad');
    expect(wrapped.cause).toBeInstanceOf(RangeError);
    expect(toMobKitError('text').code).toBe('Internal');
  });
});

describe('capabilities', () => {
  it('contract version and request limits', () => {
    expect(MOBKIT_CONTRACT_VERSION).toBe('0.2.0');
    expect(MAX_SCHEDULES_PER_REQUEST).toBe(256);
  });

  it('parses a capabilities line and keeps extra keys', () => {
    const caps = parseRpcCapabilities('{"contract_version":"0.2.0","methods":["mobkit/status"],"gateway":"stdio"}');
    expect(caps).toEqual({ contractVersion: '0.2.0', extra: { methods: ['mobkit/status'], gateway: 'stdio' } });
    expect(rpcCapabilitiesToWire(caps)).toEqual({
      contract_version: '0.2.0',
      methods: ['mobkit/status'],
      gateway: 'stdio',
    });
  });

  it('MissingContractVersion, InvalidContractVersion (non-string, blank), InvalidJson, InvalidSchema', () => {
    expect(catchError(() => parseRpcCapabilities('{"methods":[]}')).code).toBe('MissingContractVersion');
    const nonString = catchError(() => parseRpcCapabilities('{"contract_version":2}'));
    expect(nonString.code).toBe('InvalidContractVersion');
    expect(nonString.message).toContain('got 2');
    expect(catchError(() => parseRpcCapabilities('{"contract_version":"   "}')).code).toBe('InvalidContractVersion');
    expect(catchError(() => parseRpcCapabilities('contract_version=0.2.0')).code).toBe('InvalidJson');
    expect(catchError(() => parseRpcCapabilities('["0.2.0"]')).code).toBe('InvalidSchema');
  });
});

describe('clock and ids', () => {
  it('ManualClock moves only when told', () => {
    const clock = new ManualClock(1_000);
    expect(clock.nowMs()).toBe(1_000);
    expect(clock.advance(500)).toBe(1_500);
    clock.set(60_000);
    expect(clock.nowMs()).toBe(60_000);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(Math.abs(systemClock.nowMs() - Date.now())).toBeLessThan(1_000);
  });

  it('sequence ids look like the spec', () => {
    expect(sequenceId('route', 0)).toBe('route-000000');
    const ids = new SequenceIds('route');
    expect([ids.take(), ids.take()]).toEqual(['route-000000', 'route-000001']);
    expect(ids.count).toBe(2);
  });
});
