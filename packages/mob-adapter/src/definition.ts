import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type RuntimeMode, isMobKitError, parseTomlText, parseWithSchema } from '@mobkit/core';
import {
  type BudgetFields,
  type MobDefinitionFields,
  MobDefinitionSchema,
  type PROVIDERS,
  type ProfileFields,
} from './definition-schema.js';
import { MobRuntimeError } from './errors.js';
import type { McpServerConfig } from './tools/mcp/config.js';

export type { RuntimeMode };

/** An LLM provider as named in a profile (`provider = "anthropic"`). */
export type ProviderName = (typeof PROVIDERS)[number];

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function profileFrom(name: string, p: ProfileFields): Profile {
  const tools = p.tools ?? {};
  return {
    name,
    model: p.model,
    provider: p.provider,
    skills: p.skills ?? [],
    tools: {
      builtins: tools.builtins ?? false,
      shell: tools.shell ?? false,
      comms: tools.comms ?? false,
      memory: tools.memory ?? false,
      workgraph: tools.workgraph ?? false,
      mob: tools.mob ?? false,
      mobTasks: tools.mob_tasks ?? false,
      schedule: tools.schedule ?? false,
      imageGeneration: tools.image_generation ?? false,
      readOnly: tools.read_only ?? false,
      mcp: tools.mcp ?? [],
      mcpServers: (tools.mcp_servers ?? []).map(mcpServerFrom),
      modules: tools.modules ?? [],
    },
    peerDescription: p.peer_description ?? '',
    externalAddressable: p.external_addressable ?? false,
    runtimeMode: p.runtime_mode ?? 'autonomous_host',
    maxInlinePeerNotifications: p.max_inline_peer_notifications,
    maxTokens: p.max_tokens,
    maxTurns: p.max_turns,
    autoCompactThreshold: p.auto_compact_threshold,
    providerParams: p.provider_params,
    outputSchema: p.output_schema,
    budget: budgetFrom(p.budget),
  };
}

function mcpServerFrom(f: NonNullable<NonNullable<ProfileFields['tools']>['mcp_servers']>[number]): McpServerConfig {
  const out: McpServerConfig = { id: f.id };
  if (f.command !== undefined) out.command = f.command;
  if (f.args !== undefined) out.args = f.args;
  if (f.env !== undefined) out.env = f.env;
  if (f.cwd !== undefined) out.cwd = f.cwd;
  if (f.url !== undefined) out.url = f.url;
  if (f.headers !== undefined) out.headers = f.headers;
  return out;
}

function budgetFrom(b: BudgetFields | undefined): Budget {
  const out: Budget = {};
  if (b?.max_tokens_per_run !== undefined) out.maxTokensPerRun = b.max_tokens_per_run;
  if (b?.max_tokens_per_day !== undefined) out.maxTokensPerDay = b.max_tokens_per_day;
  if (b?.max_tool_calls_per_run !== undefined) out.maxToolCallsPerRun = b.max_tool_calls_per_run;
  return out;
}

interface ParsedDefinition {
  id: string;
  orchestrator: string | undefined;
  profiles: Record<string, Profile>;
  autoWireOrchestrator: boolean;
  roleWiring: Array<{ a: string; b: string }>;
  skills: Record<string, SkillSource>;
  budget: Budget;
  models: Record<string, Table>;
  raw: Table;
}

/** Checks the shape with {@link MobDefinitionSchema}; the first problem is a `DefinitionError` naming its key path. */
function parseDefinition(raw: unknown): ParsedDefinition {
  let fields: MobDefinitionFields;
  try {
    fields = parseWithSchema(MobDefinitionSchema, raw, { what: 'mob definition', code: 'DefinitionError' });
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    throw new MobRuntimeError('DEFINITION_ERROR', error.message, { details: error.details, cause: error });
  }
  const orchestrator = fields.mob.orchestrator;
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries(fields.profiles ?? {})) profiles[name] = profileFrom(name, p);
  const skills: Record<string, SkillSource> = {};
  for (const [name, skill] of Object.entries(fields.skills ?? {}))
    skills[name] =
      skill.source === 'inline' ? { source: 'inline', content: skill.content } : { source: 'path', path: skill.path };
  return {
    id: fields.mob.id,
    orchestrator: typeof orchestrator === 'string' ? orchestrator : orchestrator?.profile,
    profiles,
    autoWireOrchestrator: fields.wiring?.auto_wire_orchestrator ?? false,
    roleWiring: (fields.wiring?.role_wiring ?? []).map((e) => ({ a: e.a, b: e.b })),
    skills,
    budget: budgetFrom(fields.budget),
    models: (fields.models ?? {}) as Record<string, Table>,
    raw: raw as Table,
  };
}

