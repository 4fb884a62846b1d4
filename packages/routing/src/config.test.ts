import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { isMobKitError } from '@mobkit/core';
import { loadRoutingConfig, parseRoutingConfig } from './index.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/routing/', import.meta.url));

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isMobKitError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

describe('routing TOML', () => {
  it('loads defaults and routes from the fixture', () => {
    const config = loadRoutingConfig(`${fixtures}routing.toml`);
    expect(config.defaults).toEqual({ retryMax: 2, backoffMs: 50 });
    expect(config.routes.map((r) => r.routeKey)).toEqual(['ops.pager', 'zz.fallback']);
    expect(config.routes[0]).toMatchObject({
      recipient: 'ops@example.com',
      channel: 'alerts',
      retryMax: 3,
      rateLimitPerMinute: 10,
    });
  });

  it('rejects a route above the retry cap naming the route', () => {
    const e = errorOf(() => loadRoutingConfig(`${fixtures}invalid-retry.toml`));
    expect(e.code).toBe('RetryMaxExceedsCap');
    expect(e.message).toContain('routes[0].retry_max');
  });

  it('reports TOML syntax errors, unknown sections, wrong types and missing files', () => {
    expect(errorOf(() => parseRoutingConfig('[defaults\n')).code).toBe('InvalidToml');
    const unknown = errorOf(() => parseRoutingConfig('[defaultz]\nsink = "x"\n'));
    expect(unknown.code).toBe('InvalidConfig');
    expect(unknown.message).toContain('defaultz');
    const typed = errorOf(() => parseRoutingConfig('[defaults]\nretry_max = "two"\n'));
    expect(typed.code).toBe('InvalidConfig');
    expect(typed.message).toContain('defaults.retry_max');
    const missing = errorOf(() => parseRoutingConfig('[[routes]]\nroute_key = "k"\nrecipient = "r"\nsink = "s"\n'));
    expect(missing.code).toBe('InvalidConfig');
    expect(missing.message).toContain('routes[0].target_module');
    expect(errorOf(() => loadRoutingConfig('/nonexistent/routing.toml')).code).toBe('InvalidConfig');
  });
});
