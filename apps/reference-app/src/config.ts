import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AgentDiscoverySpecWireSchema,
  type AgentDiscoverySpec,
  type MobKitConfig,
  MobKitError,
  type ModuleConfig,
  type PreSpawnData,
  loadTrustedModulesFromToml,
  parseTomlText,
  parseWithSchema,
  toMobKitError,
} from '@mobkit/core';
import { MobDefinition, type ScheduleDefinition, parseSchedulesToml } from 'mobkit';
import { parseRoutingConfig } from '@mobkit/routing';
import { parseDeliveryConfig } from '@mobkit/delivery';
import { parseSchedulingModuleConfig } from '@mobkit/scheduling';
import { type RuntimeDecisionState, buildRuntimeDecisionState, parseRuntimeDecisionInputs } from '@mobkit/auth-policy';

/** The example config shipped with the app (`apps/reference-app/config`). */
export const DEFAULT_CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'config');

/** Module executables of the MobKit packages, run with this Node when named bare in `mobkit.toml`. */
export const MODULE_BINS: Readonly<Record<string, string>> = Object.freeze({
  'mobkit-router': '@mobkit/routing',
  'mobkit-delivery': '@mobkit/delivery',
  'mobkit-scheduling': '@mobkit/scheduling',
});

/** Release metadata the decision state requires (the reference app is not a release channel). */
const RELEASE_METADATA_JSON = JSON.stringify({
  targets: ['crates.io', 'npm', 'pypi', 'github-releases'],
  support_matrix: 'same-as-meerkat',
});

/** Everything the app runs, read and checked from a config directory before anything starts. */
export interface AppConfig {
  /** Absolute config directory. */
  dir: string;
  /** `mob.toml`. */
  mob: MobDefinition;
  /** Modules (commands resolved), discovery and pre-spawn env from `mobkit.toml`. */
  modules: MobKitConfig;
  /** Members spawned at start (`[[members]]` of `mobkit.toml`). */
  members: AgentDiscoverySpec[];
  /** `schedules.toml` (empty when the file is absent). */
  schedules: ScheduleDefinition[];
  /** Console and auth policy (`[console]`, `[auth]`, `[trusted_oidc]` of `mobkit.toml`). */
  decisionState: RuntimeDecisionState;
  /** Per-module start-up timeout. */
  startupTimeoutMs: number;
  /** Bound on draining agent turns at shutdown. */
  drainTimeoutMs: number;
}

/** Wraps whatever a loader throws into a MobKitError naming the file (and keeping the field). */
function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const e = toMobKitError(error, 'InvalidConfig');
    const shown = displayPath(file);
    const message = e.message.includes(file) || e.message.startsWith(shown) ? e.message : `${shown}: ${e.message}`;
    throw new MobKitError(e.code, message, { cause: e, details: { ...(e.details ?? {}), file } });
  }
}

function fail(file: string, field: string, message: string): never {
  throw new MobKitError('InvalidConfig', `${displayPath(file)}: ${field}: ${message}`, { details: { file, field } });
}

/** A path as a person reads it: relative to the working directory when that is shorter. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

function readConfigFile(file: string, required: boolean): string | undefined {
  if (!existsSync(file)) {
    if (!required) return undefined;
    throw new MobKitError(
      'InvalidConfig',
      `${displayPath(file)}: file not found (every config directory needs it; see apps/reference-app/config for an example)`,
      {
        details: { file, field: '<file>' },
      },
    );
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new MobKitError('InvalidConfig', `${displayPath(file)}: cannot read: ${(error as Error).message}`, {
      cause: error,
      details: { file, field: '<file>' },
    });
  }
}

/** The app's own sections of `mobkit.toml` (besides `[[modules]]`), checked by hand with field paths. */
interface AppSections {
  pre_spawn: Array<{ module_id: string; env: Record<string, string> }>;
  discovery: { namespace: string; modules: string[] } | undefined;
  members: unknown[];
  runtime: { startup_timeout_ms: number; drain_timeout_ms: number };
  console: { require_app_auth: boolean };
  auth: { default_provider?: string; email_allowlist?: string[] } | undefined;
  trusted_oidc:
    | { audience: string; discovery_file?: string; discovery_json?: string; jwks_file?: string; jwks_json?: string }
    | undefined;
  bigquery: { dataset: string; table: string } | undefined;
}

