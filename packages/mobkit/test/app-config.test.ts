import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMobKitError } from '@mobkit/core';
import { REPO_ROOT } from '@mobkit/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/app-config/load.js';
import { validateConfigText } from '../src/app-config/validate.js';

// The app config loader, on the reference app's example config (apps/reference-app/config) and
// broken copies of it. Module commands resolve to the packages' built bins: `npm test` builds them first.
const DEFAULT_CONFIG_DIR = join(REPO_ROOT, 'apps', 'reference-app', 'config');

/** The placeholder `mobkit.toml` values may contain (a plain string, not a template). */
const CONFIG_DIR = ['$', '{config_dir}'].join('');

function expectConfigError(
  fn: () => unknown,
  expected: { code?: string; file?: string; field?: string; message: RegExp | string },
): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isMobKitError(caught), String(caught)).toBe(true);
  if (!isMobKitError(caught)) return;
  if (expected.code) expect(caught.code).toBe(expected.code);
  if (expected.file) expect(caught.details?.file).toBe(expected.file);
  if (expected.field) expect(caught.details?.field).toBe(expected.field);
  if (typeof expected.message === 'string') expect(caught.message).toContain(expected.message);
  else expect(caught.message).toMatch(expected.message);
}

describe('loadAppConfig: the example config', () => {
  it('reads the shipped config: three core modules from their bins, a lead and two workers, one */1m schedule, auth off', () => {
    const config = loadAppConfig(DEFAULT_CONFIG_DIR);
    expect(config.dir).toBe(DEFAULT_CONFIG_DIR);
    expect(config.modules.discovery.modules).toEqual(['router', 'delivery', 'scheduling']);
    for (const [i, bin] of ['mobkit-router', 'mobkit-delivery', 'mobkit-scheduling'].entries()) {
      const module = config.modules.modules[i];
      expect(module?.command).toBe(process.execPath);
      expect(module?.args[0]).toMatch(new RegExp(`packages/[a-z]+/dist/bin/${bin}\\.js$`));
    }
    expect(config.modules.modules[0]?.args[1]).toBe(join(DEFAULT_CONFIG_DIR, 'routing.toml'));
    expect(config.modules.modules[2]?.args[1]).toBe(join(DEFAULT_CONFIG_DIR, 'schedules.toml'));
    expect(config.modules.preSpawn.map((p) => [p.moduleId, p.env])).toEqual([
      ['router', [['MOBKIT_MODULE_BOUNDARY', 'mcp']]],
      ['delivery', [['MOBKIT_MODULE_BOUNDARY', 'mcp']]],
      ['scheduling', [['MOBKIT_MODULE_BOUNDARY', 'mcp']]],
    ]);
    expect(config.members.map((m) => `${m.meerkatId}:${m.profile}`)).toEqual([
      'lead:lead',
      'worker-1:worker',
      'worker-2:worker',
    ]);
    expect(config.mob.orchestrator).toBe('lead');
    expect(config.mob.wiring.autoWireOrchestrator).toBe(true);
    expect(Object.values(config.mob.profiles).every((p) => p.externalAddressable)).toBe(true);
    expect(config.schedules).toHaveLength(1);
    expect(config.schedules[0]).toMatchObject({ scheduleId: 'heartbeat', interval: '*/1m', timezone: 'UTC' });
    expect(config.decisionState.console.requireAppAuth).toBe(false);
    expect(config.decisionState.modules.map((m) => m.id)).toEqual(['router', 'delivery', 'scheduling']);
  });
});

describe('loadAppConfig: the [http] section (what the edge refuses)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-http-config-'));
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const kit = () => join(dir, 'mobkit.toml');
  // The example's mobkit.toml with its [http] section (the last one) cut off, then this one appended.
  const withHttp = (section: string) => {
    const base = readFileSync(join(DEFAULT_CONFIG_DIR, 'mobkit.toml'), 'utf8').split(/^\[http\]$/m)[0];
    writeFileSync(kit(), `${base}\n[http]\n${section}\n`);
  };

  it('defaults: no extra origins or hosts, exp required, tokens live at most 24 h', () => {
    withHttp('');
    expect(loadAppConfig(dir).http).toEqual({
      allowedOrigins: [],
      allowedHosts: [],
      requireExp: true,
      maxTokenLifetimeSeconds: 86_400,
    });
  });

  it('reads every key', () => {
    withHttp(
      'allowed_origins = ["https://console.example.com"]\nallowed_hosts = ["mobkit.internal", "console.example.com:8443"]\nrequire_exp = false\nmax_token_lifetime_s = 3600',
    );
    expect(loadAppConfig(dir).http).toEqual({
      allowedOrigins: ['https://console.example.com'],
      allowedHosts: ['mobkit.internal', 'console.example.com:8443'],
      requireExp: false,
      maxTokenLifetimeSeconds: 3600,
    });
  });

  it('names the key of a bad value, also in mobkit validate', () => {
    for (const [line, field, message] of [
      ['allowed_origins = ["console.example.com"]', 'http.allowed_origins[0]', 'expected an origin'],
      ['allowed_origins = ["https://x.example/path"]', 'http.allowed_origins[0]', 'expected an origin'],
      ['allowed_hosts = ["http://mobkit.internal"]', 'http.allowed_hosts[0]', 'expected a host name'],
      ['max_token_lifetime_s = 0', 'http.max_token_lifetime_s', 'expected an integer from 1'],
      ['require_exp = "yes"', 'http.require_exp', 'expected boolean'],
      ['allowed_origin = []', 'http.allowed_origin', 'unknown key'],
    ] as const) {
      withHttp(line);
      expectConfigError(() => loadAppConfig(dir), { code: 'InvalidConfig', file: kit(), field, message });
      const result = validateConfigText(kit(), readFileSync(kit(), 'utf8'));
      expect(result.problems.map((p) => p.key)).toEqual([field]);
    }
  });
});

