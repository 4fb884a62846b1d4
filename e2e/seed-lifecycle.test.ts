// The original end-to-end lifecycle tests (../shared/seed/phase5_lifecycle_e2e.rs, e2e_003 and
// e2e_004) written against the TypeScript API, with real processes: an `sh` module that crashes
// once and the MCP fixture (official SDK) as router, delivery and scheduling modules. Each runs
// twice with the same assertions: on the embedded mob, and on the fake Meerkat `rkat-rpc`
// (fixtures/fake-rkat-rpc.mjs, a child process) behind the same UnifiedRuntime.
// Runs against the BUILT packages (dist/), as a user's install would.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_RKAT_RPC, MCP_FIXTURE } from '@mobkit/test-utils';
import {
  type LifecycleStage,
  type LlmClient,
  MobBootstrapSpec,
  MobDefinition,
  MobStorage,
  type MobKitConfig,
  type ModuleConfig,
  type RestartPolicy,
  SpawnMemberSpec,
  type SpawnSpecInput,
  TestClient,
  UnifiedRuntime,
  buildRuntimeDecisionState,
  createRkatRpcMob,
  sendMessageOnMob,
  type RuntimeDecisionState,
} from 'mobkit';
import { createReferenceAppRouter } from 'mobkit/http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

const ALL_STAGES: LifecycleStage[] = [
  'MobStarted',
  'ModulesStarted',
  'MergedStreamStarted',
  'ShutdownRequested',
  'ShutdownComplete',
];

const MOB_TOML = `
[mob]
id = "phase5-lifecycle-mob"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true

[profiles.lead.tools]
comms = true

[profiles.worker]
model = "gpt-5.2"
external_addressable = true

[profiles.worker.tools]
comms = true
`;

function spawnSpec(profile: string, memberId: string): SpawnSpecInput {
  return SpawnMemberSpec.fromWire(profile, memberId, `You are ${memberId}. Keep responses concise.`);
}

function shellModule(id: string, script: string, restartPolicy: RestartPolicy): ModuleConfig {
  return { id, command: 'sh', args: ['-c', script], restartPolicy };
}

function forcedCrashThenReadyScript(moduleId: string, stateFile: string, successAttempt: number): string {
  return `attempt_file='${stateFile}'; attempt=0; if [ -f "$attempt_file" ]; then attempt=$(cat "$attempt_file"); fi; attempt=$((attempt + 1)); echo "$attempt" > "$attempt_file"; if [ "$attempt" -lt ${successAttempt} ]; then exit 1; fi; printf '%s\\n' "{\\"event_id\\":\\"evt-${moduleId}-ready\\",\\"source\\":\\"module\\",\\"timestamp_ms\\":42,\\"event\\":{\\"kind\\":\\"module\\",\\"module\\":\\"${moduleId}\\",\\"event_type\\":\\"ready\\",\\"payload\\":{\\"attempt\\":$attempt,\\"pid\\":$$}}}"; exec sleep 30`;
}

/** A mob for the seed to run on: its bootstrap spec, and the child processes it leaves alive. */
interface SeedMob {
  spec: MobBootstrapSpec;
  /** Pids of the mob's own processes still alive (none for the embedded mob). */
  aliveProcesses(): number[];
}

/** Where the seed's mob runs; `runDelayMs` makes each run take that long (the seed's `TestClient::delayed`). */
interface MobVariant {
  name: string;
  boot(runDelayMs: number): Promise<SeedMob>;
}

function buildPhase5MobSpec(defaultLlmClient: LlmClient): MobBootstrapSpec {
  return MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML), MobStorage.inMemory()).withOptions({
    allowEphemeralSessions: true,
    notifyOrchestratorOnResume: true,
    defaultLlmClient,
  });
}

const MOB_VARIANTS: MobVariant[] = [
  {
    name: 'embedded mob',
    boot: async (runDelayMs) => ({
      spec: buildPhase5MobSpec(runDelayMs > 0 ? TestClient.delayed(runDelayMs) : new TestClient()),
      aliveProcesses: () => [],
    }),
  },
  {
    name: 'fake rkat-rpc',
    boot: async (runDelayMs) => {
      const mob = await createRkatRpcMob(MobDefinition.fromToml(MOB_TOML), {
        command: process.execPath,
        args: [FAKE_RKAT_RPC],
        env: { FAKE_RKAT_RUN_DELAY_MS: String(runDelayMs) },
      });
      const pid = mob.pid;
      if (pid === undefined || !isAlive(pid)) throw new Error('the fake rkat-rpc did not start');
      // If the runtime never takes the mob over (a failed build), close it here.
      cleanup.push(() => mob.close());
      return { spec: MobBootstrapSpec.fromMob(mob), aliveProcesses: () => (isAlive(pid) ? [pid] : []) };
    },
  },
];

