import { expectMobKitError, fixturePath } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { loadRoutingConfig, parseRoutingConfig } from './index.js';

const fixture = (name: string) => fixturePath('routing', name);
const OVERRIDE_KEYS = 'channel, sink, target_module, retry_max, backoff_ms, rate_limit_per_minute';

describe('routing TOML', () => {
  it('loads defaults and routes from the fixture', () => {
    const config = loadRoutingConfig(fixture('routing.toml'));
    expect(config.defaults).toEqual({ retryMax: 2, backoffMs: 50 });
    expect(parseRoutingConfig('[defaults]\nsink = " webhook "\nchannel = "alerts"\n').defaults).toEqual({
      sink: 'webhook',
      channel: 'alerts',
    });
    expect(config.routes.map((r) => r.routeKey)).toEqual(['ops.pager', 'zz.fallback']);
    expect(config.routes[0]).toMatchObject({
      recipient: 'ops@example.com',
      channel: 'alerts',
      retryMax: 3,
      rateLimitPerMinute: 10,
    });
  });

  it('rejects a route above the retry cap naming the route', () => {
    const e = expectMobKitError(() => loadRoutingConfig(fixture('invalid-retry.toml')), 'RetryMaxExceedsCap');
    expect(e.message).toContain('routes[0].retry_max');
  });

  it('reports TOML syntax errors, unknown sections, wrong types and missing files', () => {
    expectMobKitError(() => parseRoutingConfig('[defaults\n'), 'InvalidToml');
    const unknown = expectMobKitError(() => parseRoutingConfig('[defaultz]\nsink = "x"\n'), 'InvalidConfig');
    expect(unknown.message).toBe('invalid routing config: defaultz: unknown key; allowed: defaults, routes');
    expect(unknown.details?.field).toBe('defaultz');
    const typed = expectMobKitError(() => parseRoutingConfig('[defaults]\nretry_max = "two"\n'), 'InvalidConfig');
    expect(typed.message).toContain('defaults.retry_max');
    const misspelt = expectMobKitError(() => parseRoutingConfig('[defaults]\nretrymax = 2\n'), 'InvalidConfig');
    expect(misspelt.message).toBe(`invalid routing config: defaults.retrymax: unknown key; allowed: ${OVERRIDE_KEYS}`);
    expect(misspelt.details?.field).toBe('defaults.retrymax');
    const blank = expectMobKitError(() => parseRoutingConfig('[defaults]\nsink = "  "\n'), 'InvalidConfig');
    expect(blank.message).toContain('defaults.sink must not be blank');
    const missing = expectMobKitError(
      () => parseRoutingConfig('[[routes]]\nroute_key = "k"\nrecipient = "r"\nsink = "s"\n'),
      'InvalidConfig',
    );
    expect(missing.message).toContain('routes[0].target_module');
    const absent = expectMobKitError(() => loadRoutingConfig('/nonexistent/routing.toml'), 'InvalidConfig');
    expect(absent.message).toBe('routing config /nonexistent/routing.toml: cannot read the file (ENOENT)');
  });

  it('refuses each unknown key at its own path, in a route too, in the same pass as other problems', () => {
    const e = expectMobKitError(
      () =>
        parseRoutingConfig(
          '[defaults]\nretrymax = 2\nbackoff_ms = "x"\n[[routes]]\nroute_key = "k"\nrecipient = "r"\nsink = "s"\ntarget_module = "delivery"\nrate_limit = 3\n',
        ),
      'InvalidConfig',
    );
    expect(e.details?.issues).toEqual([
      { field: 'defaults.backoff_ms', message: 'defaults.backoff_ms: expected number, got string' },
      { field: 'defaults.retrymax', message: `defaults.retrymax: unknown key; allowed: ${OVERRIDE_KEYS}` },
      {
        field: 'routes[0].rate_limit',
        message:
          'routes[0].rate_limit: unknown key; allowed: route_key, recipient, channel, sink, target_module, retry_max, backoff_ms, rate_limit_per_minute',
      },
    ]);
  });
});