describe('loadAppConfig: problems name the file and the field', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-config-'));
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const kit = () => join(dir, 'mobkit.toml');
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(dir, file), change(readFileSync(join(dir, file), 'utf8')));

  it('a directory that does not exist', () => {
    expectConfigError(() => loadAppConfig(join(dir, 'nope')), {
      code: 'InvalidConfig',
      field: '--config',
      message: 'not a directory',
    });
  });

  it('a missing mob.toml', () => {
    unlinkSync(join(dir, 'mob.toml'));
    expectConfigError(() => loadAppConfig(dir), { file: join(dir, 'mob.toml'), message: 'file not found' });
  });

  it(`expands ${CONFIG_DIR} and runs other commands as written`, () => {
    edit('mobkit.toml', (t) =>
      t.replace(
        '[[pre_spawn]]',
        `[[modules]]\nid = "custom"\ncommand = "/opt/bin/custom-module"\nargs = ["--data", "${CONFIG_DIR}/data"]\n\n[[pre_spawn]]`,
      ),
    );
    const config = loadAppConfig(dir);
    expect(config.modules.modules[3]).toEqual({
      id: 'custom',
      command: '/opt/bin/custom-module',
      args: ['--data', `${dir}/data`],
      restartPolicy: 'on_failure',
    });
    expect(config.modules.discovery.modules).toEqual(['router', 'delivery', 'scheduling', 'custom']);
  });

  it('a pre_spawn entry for a module that is not configured', () => {
    edit('mobkit.toml', (t) => t.replace('module_id = "delivery"', 'module_id = "delivry"'));
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'pre_spawn[1].module_id',
      message: '"delivry" is not a [[modules]] id',
    });
  });

  it('a discovery list naming an unknown module', () => {
    edit('mobkit.toml', (t) =>
      t.replace(
        '# [discovery]\n# namespace = "reference-app"\n# modules = ["router", "delivery", "scheduling"]',
        '[discovery]\nmodules = ["router", "mailer"]',
      ),
    );
    expectConfigError(() => loadAppConfig(dir), { file: kit(), field: 'discovery.modules[1]', message: '"mailer"' });
  });

  it('a module without a command (core trust-manifest rules)', () => {
    edit('mobkit.toml', (t) => t.replace('command = "mobkit-delivery"\n', ''));
    expectConfigError(() => loadAppConfig(dir), {
      code: 'MissingModuleCommand',
      file: kit(),
      field: 'modules[1].command',
      message: 'mobkit.toml',
    });
  });

  it('an unknown section, an unknown key and a wrongly typed value', () => {
    writeFileSync(kit(), `${readFileSync(kit(), 'utf8')}\n[consol]\nx = 1\n`);
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'consol',
      message:
        'consol: unknown key; allowed: modules, pre_spawn, discovery, members, runtime, console, auth, trusted_oidc, bigquery, http',
    });
    edit('mobkit.toml', (t) =>
      t.replace('[consol]\nx = 1\n', '').replace('startup_timeout_ms = 15000', 'startup_timeout_ms = "soon"'),
    );
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'runtime.startup_timeout_ms',
      message: 'expected an integer',
    });
    edit('mobkit.toml', (t) => t.replace('startup_timeout_ms = "soon"', 'startup_timeout = 1'));
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'runtime.startup_timeout',
      message: 'runtime.startup_timeout: unknown key; allowed: startup_timeout_ms, drain_timeout_ms',
    });
  });

  it('a member listed twice, and a member without meerkat_id', () => {
    edit('mobkit.toml', (t) => t.replace('meerkat_id = "worker-2"', 'meerkat_id = "worker-1"'));
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'members[2].meerkat_id',
      message: 'listed twice',
    });
    edit('mobkit.toml', (t) => t.replace('meerkat_id = "lead"\n', ''));
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'members[0].meerkat_id',
      message: 'mobkit.toml',
    });
  });

  it('auth turned on without a trusted identity provider', () => {
    edit('mobkit.toml', (t) => t.replace('require_app_auth = false', 'require_app_auth = true'));
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'trusted_oidc',
      message: 'required when console.require_app_auth = true',
    });
  });

  it('auth turned on with a key set file that does not exist, then with a valid one', () => {
    edit('mobkit.toml', (t) =>
      t
        .replace('require_app_auth = false', 'require_app_auth = true')
        .replace(
          '# [trusted_oidc]\n# audience = "mobkit-console"\n# discovery_file = "auth/openid-configuration.json"',
          '[trusted_oidc]\naudience = "mobkit-console"\ndiscovery_file = "oidc.json"',
        )
        .replace('# jwks_file = "auth/jwks.json"', 'jwks_file = "jwks.json"'),
    );
    writeFileSync(
      join(dir, 'oidc.json'),
      JSON.stringify({ issuer: 'http://127.0.0.1:9/issuer', jwks_uri: 'http://127.0.0.1:9/jwks.json' }),
    );
    expectConfigError(() => loadAppConfig(dir), {
      file: kit(),
      field: 'trusted_oidc.jwks_file',
      message: 'does not exist',
    });
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [] }));
    expectConfigError(() => loadAppConfig(dir), {
      code: 'InvalidTrustedAuthConfig',
      field: 'trusted_oidc.jwks_json',
      message: 'mobkit.toml',
    });
    writeFileSync(
      join(dir, 'jwks.json'),
      JSON.stringify({
        keys: [
          {
            kty: 'oct',
            kid: 'k1',
            alg: 'HS256',
            k: Buffer.from('a-local-test-secret-of-enough-length-0123456789').toString('base64url'),
          },
        ],
      }),
    );
    const config = loadAppConfig(dir);
    expect(config.decisionState.console.requireAppAuth).toBe(true);
    expect(config.decisionState.trustedOidc.audience).toBe('mobkit-console');
  });

  it('routing.toml and delivery.toml are checked before anything starts', () => {
    edit('routing.toml', (t) => t.replace('retry_max = 2\n', 'retry_max = 99\n'));
    expectConfigError(() => loadAppConfig(dir), { file: join(dir, 'routing.toml'), message: /routing\.toml.*retry/ });
    edit('routing.toml', (t) => t.replace('retry_max = 99\n', 'retry_max = 2\n'));
    edit('delivery.toml', (t) => t.replace('type = "webhook"', 'type = "pigeon"'));
    expectConfigError(() => loadAppConfig(dir), {
      file: join(dir, 'delivery.toml'),
      field: 'sinks.webhook.type',
      message: 'delivery.toml',
    });
  });
});