function trustedModulesToml(): string {
  return `
[[modules]]
id = "router"
command = "router-bin"
args = ["--mode", "fast"]
restart_policy = "always"

[[modules]]
id = "delivery"
command = "delivery-bin"
args = ["--sink", "memory"]
restart_policy = "on_failure"

[[modules]]
id = "scheduling"
command = "scheduling-bin"
args = ["--tick", "60"]
restart_policy = "always"
`;
}

function decisionState(): RuntimeDecisionState {
  return buildRuntimeDecisionState({
    bigquery: { dataset: 'phase5_reference_dataset', table: 'phase5_reference_table' },
    trustedMobkitToml: trustedModulesToml(),
    trustedOidc: {
      discoveryJson:
        '{"issuer":"https://trusted.mobkit.local","jwks_uri":"https://trusted.mobkit.local/.well-known/jwks.json"}',
      jwksJson:
        '{"keys":[{"kid":"kid-current","kty":"oct","alg":"HS256","k":"cGhhc2U3LXRydXN0ZWQtY3VycmVudC1zZWNyZXQ"}]}',
      audience: 'meerkat-console',
    },
    console: { requireAppAuth: false },
    releaseMetadataJson: '{"targets":["crates.io","npm","pypi","github-releases"],"support_matrix":"same-as-meerkat"}',
  });
}

function fixtureModule(id: string): ModuleConfig {
  return { id, command: process.execPath, args: [MCP_FIXTURE, '--module', id], restartPolicy: 'never' };
}

function mcpEnv(extra: Array<[string, string]> = []): Array<[string, string]> {
  return [['MOBKIT_MODULE_BOUNDARY', 'mcp'], ...extra];
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie (state Z) is dead: on these machines PID 1 does not reap orphans.
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z';
  } catch {
    return false;
  }
}

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