/** The tools a profile enables (every flag defaults to false). */
export interface ToolConfig {
  builtins: boolean;
  shell: boolean;
  /** Peer messaging (`peers`, `send_message`, `reply_to_peer`); mandatory for mob members. */
  comms: boolean;
  memory: boolean;
  workgraph: boolean;
  mob: boolean;
  mobTasks: boolean;
  schedule: boolean;
  imageGeneration: boolean;
  readOnly: boolean;
  /** Ids of servers in the host file (`mcp.toml` beside the definition) the member may use. */
  mcp: string[];
  /** MCP servers declared inline (`mcp_servers`). */
  mcpServers: McpServerConfig[];
  /** Supervised MCP modules whose tools the member may use (`modules`; the runtime provides them). */
  modules: string[];
}

/**
 * Limits a run or a member's day may not pass (`[budget]` for the mob, `[profiles.<name>.budget]`
 * per profile, which wins field by field). A run that would pass one fails with
 * `run_failed{error_class: "budget_exceeded"}` naming the limit.
 */
export interface Budget {
  /** Tokens (input + output) one run may use. */
  maxTokensPerRun?: number;
  /** Tokens one member may use per UTC day. */
  maxTokensPerDay?: number;
  /** Tool calls one run may make. */
  maxToolCallsPerRun?: number;
}

/** One `[profiles.<name>]` entry: the template members are spawned from. */
export interface Profile {
  /** The profile's name (its key under `[profiles]`). */
  name: string;
  model: string;
  provider: ProviderName | undefined;
  /** Skill names; each must exist under `[skills]`. */
  skills: string[];
  tools: ToolConfig;
  /** Shown to peers in the `peers` directory. */
  peerDescription: string;
  /** Whether the host may send work to members of this profile. */
  externalAddressable: boolean;
  runtimeMode: RuntimeMode;
  maxInlinePeerNotifications: number | undefined;
  /** Output token cap per LLM call (embedded mob; default 4096). */
  maxTokens: number | undefined;
  /** Max LLM turns per run (embedded mob; default from the mob options). */
  maxTurns: number | undefined;
  /**
   * `auto_compact_threshold`: estimated tokens of the prompt (system plus history) past which the older
   * turns are summarised by the member's own model before the next LLM call (embedded mob; unset: never).
   */
  autoCompactThreshold: number | undefined;
  providerParams: Record<string, unknown> | undefined;
  /** `output_schema`: the JSON Schema the run's final answer must match. */
  outputSchema: Record<string, unknown> | undefined;
  /** The profile's own `[budget]` (the mob's fills the fields it leaves out: {@link MobDefinition.budgetFor}). */
  budget: Budget;
}

/** A skill: inline text, or a file path (relative to the definition's base directory). */
export type SkillSource = { source: 'inline'; content: string } | { source: 'path'; path: string };

/** One error or warning found while validating a definition (Meerkat's `Diagnostic`). */
export interface DefinitionDiagnostic {
  code: string;
  message: string;
  /** Key path, e.g. `profiles.lead.skills[0]`. */
  location: string;
  severity: 'error' | 'warning';
}

/** Options of {@link MobDefinition.fromToml}. */
export interface MobDefinitionOptions {
  /** Directory that `source = "path"` skills are relative to (default: the current directory when read). */
  baseDir?: string;
}

const PROFILE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * A mob definition: `[mob] id, orchestrator`, `[profiles.*]`, `[wiring]`, `[skills.*]` (Meerkat's
 * `MobDefinition`). Build it with {@link MobDefinition.fromToml} or {@link MobDefinition.fromJson}.
 */