describe('validateConfigText: every section of the app config files', () => {
  it('mobkit.toml: the app sections are checked too, each problem with its key and line', () => {
    const text = [
      '[[modules]]',
      'id = "router"',
      'command = "mobkit-router"',
      '',
      '[[pre_spawn]]',
      'module_id = "mailer"',
      '',
      '[runtime]',
      'startup_timeout = 1',
      '',
      '[consol]',
      'x = 1',
      '',
    ].join('\n');
    const result = validateConfigText('/cfg/mobkit.toml', text);
    expect(result.kind).toBe('mobkit');
    expect(result.problems.map((p) => [p.key, p.line, p.code])).toEqual([
      ['runtime.startup_timeout', 9, 'InvalidConfig'],
      ['consol', 11, 'InvalidConfig'],
    ]);
    expect(result.problems[0]?.message).toContain(
      'runtime.startup_timeout: unknown key; allowed: startup_timeout_ms, drain_timeout_ms',
    );
    expect(result.problems[1]?.message).toContain(
      'consol: unknown key; allowed: modules, pre_spawn, discovery, members, runtime, console, auth, trusted_oidc, bigquery, http',
    );
    const fixed = validateConfigText(
      '/cfg/mobkit.toml',
      text.replace('startup_timeout = 1', '').replace('[consol]\nx = 1', ''),
    );
    expect(fixed.problems).toEqual([
      expect.objectContaining({ key: 'pre_spawn[0].module_id', line: 6, message: expect.stringContaining('"mailer"') }),
    ]);
  });

  it('the example config directory validates clean, file by file', () => {
    for (const file of ['mob.toml', 'mobkit.toml', 'schedules.toml', 'routing.toml', 'delivery.toml']) {
      expect(validateConfigText(file, readFileSync(join(DEFAULT_CONFIG_DIR, file), 'utf8')).problems, file).toEqual([]);
    }
  });

  it('schedules.toml: [runtime_injection] is checked as well as the schedules', () => {
    const result = validateConfigText(
      'schedules.toml',
      '[[schedules]]\nschedule_id = "a"\ninterval = "*/1m"\ntimezone = "UTC"\n\n[runtime_injection]\nmember_id = 3\n',
    );
    expect(result.kind).toBe('schedules');
    expect(result.problems).toHaveLength(1);
    expect(`${result.problems[0]?.key} ${result.problems[0]?.message}`).toMatch(/runtime_injection\.member_id/);
    expect(result.problems[0]?.line).toBe(7);
  });
});
