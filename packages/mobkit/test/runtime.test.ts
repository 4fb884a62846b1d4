// UnifiedRuntime behaviour beyond the seed: builder errors, rollback, hooks, discovery, roster
// routes, mob_member delivery into a member, and shutdown. Real child processes (sh, the MCP fixture).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MobKitConfig, isMobKitError } from '@mobkit/core';
import {
  MobDefinition,
  type MobEvent,
  SpawnMemberSpec,
  TestClient,
  createEmbeddedMob,
  createRkatRpcMob,
} from '@mobkit/mob-adapter';
import { FAKE_RKAT_RPC } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverySpecToSpawnSpec } from '../src/mob.js';
import type { RuntimeErrorEvent } from '../src/runtime/settings.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'mcp-fixture.mjs');
const MOB_TOML = `
[mob]
id = "runtime-test"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;
const NO_MODULES: MobKitConfig = { modules: [], discovery: { namespace: 't', modules: [] }, preSpawn: [] };
const spec = () =>
  MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() });
const ROUTER_AND_DELIVERY: MobKitConfig = {
  modules: ['router', 'delivery'].map((id) => ({
    id,
    command: process.execPath,
    args: [FIXTURE, '--module', id],
    restartPolicy: 'never' as const,
  })),
  discovery: { namespace: 't', modules: ['router', 'delivery'] },
  preSpawn: ['router', 'delivery'].map((moduleId) => ({
    moduleId,
    env: [['MOBKIT_MODULE_BOUNDARY', 'mcp']] as Array<[string, string]>,
  })),
};

let runtimes: UnifiedRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown()));
  runtimes = [];
});
const keep = (r: UnifiedRuntime) => {
  runtimes.push(r);
  return r;
};

/** Whether `pid` is a live process (a zombie counts as dead). */
function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z';
  } catch {
    return false;
  }
}

const fakeRkatMob = () =>
  createRkatRpcMob(MobDefinition.fromToml(MOB_TOML), { command: process.execPath, args: [FAKE_RKAT_RPC] });

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('UnifiedRuntime builder', () => {
  it('names the missing required field, in the order mob spec, module config, timeout', async () => {
    const a = await rejection(UnifiedRuntime.builder().moduleConfig(NO_MODULES).timeout(1000).build());
    expect(a).toMatchObject({ code: 'MissingRequiredField' });
    expect(a.message).toContain('mobSpec is required');
    const b = await rejection(UnifiedRuntime.builder().mobSpec(spec()).timeout(1000).build());
    expect(b.message).toContain('moduleConfig is required');
    const c = await rejection(UnifiedRuntime.builder().mobSpec(spec()).moduleConfig(NO_MODULES).build());
    expect(c.message).toContain('timeout is required');
    const d = await rejection(UnifiedRuntime.builder().mobSpec(spec()).moduleConfig(NO_MODULES).timeout(0).build());
    expect(d).toMatchObject({ code: 'InvalidInput' });
  });

  it('stops the mob again when the modules fail to start, and returns the start-up error', async () => {
    const mob = await createEmbeddedMob(MobDefinition.fromToml(MOB_TOML), { llm: new TestClient() });
    expect(await mob.status()).toBe('Running');
    const error = await rejection(
      UnifiedRuntime.builder()
        .mobSpec(MobBootstrapSpec.fromMob(mob))
        .moduleConfig({ modules: [], discovery: { namespace: 't', modules: ['ghost'] }, preSpawn: [] })
        .timeout(1000)
        .build(),
    );
    expect(isMobKitError(error)).toBe(true);
    expect(error.code).toBe('ModuleNotConfigured');
    expect(await mob.status()).toBe('Stopped');
  });

  it('closes a handed-over rkat-rpc mob when the modules fail to start: its child process ends', async () => {
    const mob = await fakeRkatMob();
    expect(isAlive(mob.pid)).toBe(true);
    const error = await rejection(
      UnifiedRuntime.builder()
        .mobSpec(MobBootstrapSpec.fromMob(mob))
        .moduleConfig({ modules: [], discovery: { namespace: 't', modules: ['ghost'] }, preSpawn: [] })
        .timeout(1000)
        .build(),
    );
    expect(error.code).toBe('ModuleNotConfigured');
    expect(isAlive(mob.pid)).toBe(false);
  });

  it('maps a discovered member onto a spawn spec with every field it carries (empty optionals left out)', () => {
    expect(
      discoverySpecToSpawnSpec({
        profile: 'worker',
        meerkatId: 'w-1',
        labels: {},
        context: { ticket: 7 },
        additionalInstructions: ['Answer in one line.'],
        resumeSessionId: 'sess-1',
      }),
    ).toEqual({
      profile: 'worker',
      meerkatId: 'w-1',
      context: { ticket: 7 },
      additionalInstructions: ['Answer in one line.'],
      resumeSessionId: 'sess-1',
    });
    expect(discoverySpecToSpawnSpec({ profile: 'worker', meerkatId: 'w-2', additionalInstructions: [] })).toEqual({
      profile: 'worker',
      meerkatId: 'w-2',
    });
  });

  it('refuses a discovered member with a blank id (InvalidInput naming it) and leaves nothing running', async () => {
    const mob = await createEmbeddedMob(MobDefinition.fromToml(MOB_TOML), { llm: new TestClient() });
    const error = await rejection(
      UnifiedRuntime.builder()
        .mobSpec(MobBootstrapSpec.fromMob(mob))
        .moduleConfig(NO_MODULES)
        .timeout(1000)
        .discovery({
          discover: () => [
            { profile: 'worker', meerkatId: 'w-1' },
            { profile: 'worker', meerkatId: '  ' },
          ],
        })
        .build(),
    );
    expect(error.code).toBe('InvalidInput');
    expect(error.message).toContain('discovered[1].meerkatId: must not be empty');
    expect(await mob.listMembers()).toEqual([]);
    expect(await mob.status()).toBe('Stopped');
  });

  it('runs the pre-spawn hook, feeds discovery with its context and spawns what it found; post-spawn hook sees the ids', async () => {
    const seen: unknown[] = [];
    const spawned: string[][] = [];
    const runtime = keep(
      await UnifiedRuntime.builder()
        .mobSpec(spec())
        .moduleConfig(NO_MODULES)
        .timeout(1000)
        .preSpawnHook(() => ({ resume: { 'w-2': 'sess-2' } }))
        .discovery({
          discover: (context) => {
            seen.push(context);
            return [
              { profile: 'worker', meerkatId: 'w-1', labels: { team: 'a' } },
              { profile: 'worker', meerkatId: 'w-2' },
            ];
          },
        })
        .postSpawnHook((ids) => {
          spawned.push(ids);
        })
        .build(),
    );
    expect(seen).toEqual([{ resume: { 'w-2': 'sess-2' } }]);
    expect((await runtime.listMembers()).map((m) => m.meerkatId)).toEqual(['w-1', 'w-2']);
    expect((await runtime.findMembers('team', 'a')).map((m) => m.meerkatId)).toEqual(['w-1']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(spawned).toEqual([['w-1', 'w-2']]);
  });

  it('a failing pre-spawn hook fails the build with PreSpawnHookFailed and leaves nothing running', async () => {
    const error = await rejection(
      UnifiedRuntime.builder()
        .mobSpec(spec())
        .moduleConfig(NO_MODULES)
        .timeout(1000)
        .preSpawnHook(() => {
          throw new Error('sessions table unreachable');
        })
        .build(),
    );
    expect(error.code).toBe('PreSpawnHookFailed');
    expect(error.message).toContain('sessions table unreachable');
  });
});

describe('UnifiedRuntime at work', () => {
  it('hooks that throw never break the runtime; spawn failures reach onError', async () => {
    const errors: RuntimeErrorEvent[] = [];
    const runtime = keep(
      await UnifiedRuntime.builder()
        .mobSpec(spec())
        .moduleConfig(NO_MODULES)
        .timeout(1000)
        .postSpawnHook(() => {
          throw new Error('hook bug');
        })
        .postReconcileHook(async () => {
          throw new Error('async hook bug');
        })
        .onError((event) => {
          errors.push(event);
          throw new Error('error hook bug');
        })
        .build(),
    );
    await runtime.spawn(SpawnMemberSpec.fromWire('worker', 'w-1'));
    await runtime.reconcile([SpawnMemberSpec.fromWire('worker', 'w-1')]);
    await expect(runtime.spawn(SpawnMemberSpec.fromWire('nope', 'w-9'))).rejects.toMatchObject({
      code: 'ProfileNotFound',
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual([expect.objectContaining({ category: 'spawn_failure', member_id: 'w-9', profile: 'nope' })]);
    expect((await runtime.listMembers()).map((m) => m.meerkatId)).toEqual(['w-1']);
  });

  it('keeps one managed route per active member while the router is loaded, and delivers mob_member sends to the member', async () => {
    const mob = await createEmbeddedMob(MobDefinition.fromToml(MOB_TOML), { llm: new TestClient() });
    const runtime = keep(await UnifiedRuntime.bootstrap(MobBootstrapSpec.fromMob(mob), ROUTER_AND_DELIVERY, 10_000));
    expect(runtime.mobHandle()).toBe(mob);
    const first = await runtime.reconcile([
      SpawnMemberSpec.fromWire('worker', 'w-1'),
      SpawnMemberSpec.fromWire('worker', 'w-2'),
    ]);
    expect(first.routing).toEqual({
      routerModuleLoaded: true,
      activeMembers: ['w-1', 'w-2'],
      addedRouteKeys: ['mob.member.w-1', 'mob.member.w-2'],
      removedRouteKeys: [],
    });
    expect(runtime.listRuntimeRoutes().find((r) => r.routeKey === 'mob.member.w-1')).toMatchObject({
      recipient: 'w-1',
      channel: 'notification',
      sink: 'mob_member',
      targetModule: 'delivery',
    });
    const second = await runtime.reconcile([SpawnMemberSpec.fromWire('worker', 'w-2')]);
    expect(second.mob.retired).toEqual(['w-1']);
    expect(second.routing).toMatchObject({
      activeMembers: ['w-2'],
      addedRouteKeys: [],
      removedRouteKeys: ['mob.member.w-1'],
    });

    const runs: string[] = [];
    runtime.subscribe((event) => {
      if (event.event.kind === 'agent' && event.event.eventType === 'run_completed') runs.push(event.event.agentId);
    });
    const resolution = await runtime.resolveRouting({ recipient: 'w-2' });
    expect(resolution).toMatchObject({ sink: 'mob_member', targetModule: 'delivery', channel: 'notification' });
    const record = await runtime.sendDelivery({
      resolution,
      payload: { message: 'please summarise the day' },
      idempotencyKey: 'daily-1',
    });
    expect(record).toMatchObject({ status: 'sent', sinkAdapter: 'mob_member', recipient: 'w-2' });
    await runtime.mobHandle().waitForIdle(5_000);
    expect(runs).toContain('w-2');
    const history = mob.history('w-2');
    expect(JSON.stringify(history)).toContain('please summarise the day');
    expect(
      runtime
        .moduleEvents()
        .some((e) => e.event.kind === 'module' && e.event.module === 'delivery' && e.event.eventType === 'send'),
    ).toBe(true);
    expect(
      runtime
        .moduleEvents()
        .some((e) => e.event.kind === 'module' && e.event.module === 'router' && e.event.eventType === 'resolved'),
    ).toBe(true);
  });

  it('without a router module, reconcile manages no routes and routing says which module is missing', async () => {
    const runtime = keep(await UnifiedRuntime.bootstrap(spec(), NO_MODULES, 1000));
    const report = await runtime.reconcile([SpawnMemberSpec.fromWire('worker', 'w-1')]);
    expect(report.routing).toEqual({
      routerModuleLoaded: false,
      activeMembers: ['w-1'],
      addedRouteKeys: [],
      removedRouteKeys: [],
    });
    await expect(runtime.resolveRouting({ recipient: 'a@b.c' })).rejects.toMatchObject({
      code: 'RouterModuleNotLoaded',
    });
  });

  it('merges agent and module events into one ordered stream', async () => {
    const runtime = keep(await UnifiedRuntime.bootstrap(spec(), ROUTER_AND_DELIVERY, 10_000));
    const live: string[] = [];
    runtime.subscribe((e) => live.push(e.event.kind));
    await runtime.spawn(SpawnMemberSpec.fromWire('worker', 'w-1'));
    await runtime.sendMessage('w-1', 'hello');
    await runtime.mobHandle().waitForIdle(5_000);
    const events = runtime.moduleEvents();
    expect(events.filter((e) => e.event.kind === 'module' && e.event.eventType === 'mcp.ready')).toHaveLength(2);
    expect(
      events.some(
        (e) => e.event.kind === 'agent' && e.event.agentId === 'w-1' && e.event.eventType === 'run_completed',
      ),
    ).toBe(true);
    for (let i = 1; i < events.length; i += 1) {
      const [a, b] = [events[i - 1], events[i]];
      expect(
        a && b && (a.timestampMs < b.timestampMs || (a.timestampMs === b.timestampMs && a.eventId <= b.eventId)),
      ).toBe(true);
    }
    expect(live).toContain('agent');
  });

  it('shutdown drains agent activity, stops modules then the mob, is idempotent and refuses new work', async () => {
    const mobEvents: MobEvent[] = [];
    const runtime = await UnifiedRuntime.bootstrap(
      MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: TestClient.delayed(100) }),
      ROUTER_AND_DELIVERY,
      10_000,
    );
    runtime.mobHandle().subscribe((e) => mobEvents.push(e));
    await runtime.spawn(SpawnMemberSpec.fromWire('worker', 'w-1'));
    await runtime.sendMessage('w-1', 'work for a while');
    const report = await runtime.shutdown();
    expect(report.drain.timedOut).toBe(false);
    expect(report.drain.drainedCount).toBeGreaterThan(0);
    expect(mobEvents.some((e) => e.kind === 'agent' && e.event.type === 'run_completed')).toBe(true);
    expect(report.moduleShutdown).toEqual({ terminatedModules: ['delivery', 'router'], orphanProcesses: 0 });
    expect(report.mobStop).toEqual({ ok: true });
    expect(await runtime.mobHandle().status()).toBe('Stopped');
    expect(await runtime.shutdown()).toBe(report);
    await expect(runtime.dispatchScheduleTick([], 60_000)).rejects.toMatchObject({ code: 'RuntimeShuttingDown' });
    await expect(runtime.sendMessage('w-1', 'late')).rejects.toMatchObject({ code: 'RuntimeShuttingDown' });
    expect(runtime.moduleLifecycleEvents().map((e) => e.stage)).toEqual([
      'MobStarted',
      'ModulesStarted',
      'MergedStreamStarted',
      'ShutdownRequested',
      'ShutdownComplete',
    ]);
  });

  it('runs on the rkat-rpc adapter: a send runs, and shutdown drains, then closes the mob it owns (no child left)', async () => {
    const mob = await fakeRkatMob();
    const runtime = await UnifiedRuntime.bootstrap(MobBootstrapSpec.fromMob(mob), NO_MODULES, 1000);
    expect(runtime.mobHandle()).toBe(mob);
    const runs: string[] = [];
    runtime.subscribe((e) => {
      if (e.event.kind === 'agent' && e.event.eventType === 'run_completed') runs.push(e.event.agentId);
    });
    await runtime.spawn(SpawnMemberSpec.fromWire('worker', 'w-1'));
    expect((await runtime.listMembers()).map((m) => m.meerkatId)).toEqual(['w-1']);
    expect(typeof (await runtime.sendMessage('w-1', 'hello'))).toBe('string');
    const report = await runtime.shutdown();
    expect(report.drain.timedOut).toBe(false);
    expect(report.mobStop).toEqual({ ok: true });
    expect(runs).toEqual(['w-1']);
    expect(isAlive(mob.pid)).toBe(false);
  });

  it('a live scheduler fires through the runtime: the scheduling module decides, the member gets the injection', async () => {
    const config: MobKitConfig = {
      modules: [
        {
          id: 'scheduling',
          command: process.execPath,
          args: [FIXTURE, '--module', 'scheduling'],
          restartPolicy: 'never',
        },
      ],
      discovery: { namespace: 't', modules: ['scheduling'] },
      preSpawn: [
        {
          moduleId: 'scheduling',
          env: [
            ['MOBKIT_MODULE_BOUNDARY', 'mcp'],
            ['MOBKIT_PHASE_C_SCHEDULING_MEMBER', 'w-1'],
          ],
        },
      ],
    };
    const runtime = keep(await UnifiedRuntime.bootstrap(spec(), config, 10_000));
    await runtime.spawn(SpawnMemberSpec.fromWire('worker', 'w-1'));
    const executed = new Promise<Record<string, unknown>>((resolve) => {
      runtime.subscribe((e) => {
        if (e.event.kind === 'module' && e.event.eventType === 'runtime.injection.executed')
          resolve(e.event.payload as Record<string, unknown>);
      });
    });
    runtime.startScheduler([{ scheduleId: 'heartbeat', interval: '*/1s', timezone: 'UTC' }]);
    const payload = await Promise.race([
      executed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no injection within 5 s')), 5_000)),
    ]);
    expect(payload).toMatchObject({
      schedule_id: 'heartbeat',
      member_id: 'w-1',
      message: expect.stringContaining('heartbeat'),
    });
    expect(typeof payload.session_id).toBe('string');
  });
});