export class MobDefinition {
  /** The mob id. */
  readonly id: string;
  /** The orchestrator profile name, if any (not auto-spawned). */
  readonly orchestrator: string | undefined;
  /** Profiles by name. */
  readonly profiles: Readonly<Record<string, Profile>>;
  /** Wiring applied at spawn time. */
  readonly wiring: {
    readonly autoWireOrchestrator: boolean;
    readonly roleWiring: ReadonlyArray<{ a: string; b: string }>;
  };
  /** Skills by name. */
  readonly skills: Readonly<Record<string, SkillSource>>;
  /** Base directory for path skills (and the `mcp.toml` host file). */
  readonly baseDir: string | undefined;
  /** The mob-wide `[budget]`. */
  readonly budget: Readonly<Budget>;
  /** `[models.<id>]` tables as written (custom models; `vision = true` marks one that takes images). */
  readonly models: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  private readonly raw: Record<string, unknown>;
  private readonly skillText = new Map<string, string>();

  private constructor(parsed: ParsedDefinition, options: MobDefinitionOptions) {
    this.raw = parsed.raw;
    this.id = parsed.id;
    this.orchestrator = parsed.orchestrator;
    this.profiles = Object.freeze(parsed.profiles);
    this.wiring = Object.freeze({ autoWireOrchestrator: parsed.autoWireOrchestrator, roleWiring: parsed.roleWiring });
    this.skills = Object.freeze(parsed.skills);
    this.baseDir = options.baseDir;
    this.budget = Object.freeze(parsed.budget);
    this.models = Object.freeze(parsed.models);
  }

  /** The budget of `profile`'s members: its own fields, then the mob's. */
  budgetFor(profile: Profile): Budget {
    return { ...this.budget, ...profile.budget };
  }

  /**
   * Parses a TOML mob definition. Syntax errors are `InvalidToml` naming line and column; shape and
   * reference errors are `DefinitionError` naming the key path (`profiles.lead.model: required`).
   */
  static fromToml(text: string, options: MobDefinitionOptions = {}): MobDefinition {
    const raw = parseTomlText(text, 'mob definition');
    return MobDefinition.fromParsed(raw, options);
  }

  /**
   * Builds a definition from the JSON form used by `mob/create` (`id` and `orchestrator: {profile}`
   * at the top level) or from the TOML-shaped object (`mob: {id, orchestrator}`).
   */
  static fromJson(value: unknown, options: MobDefinitionOptions = {}): MobDefinition {
    if (isTable(value) && !('mob' in value)) {
      const { id, orchestrator, ...rest } = value;
      const mob: Record<string, unknown> = { id };
      if (orchestrator !== undefined && orchestrator !== null) mob.orchestrator = orchestrator;
      return MobDefinition.fromParsed({ mob, ...rest }, options);
    }
    return MobDefinition.fromParsed(value, options);
  }

