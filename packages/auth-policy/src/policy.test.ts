import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { authPolicyToWire, consolePolicyToWire, parseAuthPolicy, parseConsolePolicy } from './policy.js';

describe('policy parsing', () => {
  it('takes the wire spelling, provider aliases and defaults', () => {
    expect(parseAuthPolicy(undefined)).toEqual({ defaultProvider: 'google_o_auth', emailAllowlist: [] });
    expect(parseAuthPolicy({ default_provider: 'github_oauth', email_allowlist: ['a'] })).toEqual({
      defaultProvider: 'git_hub_o_auth',
      emailAllowlist: ['a'],
    });
    expect(() => parseAuthPolicy({ default_provider: 'okta' })).toThrow(/auth.default_provider: expected one of/);
    expect(parseConsolePolicy({})).toEqual({ requireAppAuth: true });
    expect(() => parseConsolePolicy({ require_app_auth: 'yes' })).toThrow(/console.require_app_auth/);
  });

  it('names the key path and refuses unknown keys listing the allowed ones (InvalidConfig)', () => {
    const provider = expectMobKitError(() => parseAuthPolicy({ default_provider: 'okta' }), 'InvalidConfig');
    expect(provider.message).toBe(
      'invalid auth policy: auth.default_provider: expected one of google_o_auth, git_hub_o_auth, generic_oidc, service_identity, test_provider, google_oauth, github_oauth, got "okta"',
    );
    expect(provider.details?.field).toBe('auth.default_provider');
    const list = expectMobKitError(() => parseAuthPolicy({ email_allowlist: ['a@example.com', 3] }), 'InvalidConfig');
    expect(list.message).toBe('invalid auth policy: auth.email_allowlist[1]: expected string, got integer');
    const typo = expectMobKitError(() => parseAuthPolicy({ email_allow_list: [] }), 'InvalidConfig');
    expect(typo.message).toBe(
      'invalid auth policy: auth.email_allow_list: unknown key; allowed: default_provider, email_allowlist',
    );
    expect(typo.details?.field).toBe('auth.email_allow_list');
    const typos = expectMobKitError(
      () => parseAuthPolicy({ provider: 'okta', email_allowlist: [7], allowlist: [] }),
      'InvalidConfig',
    );
    expect(typos.details?.issues).toEqual([
      { field: 'auth.email_allowlist[0]', message: 'auth.email_allowlist[0]: expected string, got integer' },
      { field: 'auth.provider', message: 'auth.provider: unknown key; allowed: default_provider, email_allowlist' },
      { field: 'auth.allowlist', message: 'auth.allowlist: unknown key; allowed: default_provider, email_allowlist' },
    ]);
    expect(expectMobKitError(() => parseAuthPolicy('google'), 'InvalidConfig').message).toBe(
      'invalid auth policy: auth: expected object, got string',
    );
    const consoleTypo = expectMobKitError(() => parseConsolePolicy({ require_auth: false }), 'InvalidConfig');
    expect(consoleTypo.message).toBe(
      'invalid console policy: console.require_auth: unknown key; allowed: require_app_auth',
    );
    expect(consoleTypo.details?.field).toBe('console.require_auth');
    expect(parseConsolePolicy(undefined)).toEqual({ requireAppAuth: true });
  });

  it('encodes through the same codecs: aliases come back in the spec spelling', () => {
    expect(authPolicyToWire(parseAuthPolicy({ default_provider: 'google_oauth', email_allowlist: ['x'] }))).toEqual({
      default_provider: 'google_o_auth',
      email_allowlist: ['x'],
    });
    expect(authPolicyToWire(parseAuthPolicy(undefined))).toEqual({
      default_provider: 'google_o_auth',
      email_allowlist: [],
    });
    expect(consolePolicyToWire(parseConsolePolicy({ require_app_auth: false }))).toEqual({ require_app_auth: false });
  });
});
