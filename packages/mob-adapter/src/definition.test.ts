import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { MobDefinition } from './definition.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/mob');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const PROFILE_KEYS =
  'model, provider, self_hosted_server_id, image_generation_provider, auto_compact_threshold, resume_overrides, skills, tools, peer_description, external_addressable, backend, runtime_mode, max_inline_peer_notifications, output_schema, provider_params, max_turns, max_tokens, budget';

function failure(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> | undefined } {
  try {
    fn();
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a MobKitError');
}

describe('MobDefinition.fromToml', () => {
  it('reads [mob], profiles, tools, wiring and skills', () => {
    const def = MobDefinition.fromToml(read('team.toml'), { baseDir: fixtures });
    expect(def.id).toBe('team');
    expect(def.orchestrator).toBe('lead');
    expect(Object.keys(def.profiles)).toEqual(['lead', 'worker', 'critic', 'silent']);
    const lead = def.profile('lead');
    expect(lead).toMatchObject({
      model: 'claude-sonnet-4-6',
      skills: ['lead-role'],
      externalAddressable: true,
      runtimeMode: 'autonomous_host',
      peerDescription: 'Coordinates the work and writes the answer',
    });
    expect(lead.tools).toMatchObject({ comms: true, builtins: true, shell: false, mcp: [] });
    expect(def.profile('critic').externalAddressable).toBe(false);
    expect(def.profile('silent').tools.comms).toBe(false);
    expect(def.wiring).toEqual({ autoWireOrchestrator: true, roleWiring: [] });
    expect(def.skillContent('lead-role')).toContain('You lead the team');
    expect(def.skillContent('worker-role')).toContain('You are a worker');
  });

  it('accepts the seed definition and the minimal [mob] id', () => {
    const seed = MobDefinition.fromToml(read('phase5.toml'));
    expect(seed.id).toBe('phase5-lifecycle-mob');
    expect(seed.profile('worker').tools.comms).toBe(true);
    const minimal = MobDefinition.fromToml('[mob]\nid = "x"\n');
    expect(minimal.profiles).toEqual({});
    expect(minimal.orchestrator).toBeUndefined();
  });

  it('reads orchestrator tables, role_wiring and runtime_mode', () => {
    const def = MobDefinition.fromToml(read('roles.toml'));
    expect(def.orchestrator).toBe('lead');
    expect(def.wiring.roleWiring).toEqual([{ a: 'reviewer', b: 'tester' }]);
    expect(def.profile('reviewer').runtimeMode).toBe('turn_driven');
  });

  it('names the line and column of a TOML syntax error', () => {
    const f = failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = = "gpt"\n'));
    expect(f.code).toBe('InvalidToml');
    expect(f.message).toMatch(/line 4, column \d+/);
    expect(f.details).toMatchObject({ line: 4 });
  });

  it('names the key path of a missing required key', () => {
    const f = failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nskills = []\n'));
    expect(f.code).toBe('DefinitionError');
    expect(f.message).toContain('profiles.lead.model: required');
    expect(f.details).toMatchObject({ field: 'profiles.lead.model', mobCode: 'DEFINITION_ERROR' });
  });

  it('names unknown keys, wrong types and bad enum values with their path', () => {
    expect(
      failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = "m"\nmodle = "m"\n')).message,
    ).toContain('profiles.lead.modle: unknown key; allowed: model, provider');
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = "m"\n[profiles.lead.tools]\ncomms = "yes"\n'),
      ).message,
    ).toContain('profiles.lead.tools.comms: expected boolean, got string');
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = "m"\nruntime_mode = "sometimes"\n'),
      ).message,
    ).toContain('profiles.lead.runtime_mode: expected one of autonomous_host, turn_driven, got "sometimes"');
    expect(failure(() => MobDefinition.fromToml('[mob]\norchestrator = "a"\n')).message).toContain('mob.id: required');
    expect(failure(() => MobDefinition.fromToml('# empty\n')).message).toContain('mob: required');
    expect(failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[skills.s]\nsource = "url"\n')).message).toContain(
      'skills.s.source: expected one of inline, path',
    );
  });

  it('reports an unknown key in the same pass as a missing required one (a typo of it)', () => {
    const f = failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.worker]\nmodle = "gpt-5.2"\n'));
    expect(f.code).toBe('DefinitionError');
    expect(f.message).toBe(
      `invalid mob definition: profiles.worker.model: required (expected string); profiles.worker.modle: unknown key; allowed: ${PROFILE_KEYS}`,
    );
    expect(f.details?.issues).toEqual([
      { field: 'profiles.worker.model', message: 'profiles.worker.model: required (expected string)' },
      { field: 'profiles.worker.modle', message: `profiles.worker.modle: unknown key; allowed: ${PROFILE_KEYS}` },
    ]);
  });

  it('refuses each unknown key at its own path, at every depth, in one pass', () => {
    const f = failure(() =>
      MobDefinition.fromToml(
        'teams = 1\n[mob]\nid = "x"\nname = "y"\n[profiles.a]\nmodel = "m"\nmodle = "m"\n[profiles.a.tools]\nteleport = true\n',
      ),
    );
    expect(f.details?.issues).toEqual([
      { field: 'mob.name', message: 'mob.name: unknown key; allowed: id, orchestrator' },
      {
        field: 'profiles.a.tools.teleport',
        message:
          'profiles.a.tools.teleport: unknown key; allowed: builtins, shell, comms, memory, workgraph, mob, mob_tasks, schedule, image_generation, read_only, mcp, mcp_servers, modules, rust_bundles',
      },
      { field: 'profiles.a.modle', message: `profiles.a.modle: unknown key; allowed: ${PROFILE_KEYS}` },
      {
        field: 'teams',
        message:
          'teams: unknown key; allowed: mob, image_generation_provider, budget, profiles, models, wiring, skills, mcp, backend, flows, topology, supervisor, limits, spawn_policy, event_router',
      },
    ]);
  });

  it('names the allowed keys where Meerkat refuses unknown ones, and checks value constraints', () => {
    const unknownKey = failure(() =>
      MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = "m"\nmodle = "m"\n'),
    );
    expect(unknownKey).toMatchObject({ code: 'DefinitionError', details: { field: 'profiles.lead.modle' } });
    expect(unknownKey.message).toBe(
      `invalid mob definition: profiles.lead.modle: unknown key; allowed: ${PROFILE_KEYS}`,
    );
    expect(failure(() => MobDefinition.fromToml('[mob]\nid = "x"\nname = "y"\n'))).toMatchObject({
      message: 'invalid mob definition: mob.name: unknown key; allowed: id, orchestrator',
      details: { field: 'mob.name' },
    });
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nprovider_params = { temprature = 1 }\n'),
      ),
    ).toMatchObject({
      message:
        'invalid mob definition: profiles.a.provider_params.temprature: unknown key; allowed: temperature, top_p, max_output_tokens, reasoning, thinking_budget_tokens, provider_tag',
      details: { field: 'profiles.a.provider_params.temprature' },
    });
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\n[profiles.a.tools]\nteleport = true\n'),
      ),
    ).toMatchObject({
      message:
        'invalid mob definition: profiles.a.tools.teleport: unknown key; allowed: builtins, shell, comms, memory, workgraph, mob, mob_tasks, schedule, image_generation, read_only, mcp, mcp_servers, modules, rust_bundles',
      details: { field: 'profiles.a.tools.teleport' },
    });
    expect(failure(() => MobDefinition.fromToml('teams = 1\n[mob]\nid = "x"\n'))).toMatchObject({
      message:
        'invalid mob definition: teams: unknown key; allowed: mob, image_generation_provider, budget, profiles, models, wiring, skills, mcp, backend, flows, topology, supervisor, limits, spawn_policy, event_router',
      details: { field: 'teams' },
    });
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[skills.s]\nsource = "inline"\ncontent = "c"\nurl = "u"\n'),
      ),
    ).toMatchObject({
      message: 'invalid mob definition: skills.s.url: unknown key; allowed: source, content',
      details: { field: 'skills.s.url' },
    });
    expect(failure(() => MobDefinition.fromToml('[mob]\nid = " "\n')).message).toContain('mob.id: must not be empty');
    expect(
      failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nmax_turns = 0\n')).message,
    ).toContain('profiles.a.max_turns: must be >= 1');
    expect(failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[skills.s]\ncontent = "c"\n')).message).toContain(
      'skills.s.source: required (inline or path)',
    );
    expect(
      failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[models.big]\ncontext_window = 1\n')).message,
    ).toContain('models.big.provider: required');
    // Meerkat's other sections and the [models.*] details are left for mob/create to check
    const open = MobDefinition.fromToml(
      '[mob]\nid = "x"\n[models.big]\nprovider = "openai"\ncontext_window = 1\n[limits]\nmax_step_retries = 1\n',
    );
    expect(open.toWire()).toMatchObject({ limits: { max_step_retries: 1 }, models: { big: { context_window: 1 } } });
  });

  it('reports reference errors with Meerkat diagnostic codes and locations', () => {
    const skill = failure(() =>
      MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.lead]\nmodel = "m"\nskills = ["nope"]\n'),
    );
    expect(skill.code).toBe('DefinitionError');
    expect(skill.message).toContain(
      "missing_skill_ref: profiles.lead.skills[0]: skill 'nope' is not defined under [skills]",
    );
    const orch = failure(() => MobDefinition.fromToml('[mob]\nid = "x"\norchestrator = "boss"\n'));
    expect(orch.message).toContain('missing_orchestrator_profile: mob.orchestrator');
    const wiring = failure(() =>
      MobDefinition.fromToml(
        '[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\n[wiring]\nrole_wiring = [{ a = "a", b = "ghost" }]\n',
      ),
    );
    expect(wiring.message).toContain('invalid_wiring_profile: wiring.role_wiring[0].b');
    const name = failure(() => MobDefinition.fromToml('[mob]\nid = "x"\n[profiles."9bad"]\nmodel = "m"\n'));
    expect(name.message).toContain('invalid_profile_name: profiles.9bad');
  });

  it('reports an unreadable path skill naming its key', () => {
    const def = MobDefinition.fromToml('[mob]\nid = "x"\n[skills.s]\nsource = "path"\npath = "missing.md"\n', {
      baseDir: fixtures,
    });
    const f = failure(() => def.skillContent('s'));
    expect(f.code).toBe('DefinitionError');
    expect(f.message).toContain('skills.s.path: cannot read');
  });

  it('rejects an unknown profile with ProfileNotFound', () => {
    const def = MobDefinition.fromToml(read('phase5.toml'));
    const f = failure(() => def.profile('ghost'));
    expect(f.code).toBe('ProfileNotFound');
    expect(f.message).toContain('profile not found: ghost');
  });

  it('round-trips through the mob/create JSON form', () => {
    const def = MobDefinition.fromToml(read('team.toml'));
    const wire = def.toWire();
    expect(wire.id).toBe('team');
    expect(wire.orchestrator).toEqual({ profile: 'lead' });
    expect((wire.profiles as Record<string, { tools: { comms: boolean } }>).lead?.tools.comms).toBe(true);
    const again = MobDefinition.fromJson(wire);
    expect(again.profile('worker').skills).toEqual(['worker-role']);
    expect(again.orchestrator).toBe('lead');
  });

  it('parses the reference examples (flows, topology, models, provider_params, mcp) and keeps unported sections for mob/create', () => {
    const a = MobDefinition.fromToml(read('meerkat-example-a.toml'));
    expect(a.profile('reviewer')).toMatchObject({
      runtimeMode: 'turn_driven',
      tools: { comms: true, readOnly: true, builtins: true },
    });
    expect(a.toWire().flows).toBeDefined();
    const b = MobDefinition.fromToml(read('meerkat-example-b.toml'));
    expect(b.orchestrator).toBe('director');
    expect(b.wiring.roleWiring).toEqual([{ a: 'researcher', b: 'critic' }]);
    expect(b.profile('researcher').tools.mcp).toEqual(['web-fetch']);
    expect(b.profile('director').providerParams).toEqual({ reasoning: 'silent', max_output_tokens: 16000 });
    expect(b.toWire()).toMatchObject({ image_generation_provider: 'gemini', topology: { mode: 'strict' } });
    const mk = MobDefinition.fromToml(read('mobkit-example.toml'));
    expect(mk.profile('lead').tools).toMatchObject({ mobTasks: true, shell: true, mcp: ['code-server'] });
    expect(mk.wiring.roleWiring).toEqual([{ a: 'reviewer', b: 'reviewer' }]);
  });

  it('leaves embedded-only and Rust-only keys out of the mob/create JSON', () => {
    const def = MobDefinition.fromToml(
      '[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nmax_turns = 4\nmax_tokens = 100\ntools = { comms = true, mob_tasks = true, rust_bundles = ["b"] }\n[mcp.s]\ncommand = ["x"]\n',
    );
    expect(def.profile('a').maxTurns).toBe(4);
    expect(def.toWire()).toEqual({ id: 'x', profiles: { a: { model: 'm', tools: { comms: true } } } });
  });

  it('surfaces auto_compact_threshold, keeps it in the mob/create JSON and refuses a non-positive one', () => {
    const def = MobDefinition.fromToml(
      '[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nauto_compact_threshold = 8000\n[profiles.b]\nmodel = "m"\n',
    );
    expect(def.profile('a').autoCompactThreshold).toBe(8000);
    expect(def.profile('b').autoCompactThreshold).toBeUndefined();
    expect(def.toWire()).toMatchObject({ profiles: { a: { auto_compact_threshold: 8000 } } });
    expect(MobDefinition.fromJson(def.toWire()).profile('a').autoCompactThreshold).toBe(8000);
    const zero = failure(() =>
      MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nauto_compact_threshold = 0\n'),
    );
    expect(zero.code).toBe('DefinitionError');
    expect(zero.message).toContain('profiles.a.auto_compact_threshold: must be >= 1');
    expect(zero.details).toMatchObject({ field: 'profiles.a.auto_compact_threshold' });
    expect(
      failure(() =>
        MobDefinition.fromToml('[mob]\nid = "x"\n[profiles.a]\nmodel = "m"\nauto_compact_threshold = 1.5\n'),
      ).details,
    ).toMatchObject({ field: 'profiles.a.auto_compact_threshold' });
  });
});