  private static fromParsed(raw: unknown, options: MobDefinitionOptions): MobDefinition {
    const parsed = parseDefinition(raw);
    const errors = validate(parsed).filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      throw new MobRuntimeError(
        'DEFINITION_ERROR',
        `definition error: ${errors.map((d) => `${d.code}: ${d.location}: ${d.message}`).join('; ')}`,
        { details: { diagnostics: errors, field: errors[0]?.location } },
      );
    }
    return new MobDefinition(parsed, options);
  }

  /** The profile called `name`, or `ProfileNotFound`. */
  profile(name: string): Profile {
    const p = Object.hasOwn(this.profiles, name) ? this.profiles[name] : undefined;
    if (!p) {
      throw new MobRuntimeError(
        'PROFILE_NOT_FOUND',
        `profile not found: ${name} (defined profiles: ${Object.keys(this.profiles).join(', ') || 'none'})`,
        {
          details: { profile: name },
        },
      );
    }
    return p;
  }

  /** The text of skill `name` (path skills are read once, relative to `baseDir`). */
  skillContent(name: string): string {
    const cached = this.skillText.get(name);
    if (cached !== undefined) return cached;
    const skill = Object.hasOwn(this.skills, name) ? this.skills[name] : undefined;
    if (!skill)
      throw new MobRuntimeError('DEFINITION_ERROR', `definition error: missing_skill_ref: skills.${name}: not defined`);
    let text: string;
    if (skill.source === 'inline') text = skill.content;
    else {
      const file = isAbsolute(skill.path) ? skill.path : resolve(this.baseDir ?? process.cwd(), skill.path);
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new MobRuntimeError(
          'DEFINITION_ERROR',
          `definition error: skills.${name}.path: cannot read ${file} (${(error as Error).message}); fix the path or pass baseDir`,
          {
            cause: error,
            details: { field: `skills.${name}.path`, path: file },
          },
        );
      }
    }
    this.skillText.set(name, text);
    return text;
  }

  /**
   * The JSON form accepted by rkat-rpc `mob/create` (`definition`), snake_case. Keys that Meerkat's
   * strict public schema does not take are left out: the embedded-only `max_turns`/`max_tokens`, the
   * mobkit 0.4 `mob_tasks` flag, `mcp_servers`/`rust_bundles` (Rust only) and the 0.4 `[mcp.*]` table.
   */
  toWire(): Record<string, unknown> {
    const { mob: _mob, mcp: _mcp, budget: _budget, ...rest } = this.raw;
    const out: Record<string, unknown> = { id: this.id };
    if (this.orchestrator !== undefined) out.orchestrator = { profile: this.orchestrator };
    Object.assign(out, JSON.parse(JSON.stringify(rest)) as Record<string, unknown>);
    const profiles = out.profiles as Record<string, Record<string, unknown>> | undefined;
    for (const profile of Object.values(profiles ?? {})) {
      delete profile.max_turns;
      delete profile.max_tokens;
      delete profile.budget;
      const tools = profile.tools as Record<string, unknown> | undefined;
      if (tools) {
        delete tools.mob_tasks;
        delete tools.mcp_servers;
        delete tools.rust_bundles;
        delete tools.modules;
      }
    }
    return out;
  }
}

function validate(def: ParsedDefinition): DefinitionDiagnostic[] {
  const out: DefinitionDiagnostic[] = [];
  const err = (code: string, location: string, message: string) =>
    out.push({ code, location, message, severity: 'error' });
  const servers = new Map<string, { profile: string; config: McpServerConfig }>();
  if (def.orchestrator !== undefined && !Object.hasOwn(def.profiles, def.orchestrator)) {
    err(
      'missing_orchestrator_profile',
      'mob.orchestrator',
      `profile '${def.orchestrator}' is not defined under [profiles]`,
    );
  }
  for (const [name, profile] of Object.entries(def.profiles)) {
    if (!PROFILE_NAME.test(name))
      err('invalid_profile_name', `profiles.${name}`, 'profile names must match ^[A-Za-z_][A-Za-z0-9_-]*$');
    if (name.startsWith('__flow_'))
      err('reserved_system_identifier', `profiles.${name}`, "the prefix '__flow_' is reserved");
    profile.skills.forEach((skill, i) => {
      if (!Object.hasOwn(def.skills, skill))
        err('missing_skill_ref', `profiles.${name}.skills[${i}]`, `skill '${skill}' is not defined under [skills]`);
    });
    const inline = new Set<string>();
    profile.tools.mcpServers.forEach((server, i) => {
      if (inline.has(server.id))
        err(
          'duplicate_mcp_server',
          `profiles.${name}.tools.mcp_servers[${i}].id`,
          `server '${server.id}' is declared twice`,
        );
      inline.add(server.id);
      const first = servers.get(server.id);
      if (first && JSON.stringify(first.config) !== JSON.stringify(server))
        err(
          'mcp_server_conflict',
          `profiles.${name}.tools.mcp_servers[${i}]`,
          `server '${server.id}' is declared differently in profiles.${first.profile}; a mob keeps one session per server id, so give them one definition or different ids`,
        );
      else if (!first) servers.set(server.id, { profile: name, config: server });
    });
    const t = profile.maxInlinePeerNotifications;
    if (t !== undefined && t < -1)
      err(
        'invalid_inline_peer_notification_threshold',
        `profiles.${name}.max_inline_peer_notifications`,
        'must be -1, 0 or positive',
      );
  }
  def.roleWiring.forEach((edge, i) => {
    for (const side of ['a', 'b'] as const) {
      if (!Object.hasOwn(def.profiles, edge[side])) {
        err(
          'invalid_wiring_profile',
          `wiring.role_wiring[${i}].${side}`,
          `profile '${edge[side]}' is not defined under [profiles]`,
        );
      }
    }
  });
  return out;
}
