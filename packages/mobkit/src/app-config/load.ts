import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import {
  type AgentDiscoverySpec,
  type MobKitConfig,
  MobKitError,
  type ModuleConfig,
  type PreSpawnData,
  loadTrustedModulesFromToml,
  parseTomlText,
} from '@mobkit/core';
import { parseDeliveryConfig } from '@mobkit/delivery';
import { MobDefinition } from '@mobkit/mob-adapter';
import { parseRoutingConfig } from '@mobkit/routing';
import { type ScheduleDefinition, parseSchedulesToml, parseSchedulingModuleConfig } from '@mobkit/scheduling';
import { appDecisionState } from './decision-state.js';
import { displayPath, fail, inFile, readConfigFile } from './files.js';
import { resolveModuleCommand } from './module-command.js';
import { type MobkitTomlSections, parseMobkitTomlSections } from './sections.js';
import { type AppStoreChoice, type AppStoreOverrides, chooseAppStore } from './store.js';

/** Everything an app runs, read and checked from a config directory before anything starts. */
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
  /** What the HTTP edge refuses (`[http]` of `mobkit.toml`): pass it to the router with `httpSecurityOptions`. */
  http: AppHttpSecurity;
  /** Per-module start-up timeout. */
  startupTimeoutMs: number;
  /** Bound on draining agent turns at shutdown. */
  drainTimeoutMs: number;
  /** Where durable state lives (`[store]`, `DATABASE_URL`, `--ephemeral`); open it with `@mobkit/store`'s `openStore`. */
  store: AppStoreChoice;
}

/** `[http]` of `mobkit.toml`, camelCase: the Origin and Host allowlists and the console token expiry policy. */
export interface AppHttpSecurity {
  /** Origins besides the server's own that may send state-changing requests. */
  allowedOrigins: string[];
  /** `Host` names (`name` or `name:port`) besides the bound address and the localhost names. */
  allowedHosts: string[];
  /** Console tokens must carry `exp` (default true). */
  requireExp: boolean;
  /** The longest console token lifetime accepted, in seconds (default 86 400). */
  maxTokenLifetimeSeconds: number;
}

/** Replaces `${config_dir}` in a config value. */
function expand(value: string, dir: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder users write in mobkit.toml
  return value.replaceAll('${config_dir}', dir);
}

function unknownModule(id: string, known: ReadonlySet<string>): string {
  return `"${id}" is not a [[modules]] id (known: ${[...known].join(', ') || 'none'})`;
}

/**
 * The checks of a `mobkit.toml` that need nothing but the file: every section against its schema, and
 * `pre_spawn[].module_id` and `discovery.modules[]` naming `[[modules]]` ids. Shared by
 * {@link loadAppConfig} and `mobkit validate`.
 */
export function checkMobkitToml(text: string, file: string): { modules: ModuleConfig[]; sections: MobkitTomlSections } {
  const modules = inFile(file, () => loadTrustedModulesFromToml(text));
  const doc = inFile(file, () => parseTomlText(text, displayPath(file)));
  const sections = inFile(file, () => parseMobkitTomlSections(doc, displayPath(file)));
  const ids = new Set(modules.map((m) => m.id));
  sections.pre_spawn.forEach((p, i) => {
    if (!ids.has(p.module_id)) fail(file, `pre_spawn[${i}].module_id`, unknownModule(p.module_id, ids));
  });
  sections.discovery?.modules.forEach((id, i) => {
    if (!ids.has(id)) fail(file, `discovery.modules[${i}]`, unknownModule(id, ids));
  });
  return { modules, sections };
}

function checkMembers(members: readonly AgentDiscoverySpec[], mob: MobDefinition, file: string): Set<string> {
  const ids = new Set<string>();
  members.forEach((m, i) => {
    if (mob.profiles[m.profile] === undefined) {
      fail(
        file,
        `members[${i}].profile`,
        `"${m.profile}" is not a profile of mob.toml (profiles: ${Object.keys(mob.profiles).join(', ') || 'none'})`,
      );
    }
    if (ids.has(m.meerkatId)) fail(file, `members[${i}].meerkat_id`, `"${m.meerkatId}" is listed twice`);
    ids.add(m.meerkatId);
  });
  return ids;
}

