import { describe, expect, it } from 'vitest';
import { EXPERIENCE_REQUIRED_FIELDS, buildConsoleExperience } from './experience.js';
import type { ReferenceAppRuntimeSurface } from './surface.js';

/** A runtime with modules but no mob (the original's "without mob" branch of §15.1). */
function moduleOnlySurface(loaded: string[]): ReferenceAppRuntimeSurface {
  const fail = () => {
    throw new Error('no mob');
  };
  return {
    mobId: () => undefined,
    mobStatus: fail,
    profiles: fail,
    listMembers: fail,
    getMember: fail,
    sendMessage: fail,
    loadedModules: () => loaded,
    isRunning: () => loaded.length > 0,
    moduleHealthTransitions: () =>
      loaded.flatMap((id) => [
        { moduleId: id, from: null, to: 'Starting' as const, attempt: 1 },
        { moduleId: id, from: 'Starting' as const, to: 'Healthy' as const, attempt: 1 },
      ]),
    events: () => [],
    subscribe: () => () => undefined,
    subscribeAgentEvents: fail,
  };
}

describe('buildConsoleExperience without a mob', () => {
  it('lists the trusted modules as module_agent entries, flips the capabilities off and marks history unavailable', async () => {
    const body = await buildConsoleExperience({
      surface: moduleOnlySurface(['router']),
      trustedModules: ['router', 'delivery'],
      keepAliveMs: 15000,
    });
    for (const field of EXPERIENCE_REQUIRED_FIELDS) expect(body).toHaveProperty(field);
    expect(body.runtime_id).toBeNull();
    expect(body.runtime_capabilities).toEqual({
      can_spawn_members: false,
      can_send_messages: false,
      can_wire_members: false,
      can_retire_members: false,
      available_spawn_modes: ['module'],
      profile_capabilities: {},
    });
    expect(body.agent_sidebar.source_method).toBe('mobkit/status');
    expect(
      body.agent_sidebar.live_snapshot.agents.map((a) => [a.agent_id, a.kind, a.affordances.can_send_message]),
    ).toEqual([
      ['delivery', 'module_agent', false],
      ['router', 'module_agent', false],
    ]);
    expect(body.health_overview.live_snapshot).toEqual({
      running: true,
      loaded_modules: ['delivery', 'router'],
      loaded_module_count: 2,
      modules: [
        { module_id: 'delivery', trusted: true, loaded: false, state: null, attempt: 0 },
        { module_id: 'router', trusted: true, loaded: true, state: 'Healthy', attempt: 1 },
      ],
    });
    expect(body.session_history).toMatchObject({ available: false, reason: expect.any(String) });
    expect(body.chat_inspector.enabled).toBe(false);
  });

  it('running is false when no module is trusted', async () => {
    const body = await buildConsoleExperience({
      surface: moduleOnlySurface([]),
      trustedModules: [],
      keepAliveMs: 1000,
    });
    expect(body.health_overview.live_snapshot.running).toBe(false);
    expect(body.activity_feed.keep_alive.interval_ms).toBe(1000);
  });
});

describe('buildConsoleExperience store', () => {
  it('is null without an event log, with plain mob:/agent ids advertised for resume', async () => {
    const body = await buildConsoleExperience({
      surface: moduleOnlySurface([]),
      trustedModules: [],
      keepAliveMs: 1000,
    });
    expect(body.store).toBeNull();
    expect(body.activity_feed.request_contract.resume.id_formats).toEqual(['mob:<seq>', '<agent_id>:<seq>']);
  });

  it('names the store behind the event log (kind, location, schema version, durable) and advertises <seq> ids', async () => {
    const surfaceWith = (kind: string, location: string): ReferenceAppRuntimeSurface => ({
      ...moduleOnlySurface([]),
      eventLog: () => ({
        store: { kind, location, schemaVersion: kind === 'memory' ? 0 : 3 },
        readAgentEvents: async () => [],
        bounds: async () => ({ firstSeq: 0, lastSeq: 0 }),
      }),
    });
    const sqlite = await buildConsoleExperience({
      surface: surfaceWith('sqlite', '/srv/app/data/mobkit.db'),
      trustedModules: [],
      keepAliveMs: 1000,
    });
    expect(sqlite.store).toEqual({
      kind: 'sqlite',
      location: '/srv/app/data/mobkit.db',
      schema_version: 3,
      durable: true,
    });
    expect(sqlite.activity_feed.request_contract.resume.id_formats).toEqual(['<seq>']);
    const memory = await buildConsoleExperience({
      surface: surfaceWith('memory', 'memory'),
      trustedModules: [],
      keepAliveMs: 1000,
    });
    expect(memory.store).toMatchObject({ kind: 'memory', durable: false });
  });
});