const KNOWN_SECTIONS = [
  'modules',
  'pre_spawn',
  'discovery',
  'members',
  'runtime',
  'console',
  'auth',
  'trusted_oidc',
  'bigquery',
];

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  return typeof value === 'object' ? 'a table' : `${typeof value} ${JSON.stringify(value)}`;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** Reads the app sections of a parsed `mobkit.toml`; every problem names `file` and the field. */
function readAppSections(doc: Record<string, unknown>, file: string): AppSections {
  const unknown = Object.keys(doc).filter((k) => !KNOWN_SECTIONS.includes(k));
  if (unknown.length > 0) fail(file, unknown[0] as string, `unknown section (known: ${KNOWN_SECTIONS.join(', ')})`);
  const table = (value: unknown, field: string, keys: readonly string[]): Record<string, unknown> | undefined => {
    if (value === undefined) return undefined;
    if (!isTable(value)) fail(file, field, `expected a table, got ${describe(value)}`);
    const extra = Object.keys(value).filter((k) => !keys.includes(k));
    if (extra.length > 0) fail(file, `${field}.${extra[0]}`, `unknown key (known: ${keys.join(', ')})`);
    return value;
  };
  const array = (value: unknown, field: string): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) fail(file, field, `expected an array, got ${describe(value)}`);
    return value;
  };
  const str = (value: unknown, field: string, nonBlank = true): string => {
    if (typeof value !== 'string' || (nonBlank && value.trim() === ''))
      fail(file, field, `expected a${nonBlank ? ' non-blank' : ''} string, got ${describe(value)}`);
    return nonBlank ? value.trim() : value;
  };
  const int = (value: unknown, field: string, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      fail(file, field, `expected an integer from ${min} to ${max}, got ${describe(value)}`);
    return value;
  };

  const preSpawn = array(doc.pre_spawn, 'pre_spawn').map((entry, i) => {
    const t =
      table(entry, `pre_spawn[${i}]`, ['module_id', 'env']) ?? fail(file, `pre_spawn[${i}]`, 'expected a table');
    const env = table(t.env, `pre_spawn[${i}].env`, Object.keys(isTable(t.env) ? t.env : {})) ?? {};
    return {
      module_id: str(t.module_id, `pre_spawn[${i}].module_id`),
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, str(v, `pre_spawn[${i}].env.${k}`, false)])),
    };
  });
  const d = table(doc.discovery, 'discovery', ['namespace', 'modules']);
  const discovery =
    d === undefined
      ? undefined
      : {
          namespace: d.namespace === undefined ? 'reference-app' : str(d.namespace, 'discovery.namespace', false),
          modules: array(d.modules, 'discovery.modules').map((m, i) => str(m, `discovery.modules[${i}]`)),
        };
  const r = table(doc.runtime, 'runtime', ['startup_timeout_ms', 'drain_timeout_ms']) ?? {};
  const c = table(doc.console, 'console', ['require_app_auth']) ?? {};
  if (c.require_app_auth !== undefined && typeof c.require_app_auth !== 'boolean')
    fail(file, 'console.require_app_auth', `expected true or false, got ${describe(c.require_app_auth)}`);
  const a = table(doc.auth, 'auth', ['default_provider', 'email_allowlist']);
  const o = table(doc.trusted_oidc, 'trusted_oidc', [
    'audience',
    'discovery_file',
    'discovery_json',
    'jwks_file',
    'jwks_json',
  ]);
  const b = table(doc.bigquery, 'bigquery', ['dataset', 'table']);
  return {
    pre_spawn: preSpawn,
    discovery,
    members: array(doc.members, 'members'),
    runtime: {
      startup_timeout_ms: int(r.startup_timeout_ms, 'runtime.startup_timeout_ms', 15_000, 1, 600_000),
      drain_timeout_ms: int(r.drain_timeout_ms, 'runtime.drain_timeout_ms', 5_000, 0, 600_000),
    },
    console: { require_app_auth: c.require_app_auth === true },
    auth:
      a === undefined
        ? undefined
        : {
            ...(a.default_provider === undefined
              ? {}
              : { default_provider: str(a.default_provider, 'auth.default_provider') }),
            ...(a.email_allowlist === undefined
              ? {}
              : {
                  email_allowlist: array(a.email_allowlist, 'auth.email_allowlist').map((e, i) =>
                    str(e, `auth.email_allowlist[${i}]`),
                  ),
                }),
          },
    trusted_oidc:
      o === undefined
        ? undefined
        : {
            audience: str(o.audience, 'trusted_oidc.audience'),
            ...(o.discovery_file === undefined
              ? {}
              : { discovery_file: str(o.discovery_file, 'trusted_oidc.discovery_file') }),
            ...(o.discovery_json === undefined
              ? {}
              : { discovery_json: str(o.discovery_json, 'trusted_oidc.discovery_json') }),
            ...(o.jwks_file === undefined ? {} : { jwks_file: str(o.jwks_file, 'trusted_oidc.jwks_file') }),
            ...(o.jwks_json === undefined ? {} : { jwks_json: str(o.jwks_json, 'trusted_oidc.jwks_json') }),
          },
    bigquery:
      b === undefined
        ? undefined
        : { dataset: str(b.dataset, 'bigquery.dataset', false), table: str(b.table, 'bigquery.table', false) },
  };
}

