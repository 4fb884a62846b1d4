import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import {
  parseRoutingOverrides,
  parseRoutingResolveRequest,
  parseRuntimeRoute,
  routingOverridesToWire,
  runtimeRouteToWire,
} from './index.js';

describe('one codec per wire shape', () => {
  it('decodes a runtime route (null = not set) and encodes it back with absent optionals left out', () => {
    const wire = {
      route_key: 'ops.pager',
      recipient: 'ops@example.com',
      channel: null,
      sink: 'webhook',
      target_module: 'delivery',
      retry_max: 3,
      backoff_ms: null,
      rate_limit_per_minute: 10,
    };
    const route = parseRuntimeRoute(wire);
    expect(route).toEqual({
      routeKey: 'ops.pager',
      recipient: 'ops@example.com',
      sink: 'webhook',
      targetModule: 'delivery',
      retryMax: 3,
      rateLimitPerMinute: 10,
    });
    expect(Object.keys(runtimeRouteToWire(route))).toEqual([
      'route_key',
      'recipient',
      'sink',
      'target_module',
      'retry_max',
      'rate_limit_per_minute',
    ]);
    expect(parseRuntimeRoute(runtimeRouteToWire({ ...route, channel: 'alerts' }))).toEqual({
      ...route,
      channel: 'alerts',
    });
    expect(expectMobKitError(() => parseRuntimeRoute({ ...wire, retry_max: -1 })).message).toContain('retry_max');
  });

  it('round-trips overrides and requests, and refuses to encode a wrong value', () => {
    const overrides = { sink: 'email', targetModule: 'delivery', retryMax: 0 };
    expect(routingOverridesToWire(overrides)).toEqual({ sink: 'email', target_module: 'delivery', retry_max: 0 });
    expect(parseRoutingOverrides(routingOverridesToWire(overrides))).toEqual(overrides);
    expect(parseRoutingOverrides({ sink: null, extra: 'ignored', backoff_ms: 5 })).toEqual({ backoffMs: 5 });
    expect(parseRoutingResolveRequest({ recipient: 'a@b.c', channel: null, retry_max: 2 })).toEqual({
      recipient: 'a@b.c',
      retryMax: 2,
    });
    expect(() => routingOverridesToWire({ retryMax: -1 })).toThrow();
  });
});