/** `schedules.toml`: the schedules, and every `[runtime_injection]` member must be spawned at start. */
function loadSchedules(file: string, memberIds: ReadonlySet<string>): ScheduleDefinition[] {
  const text = readConfigFile(file, false);
  if (text === undefined) return [];
  const schedules = inFile(file, () => parseSchedulesToml(text));
  const injection = inFile(file, () => parseSchedulingModuleConfig(text, displayPath(file)));
  const rules: Array<[string, string | undefined]> = [
    ['runtime_injection.member_id', injection.defaultInjection?.memberId],
  ];
  for (const [id, rule] of Object.entries(injection.schedules))
    rules.push([`runtime_injection.schedules.${id}.member_id`, rule?.memberId]);
  for (const [field, memberId] of rules) {
    if (memberId !== undefined && !memberIds.has(memberId)) {
      fail(
        file,
        field,
        `"${memberId}" is not a member spawned at start ([[members]] of mobkit.toml: ${[...memberIds].join(', ') || 'none'})`,
      );
    }
  }
  return schedules;
}

/** `routing.toml` and `delivery.toml`, when present, are checked (their modules read them). */
function checkModuleFiles(dir: string): void {
  const routingFile = join(dir, 'routing.toml');
  const routingText = readConfigFile(routingFile, false);
  if (routingText !== undefined) inFile(routingFile, () => parseRoutingConfig(routingText, displayPath(routingFile)));
  const deliveryFile = join(dir, 'delivery.toml');
  const deliveryText = readConfigFile(deliveryFile, false);
  if (deliveryText !== undefined)
    inFile(deliveryFile, () => parseDeliveryConfig(deliveryText, displayPath(deliveryFile), dir));
}

/**
 * Reads an app's config directory (`mob.toml`, `mobkit.toml`, `schedules.toml`, and checks `routing.toml`
 * and `delivery.toml` when present), and chooses the store (`storeOverrides`: `DATABASE_URL` and
 * `--ephemeral`). Every problem is a MobKitError whose message starts with the
 * file and names the key path (`details.file`, `details.field`); nothing is started here.
 */
export function loadAppConfig(configDir: string, storeOverrides: AppStoreOverrides = {}): AppConfig {
  const dir = resolve(configDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MobKitError(
      'InvalidConfig',
      `--config ${displayPath(dir)}: not a directory (expected mob.toml, mobkit.toml and schedules.toml in it)`,
      { details: { file: dir, field: '--config' } },
    );
  }
  const mobFile = join(dir, 'mob.toml');
  const mobText = readConfigFile(mobFile, true) as string;
  const mob = inFile(mobFile, () => MobDefinition.fromToml(mobText, { baseDir: dir }));

  const kitFile = join(dir, 'mobkit.toml');
  const kitText = readConfigFile(kitFile, true) as string;
  const { modules: rawModules, sections } = checkMobkitToml(kitText, kitFile);
  const modules = rawModules.map((m, i) =>
    resolveModuleCommand({ ...m, args: m.args.map((a) => expand(a, dir)) }, kitFile, i),
  );
  const preSpawn: PreSpawnData[] = sections.pre_spawn.map((p) => ({
    moduleId: p.module_id,
    env: Object.entries(p.env).map(([k, v]) => [k, expand(v, dir)] as [string, string]),
  }));
  const members = sections.members;
  const memberIds = checkMembers(members, mob, kitFile);
  const schedules = loadSchedules(join(dir, 'schedules.toml'), memberIds);
  checkModuleFiles(dir);
  const decisionState = inFile(kitFile, () => appDecisionState(sections, kitText, dir, kitFile));
  // DATABASE_URL and --ephemeral come from outside the file; only a [store] problem names mobkit.toml.
  const store =
    storeOverrides.ephemeral || storeOverrides.databaseUrl?.trim()
      ? chooseAppStore(sections.store, dir, storeOverrides)
      : inFile(kitFile, () => chooseAppStore(sections.store, dir, storeOverrides));

  return {
    dir,
    mob,
    modules: {
      modules,
      discovery: {
        namespace: sections.discovery?.namespace ?? 'reference-app',
        modules: sections.discovery?.modules ?? rawModules.map((m) => m.id),
      },
      preSpawn,
    },
    members,
    schedules,
    decisionState,
    http: {
      allowedOrigins: sections.http.allowed_origins,
      allowedHosts: sections.http.allowed_hosts,
      requireExp: sections.http.require_exp,
      maxTokenLifetimeSeconds: sections.http.max_token_lifetime_s,
    },
    startupTimeoutMs: sections.runtime.startup_timeout_ms,
    drainTimeoutMs: sections.runtime.drain_timeout_ms,
    store,
  };
}