/** Replaces `${config_dir}` in a config value. */
function expand(value: string, dir: string): string {
  return value.replaceAll('${config_dir}', dir);
}

/**
 * Resolves a module command: a bare MobKit module executable name runs as `node <bin file>` of its
 * installed package; anything else runs as written.
 */
export function resolveModuleCommand(module: ModuleConfig, file: string, index: number): ModuleConfig {
  const pkg = MODULE_BINS[module.command];
  if (pkg === undefined) return module;
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${pkg}/package.json`);
  } catch {
    fail(
      file,
      `modules[${index}].command`,
      `"${module.command}" comes from ${pkg}, which is not installed here; run npm install (or give the executable's path)`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  const binRel = manifest.bin?.[module.command];
  if (binRel === undefined) fail(file, `modules[${index}].command`, `${pkg} has no bin named "${module.command}"`);
  const bin = join(dirname(manifestPath), binRel);
  if (!existsSync(bin)) {
    fail(
      file,
      `modules[${index}].command`,
      `${bin} is missing: build the packages first (npm start and npm run build do)`,
    );
  }
  return { ...module, command: process.execPath, args: [bin, ...module.args] };
}

function loadOidc(
  section: NonNullable<AppSections['trusted_oidc']>,
  dir: string,
  file: string,
): { discovery_json: string; jwks_json: string; audience: string } {
  const pick = (fileKey: 'discovery_file' | 'jwks_file', jsonKey: 'discovery_json' | 'jwks_json'): string => {
    const path = section[fileKey];
    const inline = section[jsonKey];
    if (path !== undefined && inline !== undefined)
      fail(file, `trusted_oidc.${fileKey}`, `give either ${fileKey} or ${jsonKey}, not both`);
    if (inline !== undefined) return inline;
    if (path === undefined)
      fail(
        file,
        `trusted_oidc.${fileKey}`,
        `required (a JSON file relative to ${displayPath(dir)}), or give ${jsonKey} inline`,
      );
    const full = isAbsolute(path) ? path : resolve(dir, path);
    if (!existsSync(full) || !statSync(full).isFile())
      fail(file, `trusted_oidc.${fileKey}`, `${displayPath(full)} does not exist`);
    return readFileSync(full, 'utf8');
  };
  return {
    audience: section.audience,
    discovery_json: pick('discovery_file', 'discovery_json'),
    jwks_json: pick('jwks_file', 'jwks_json'),
  };
}

/**
 * A stand-in OIDC config for auth-off runs: the decision state always carries one, and this one
 * holds a random secret no caller can know, on a localhost issuer, so it can verify nothing.
 */
function inertOidc(): { discovery_json: string; jwks_json: string; audience: string } {
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return {
    audience: 'mobkit-console',
    discovery_json: JSON.stringify({
      issuer: 'http://127.0.0.1/auth-off',
      jwks_uri: 'http://127.0.0.1/auth-off/jwks.json',
    }),
    jwks_json: JSON.stringify({ keys: [{ kty: 'oct', kid: 'auth-off', alg: 'HS256', k: secret }] }),
  };
}

/**
 * Reads a config directory (`mob.toml`, `mobkit.toml`, `schedules.toml`, and checks `routing.toml`
 * and `delivery.toml` when present). Every problem is a MobKitError whose message starts with the
 * file and names the field; nothing is started here.
 */
export function loadAppConfig(configDir: string = DEFAULT_CONFIG_DIR): AppConfig {
  const dir = resolve(configDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MobKitError(
      'InvalidConfig',
      `--config ${displayPath(dir)}: not a directory (expected mob.toml, mobkit.toml and schedules.toml in it)`,
      {
        details: { file: dir, field: '--config' },
      },
    );
  }
  const mobFile = join(dir, 'mob.toml');
  const mobText = readConfigFile(mobFile, true) as string;
  const mob = inFile(mobFile, () => MobDefinition.fromToml(mobText, { baseDir: dir }));

  const kitFile = join(dir, 'mobkit.toml');
  const kitText = readConfigFile(kitFile, true) as string;
  const rawModules = inFile(kitFile, () => loadTrustedModulesFromToml(kitText));
  const doc = inFile(kitFile, () => parseTomlText(kitText, displayPath(kitFile)));
  const sections = readAppSections(doc, kitFile);

  const moduleIds = new Set(rawModules.map((m) => m.id));
  const modules = rawModules.map((m, i) =>
    resolveModuleCommand({ ...m, args: m.args.map((a) => expand(a, dir)) }, kitFile, i),
  );
  const preSpawn: PreSpawnData[] = sections.pre_spawn.map((p, i) => {
    if (!moduleIds.has(p.module_id))
      fail(
        kitFile,
        `pre_spawn[${i}].module_id`,
        `"${p.module_id}" is not a [[modules]] id (known: ${[...moduleIds].join(', ') || 'none'})`,
      );
    return {
      moduleId: p.module_id,
      env: Object.entries(p.env).map(([k, v]) => [k, expand(v, dir)] as [string, string]),
    };
  });
  const discoveryModules = sections.discovery?.modules ?? rawModules.map((m) => m.id);
  discoveryModules.forEach((id, i) => {
    if (!moduleIds.has(id))
      fail(
        kitFile,
        `discovery.modules[${i}]`,
        `"${id}" is not a [[modules]] id (known: ${[...moduleIds].join(', ') || 'none'})`,
      );
  });

  const members = sections.members.map((raw, i) =>
    inFile(kitFile, () => {
      const wire = parseWithSchema(AgentDiscoverySpecWireSchema, raw, {
        what: displayPath(kitFile),
        pathPrefix: `members[${i}]`,
        code: 'InvalidConfig',
      });
      const spec: AgentDiscoverySpec = {
        profile: wire.profile,
        meerkatId: wire.meerkat_id,
        labels: wire.labels,
        context: wire.context,
        additionalInstructions: wire.additional_instructions,
        resumeSessionId: wire.resume_session_id,
      };
      return spec;
    }),
  );
  const memberIds = new Set<string>();
  members.forEach((m, i) => {
    if (mob.profiles[m.profile] === undefined) {
      fail(
        kitFile,
        `members[${i}].profile`,
        `"${m.profile}" is not a profile of mob.toml (profiles: ${Object.keys(mob.profiles).join(', ') || 'none'})`,
      );
    }
    if (memberIds.has(m.meerkatId)) fail(kitFile, `members[${i}].meerkat_id`, `"${m.meerkatId}" is listed twice`);
    memberIds.add(m.meerkatId);
  });

  const schedulesFile = join(dir, 'schedules.toml');
  const schedulesText = readConfigFile(schedulesFile, false);
  const schedules = schedulesText === undefined ? [] : inFile(schedulesFile, () => parseSchedulesToml(schedulesText));
  if (schedulesText !== undefined) {
    const injection = inFile(schedulesFile, () =>
      parseSchedulingModuleConfig(schedulesText, displayPath(schedulesFile)),
    );
    const rules: Array<[string, string | undefined]> = [
      ['runtime_injection.member_id', injection.defaultInjection?.memberId],
    ];
    for (const [id, rule] of Object.entries(injection.schedules))
      rules.push([`runtime_injection.schedules.${id}.member_id`, rule?.memberId]);
    for (const [field, memberId] of rules) {
      if (memberId !== undefined && !memberIds.has(memberId)) {
        fail(
          schedulesFile,
          field,
          `"${memberId}" is not a member spawned at start ([[members]] of mobkit.toml: ${[...memberIds].join(', ') || 'none'})`,
        );
      }
    }
  }

  const routingFile = join(dir, 'routing.toml');
  const routingText = readConfigFile(routingFile, false);
  if (routingText !== undefined) inFile(routingFile, () => parseRoutingConfig(routingText, displayPath(routingFile)));
  const deliveryFile = join(dir, 'delivery.toml');
  const deliveryText = readConfigFile(deliveryFile, false);
  if (deliveryText !== undefined)
    inFile(deliveryFile, () => parseDeliveryConfig(deliveryText, displayPath(deliveryFile), dir));

  const requireAuth = sections.console.require_app_auth;
  if (requireAuth && sections.trusted_oidc === undefined) {
    fail(
      kitFile,
      'trusted_oidc',
      'required when console.require_app_auth = true: give audience, discovery_file and jwks_file of your identity provider',
    );
  }
  const decisionState = inFile(kitFile, () =>
    buildRuntimeDecisionState(
      parseRuntimeDecisionInputs({
        bigquery: sections.bigquery ?? { dataset: 'mobkit_reference', table: 'sessions' },
        trusted_mobkit_toml: kitText,
        trusted_oidc: sections.trusted_oidc === undefined ? inertOidc() : loadOidc(sections.trusted_oidc, dir, kitFile),
        console: { require_app_auth: requireAuth },
        ...(sections.auth === undefined ? {} : { auth: sections.auth }),
        release_metadata_json: RELEASE_METADATA_JSON,
      }),
    ),
  );

  return {
    dir,
    mob,
    modules: {
      modules,
      discovery: { namespace: sections.discovery?.namespace ?? 'reference-app', modules: discoveryModules },
      preSpawn,
    },
    members,
    schedules,
    decisionState,
    startupTimeoutMs: sections.runtime.startup_timeout_ms,
    drainTimeoutMs: sections.runtime.drain_timeout_ms,
  };
}
