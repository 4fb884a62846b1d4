import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseTomlText } from '@mobkit/core';
import { MobRuntimeError } from './errors.js';

const PROVIDERS = ['anthropic', 'openai', 'gemini', 'self_hosted', 'other'] as const;
/** An LLM provider as named in a profile (`provider = "anthropic"`). */
export type ProviderName = (typeof PROVIDERS)[number];
import type { RuntimeMode } from '@mobkit/core';

export type { RuntimeMode };

/** Raised for the first shape problem, naming the key path. */
function shapeError(path: string, message: string): MobRuntimeError {
  return new MobRuntimeError('DEFINITION_ERROR', `invalid mob definition: ${path}: ${message}`, {
    details: { field: path },
  });
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function table(value: unknown, path: string, allowed: readonly string[] | null): Table {
  if (!isTable(value)) throw shapeError(path, `expected a table, got ${typeName(value)}`);
  if (allowed) {
    const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
    if (unknown.length > 0)
      throw shapeError(path, `unknown key(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  }
  return value;
}

function optString(t: Table, key: string, path: string, nonEmpty = false): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw shapeError(`${path}.${key}`, `expected string, got ${typeName(v)}`);
  if (nonEmpty && v.trim() === '') throw shapeError(`${path}.${key}`, 'must not be empty');
  return v;
}

function reqString(t: Table, key: string, path: string): string {
  const v = optString(t, key, path, true);
  if (v === undefined) throw shapeError(`${path}.${key}`, 'required');
  return v;
}

function optBool(t: Table, key: string, path: string): boolean | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw shapeError(`${path}.${key}`, `expected boolean, got ${typeName(v)}`);
  return v;
}

function optInt(t: Table, key: string, path: string, min?: number): number | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw shapeError(`${path}.${key}`, `expected integer, got ${typeName(v)}`);
  if (min !== undefined && v < min) throw shapeError(`${path}.${key}`, `must be >= ${min}, got ${v}`);
  return v;
}

function optStringArray(t: Table, key: string, path: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw shapeError(`${path}.${key}`, `expected array of strings, got ${typeName(v)}`);
  v.forEach((item, i) => {
    if (typeof item !== 'string') throw shapeError(`${path}.${key}[${i}]`, `expected string, got ${typeName(item)}`);
  });
  return v as string[];
}

function optEnum<T extends string>(t: Table, key: string, path: string, values: readonly T[]): T | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw shapeError(`${path}.${key}`, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

const TOP_KEYS = [
  'mob',
  'image_generation_provider',
  'profiles',
  'models',
  'wiring',
  'skills',
  'mcp',
  'backend',
  'flows',
  'topology',
  'supervisor',
  'limits',
  'spawn_policy',
  'event_router',
] as const;
const TOOL_BOOLS = [
  'builtins',
  'shell',
  'comms',
  'memory',
  'workgraph',
  'mob',
  'mob_tasks',
  'schedule',
  'image_generation',
  'read_only',
] as const;
const TOOL_KEYS = [...TOOL_BOOLS, 'mcp', 'mcp_servers', 'rust_bundles'] as const;
const PROFILE_KEYS = [
  'model',
  'provider',
  'self_hosted_server_id',
  'image_generation_provider',
  'auto_compact_threshold',
  'resume_overrides',
  'skills',
  'tools',
  'peer_description',
  'external_addressable',
  'backend',
  'runtime_mode',
  'max_inline_peer_notifications',
  'output_schema',
  'provider_params',
  'max_turns',
  'max_tokens',
] as const;

function parseProfile(name: string, value: unknown): Profile {
  const path = `profiles.${name}`;
  const t = table(value, path, PROFILE_KEYS);
  const toolsRaw = t.tools === undefined ? {} : table(t.tools, `${path}.tools`, TOOL_KEYS);
  const tp = `${path}.tools`;
  const bool = (k: string) => optBool(toolsRaw, k, tp) ?? false;
  optEnum(t, 'image_generation_provider', path, PROVIDERS);
  optInt(t, 'auto_compact_threshold', path, 1);
  optEnum(t, 'backend', path, ['session', 'external'] as const);
  optString(t, 'self_hosted_server_id', path);
  const resume = optStringArray(t, 'resume_overrides', path) ?? [];
  resume.forEach((r, i) => {
    if (!['model', 'provider', 'provider_params'].includes(r))
      throw shapeError(
        `${path}.resume_overrides[${i}]`,
        `expected one of model, provider, provider_params, got ${JSON.stringify(r)}`,
      );
  });
  if (toolsRaw.mcp_servers !== undefined && !Array.isArray(toolsRaw.mcp_servers))
    throw shapeError(`${tp}.mcp_servers`, 'expected array');
  optStringArray(toolsRaw, 'rust_bundles', tp);
  const providerParams =
    t.provider_params === undefined ? undefined : table(t.provider_params, `${path}.provider_params`, null);
  const outputSchema =
    t.output_schema === undefined ? undefined : table(t.output_schema, `${path}.output_schema`, null);
  return {
    name,
    model: reqString(t, 'model', path),
    provider: optEnum(t, 'provider', path, PROVIDERS),
    skills: optStringArray(t, 'skills', path) ?? [],
    tools: {
      builtins: bool('builtins'),
      shell: bool('shell'),
      comms: bool('comms'),
      memory: bool('memory'),
      workgraph: bool('workgraph'),
      mob: bool('mob'),
      mobTasks: bool('mob_tasks'),
      schedule: bool('schedule'),
      imageGeneration: bool('image_generation'),
      readOnly: bool('read_only'),
      mcp: optStringArray(toolsRaw, 'mcp', tp) ?? [],
    },
    peerDescription: optString(t, 'peer_description', path) ?? '',
    externalAddressable: optBool(t, 'external_addressable', path) ?? false,
    runtimeMode: optEnum(t, 'runtime_mode', path, ['autonomous_host', 'turn_driven'] as const) ?? 'autonomous_host',
    maxInlinePeerNotifications: optInt(t, 'max_inline_peer_notifications', path),
    maxTokens: optInt(t, 'max_tokens', path, 1),
    maxTurns: optInt(t, 'max_turns', path, 1),
    providerParams,
    outputSchema,
  };
}

function parseSkill(name: string, value: unknown): SkillSource {
  const path = `skills.${name}`;
  const t = table(value, path, null);
  const source = optEnum(t, 'source', path, ['inline', 'path'] as const);
  if (source === undefined) throw shapeError(`${path}.source`, 'required (inline or path)');
  if (source === 'inline') {
    table(value, path, ['source', 'content']);
    const content = optString(t, 'content', path);
    if (content === undefined) throw shapeError(`${path}.content`, 'required');
    return { source, content };
  }
  table(value, path, ['source', 'path']);
  return { source, path: reqString(t, 'path', path) };
}

interface ParsedDefinition {
  id: string;
  orchestrator: string | undefined;
  profiles: Record<string, Profile>;
  autoWireOrchestrator: boolean;
  roleWiring: Array<{ a: string; b: string }>;
  skills: Record<string, SkillSource>;
  raw: Table;
}

function parseDefinition(raw: unknown): ParsedDefinition {
  const root = table(raw, '<root>', TOP_KEYS);
  if (root.mob === undefined) throw shapeError('mob', 'required ([mob] with id)');
  const mob = table(root.mob, 'mob', ['id', 'orchestrator']);
  const id = reqString(mob, 'id', 'mob');
  let orchestrator: string | undefined;
  if (typeof mob.orchestrator === 'string') orchestrator = mob.orchestrator;
  else if (mob.orchestrator !== undefined)
    orchestrator = reqString(table(mob.orchestrator, 'mob.orchestrator', ['profile']), 'profile', 'mob.orchestrator');
  optEnum(root, 'image_generation_provider', '<root>', PROVIDERS);
  const profiles: Record<string, Profile> = {};
  if (root.profiles !== undefined) {
    for (const [name, value] of Object.entries(table(root.profiles, 'profiles', null)))
      profiles[name] = parseProfile(name, value);
  }
  const skills: Record<string, SkillSource> = {};
  if (root.skills !== undefined) {
    for (const [name, value] of Object.entries(table(root.skills, 'skills', null)))
      skills[name] = parseSkill(name, value);
  }
  const wiring =
    root.wiring === undefined ? {} : table(root.wiring, 'wiring', ['auto_wire_orchestrator', 'role_wiring']);
  const roleWiring: Array<{ a: string; b: string }> = [];
  if (wiring.role_wiring !== undefined) {
    if (!Array.isArray(wiring.role_wiring))
      throw shapeError('wiring.role_wiring', `expected array of {a, b}, got ${typeName(wiring.role_wiring)}`);
    wiring.role_wiring.forEach((edge: unknown, i: number) => {
      const p = `wiring.role_wiring[${i}]`;
      const e = table(edge, p, ['a', 'b']);
      roleWiring.push({ a: reqString(e, 'a', p), b: reqString(e, 'b', p) });
    });
  }
  if (root.models !== undefined) {
    for (const [name, value] of Object.entries(table(root.models, 'models', null))) {
      const m = table(value, `models.${name}`, null);
      if (optEnum(m, 'provider', `models.${name}`, PROVIDERS) === undefined)
        throw shapeError(`models.${name}.provider`, 'required');
    }
  }
  return {
    id,
    orchestrator,
    profiles,
    autoWireOrchestrator: optBool(wiring, 'auto_wire_orchestrator', 'wiring') ?? false,
    roleWiring,
    skills,
    raw: root,
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
  /** Host MCP source ids the member may use. */
  mcp: string[];
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
  providerParams: Record<string, unknown> | undefined;
  outputSchema: Record<string, unknown> | undefined;
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
  /** Base directory for path skills. */
  readonly baseDir: string | undefined;
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
    const { mob: _mob, mcp: _mcp, ...rest } = this.raw;
    const out: Record<string, unknown> = { id: this.id };
    if (this.orchestrator !== undefined) out.orchestrator = { profile: this.orchestrator };
    Object.assign(out, JSON.parse(JSON.stringify(rest)) as Record<string, unknown>);
    const profiles = out.profiles as Record<string, Record<string, unknown>> | undefined;
    for (const profile of Object.values(profiles ?? {})) {
      delete profile.max_turns;
      delete profile.max_tokens;
      const tools = profile.tools as Record<string, unknown> | undefined;
      if (tools) {
        delete tools.mob_tasks;
        delete tools.mcp_servers;
        delete tools.rust_bundles;
      }
    }
    return out;
  }
}

function validate(def: ParsedDefinition): DefinitionDiagnostic[] {
  const out: DefinitionDiagnostic[] = [];
  const err = (code: string, location: string, message: string) =>
    out.push({ code, location, message, severity: 'error' });
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