describe.each(MOB_VARIANTS)('seed: phase 5 lifecycle on the $name', (variant) => {
  it('e2e_003: a module crash during activity recovers under its policy and shutdown is ordered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-e2e-003-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'forced-crash-attempts.txt');
    const crashScript = forcedCrashThenReadyScript('forced-crash', stateFile, 2);

    const moduleConfig: MobKitConfig = {
      modules: [shellModule('forced-crash', crashScript, 'on_failure')],
      discovery: { namespace: 'phase5-e2e-003', modules: [] },
      preSpawn: [],
    };
    const mob = await variant.boot(350);
    const runtime = await UnifiedRuntime.builder()
      .mobSpec(mob.spec)
      .moduleConfig(moduleConfig)
      .timeout(1_000)
      .runtimeOptions({ onFailureRetryBudget: 1, supervisorRestartBackoffMs: 80 })
      .build();
    cleanup.push(() => runtime.shutdown());

    await runtime.reconcile([spawnSpec('worker', 'worker-1')]);

    // Send a message to create activity while module crash/recovery proceeds.
    await sendMessageOnMob(
      runtime.mobHandle(),
      'worker-1',
      'Keep this interaction open briefly while runtime work proceeds.',
    );

    const added = await runtime.reconcileModules(['forced-crash'], 1_000);
    expect(added).toBe(1);
    expect(readFileSync(stateFile, 'utf8').trim()).toBe('2');

    const transitions = runtime
      .moduleHealthTransitions()
      .filter((t) => t.moduleId === 'forced-crash')
      .map((t) => t.to);
    expect(transitions).toEqual(['Starting', 'Failed', 'Restarting', 'Healthy']);

    const ready = runtime
      .moduleEvents()
      .find((e) => e.event.kind === 'module' && e.event.module === 'forced-crash' && e.event.eventType === 'ready');
    const pid = (ready?.event as { payload: { pid: number; attempt: number } } | undefined)?.payload.pid;
    expect(typeof pid).toBe('number');
    expect(isAlive(pid as number)).toBe(true);

    const shutdown = await runtime.shutdown();
    expect(shutdown.moduleShutdown.orphanProcesses).toBe(0);
    expect(shutdown.moduleShutdown.terminatedModules).toEqual(['forced-crash']);
    expect(shutdown.mobStop).toEqual({ ok: true });
    expect(isAlive(pid as number)).toBe(false);
    expect(mob.aliveProcesses()).toEqual([]);

    expect(runtime.moduleLifecycleEvents().map((e) => e.stage)).toEqual(ALL_STAGES);
  });

  it('e2e_004: startup, reconcile, dispatch with injection, route, deliver, shutdown', async () => {
    const moduleConfig: MobKitConfig = {
      modules: [fixtureModule('router'), fixtureModule('delivery'), fixtureModule('scheduling')],
      discovery: { namespace: 'phase5-e2e-004', modules: ['router', 'delivery', 'scheduling'] },
      preSpawn: [
        { moduleId: 'router', env: mcpEnv() },
        { moduleId: 'delivery', env: mcpEnv() },
        {
          moduleId: 'scheduling',
          env: mcpEnv([
            ['MOBKIT_PHASE_C_SCHEDULING_MEMBER', 'worker-1'],
            ['MOBKIT_PHASE_C_SCHEDULING_MESSAGE_PREFIX', 'phase5-happy'],
            ['MOBKIT_PHASE_C_SCHEDULING_DISABLE_INJECTION', '0'],
          ]),
        },
      ],
    };
    const mob = await variant.boot(0);
    const runtime = await UnifiedRuntime.bootstrap(mob.spec, moduleConfig, 2_000);
    cleanup.push(() => runtime.shutdown());

    expect(await runtime.mobHandle().status()).toBe('Running');
    expect(runtime.moduleIsRunning()).toBe(true);
    expect(runtime.loadedModules()).toEqual(['delivery', 'router', 'scheduling']);

    const reconcile = await runtime.reconcile([spawnSpec('lead', 'lead-1'), spawnSpec('worker', 'worker-1')]);
    expect(reconcile.routing.routerModuleLoaded).toBe(true);
    expect(reconcile.routing.addedRouteKeys).toEqual(['mob.member.lead-1', 'mob.member.worker-1']);
    expect([...reconcile.mob.spawned].sort()).toEqual(['lead-1', 'worker-1']);

    // Serve the reference app while the lifecycle runs, as the seed does (graceful shutdown below).
    const app = express();
    app.use(createReferenceAppRouter(runtime, decisionState()));
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok');
    const modules = (await (await fetch(`${base}/console/modules`)).json()) as {
      contract_version: string;
      modules: string[];
    };
    expect(modules).toEqual({ contract_version: '0.2.0', modules: ['router', 'delivery', 'scheduling'] });

    // Send a message (fire-and-forget) to drive agent activity.
    await sendMessageOnMob(runtime.mobHandle(), 'worker-1', 'phase5 happy path interaction');

    const dispatch = await runtime.dispatchScheduleTick(
      [{ scheduleId: 'phase5-happy', interval: '*/1m', timezone: 'UTC', enabled: true, jitterMs: 0, catchUp: false }],
      60_000,
    );
    expect(dispatch.dispatched).toHaveLength(1);
    expect(dispatch.dispatched[0]?.runtimeInjection).toBeDefined();
    expect(dispatch.dispatched[0]?.runtimeInjectionError).toBeUndefined();
    expect(dispatch.dispatched[0]?.runtimeInjection).toMatchObject({
      memberId: 'worker-1',
      message: 'phase5-happy:phase5-happy',
    });
    expect(
      runtime
        .moduleEvents()
        .some(
          (e) =>
            e.event.kind === 'module' &&
            e.event.module === 'runtime' &&
            e.event.eventType === 'runtime.injection.executed',
        ),
    ).toBe(true);

    const experience = (await (await fetch(`${base}/console/experience`)).json()) as {
      agent_sidebar: { live_snapshot: { agents: Array<{ agent_id: string }> } };
    };
    expect(experience.agent_sidebar.live_snapshot.agents.map((a) => a.agent_id)).toEqual(['lead-1', 'worker-1']);
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));

    const resolution = await runtime.resolveRouting({
      recipient: 'user@example.com',
      channel: 'transactional',
      retryMax: 1,
      backoffMs: 125,
      rateLimitPerMinute: 10,
    });
    expect(resolution.targetModule).toBe('delivery');
    expect(resolution.sink).toBe('email');

    const delivery = await runtime.sendDelivery({
      resolution,
      payload: { message: 'phase5 lifecycle happy path' },
      idempotencyKey: 'phase5-e2e-004',
    });
    expect(delivery.routeId).toBe(resolution.routeId);
    expect(delivery.status).toBe('sent');
    expect(delivery.targetModule).toBe('delivery');
    expect(delivery.attempts.at(-1)?.status).toBe('sent');

    const shutdown = await runtime.shutdown();
    expect(shutdown.moduleShutdown.orphanProcesses).toBe(0);
    expect(shutdown.moduleShutdown.terminatedModules).toEqual(['delivery', 'router', 'scheduling']);
    expect(shutdown.mobStop).toEqual({ ok: true });
    expect(mob.aliveProcesses()).toEqual([]);
    expect(runtime.moduleLifecycleEvents().map((e) => e.stage)).toEqual(ALL_STAGES);
  });
});
