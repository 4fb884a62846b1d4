import { ManualClock, type ModuleConfig, type RestartPolicy } from '@mobkit/core';
import { waitFor } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { startModuleRuntime } from '../src/index.js';
import { FakeSpawner } from './fake-spawner.js';
import { config, moduleEvents, payloadOf, start, states } from './helpers.js';

// Restart budgets, backoff and health transitions driven by a fake spawner and a manual clock:
// no processes, and every wait happens exactly when the clock is moved.

type Health = { module_id: string; from: string | null; to: string; attempt: number; reason?: string };

const fake = (id: string, restartPolicy: RestartPolicy): ModuleConfig => ({
  id,
  command: 'fake-module',
  args: [id],
  restartPolicy,
});

function health(runtime: Parameters<typeof moduleEvents>[0], id: string): (Health & { ts: number })[] {
  return moduleEvents(runtime, id, 'supervisor.health').map((e) => ({
    ...(e.event.payload as Health),
    ts: e.timestampMs,
  }));
}

const arrows = (list: Health[]) => list.map((h) => `${h.from}>${h.to}`);

/** Waits until the runtime sleeps on `clock` (a backoff), then checks nothing else happens before it is due. */
async function expectBackoff(clock: ManualClock, spawner: FakeSpawner, ms: number): Promise<void> {
  await waitFor('a backoff sleep on the clock', () => clock.pendingSleeps === 1);
  const spawned = spawner.processes.length;
  clock.advance(ms - 1);
  await new Promise((r) => setTimeout(r, 20));
  expect(spawner.processes.length, `no restart before ${ms} ms`).toBe(spawned);
  expect(clock.pendingSleeps).toBe(1);
  clock.advance(1);
  await waitFor(`the restart after ${ms} ms`, () => spawner.processes.length === spawned + 1);
}

describe('crash restarts after ready (fake spawner, manual clock)', () => {
  it('backs off 100, 150, 225 ms (×1.5) and stops when the budget of the crash streak is spent', async () => {
    const clock = new ManualClock(1_000_000);
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('crashy', 'on_failure')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { onFailureRetryBudget: 3, supervisorRestartBackoffMs: 100, restartStableMs: 60_000 },
    });
    expect(states(runtime, 'crashy')).toEqual(['Starting', 'Healthy']);
    for (const ms of [100, 150, 225]) {
      spawner.last.exit(3);
      await expectBackoff(clock, spawner, ms);
      await waitFor('Healthy again', () => runtime.moduleStatus('crashy')?.state === 'Healthy');
    }
    spawner.last.exit(3);
    await waitFor('Stopped', () => runtime.moduleStatus('crashy')?.state === 'Stopped');
    const list = health(runtime, 'crashy');
    expect(arrows(list)).toEqual([
      ...['Healthy>Failed', 'Failed>Restarting', 'Restarting>Healthy'],
      ...['Healthy>Failed', 'Failed>Restarting', 'Restarting>Healthy'],
      ...['Healthy>Failed', 'Failed>Restarting', 'Restarting>Healthy'],
      ...['Healthy>Failed', 'Failed>Stopped'],
    ]);
    expect(list.map((h) => h.attempt)).toEqual([1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    // The gap between "Failed>Restarting" and the next "Restarting>Healthy" is exactly the backoff.
    const gap = (i: number) => (list[i + 1]?.ts ?? Number.NaN) - (list[i]?.ts ?? Number.NaN);
    expect([gap(1), gap(4), gap(7)]).toEqual([100, 150, 225]);
    expect(list[0]?.reason).toBe('exit code 3');
    expect(states(runtime, 'crashy')).toEqual([
      'Starting',
      'Healthy',
      ...['Failed', 'Restarting', 'Healthy'],
      ...['Failed', 'Restarting', 'Healthy'],
      ...['Failed', 'Restarting', 'Healthy'],
      ...['Failed', 'Stopped'],
    ]);
    expect(runtime.loadedModules()).toEqual([]);
    expect(runtime.moduleStatus('crashy')).toMatchObject({ loaded: false, restarts: 3, pid: undefined });
    const warning = payloadOf<{ code: string; error: string }>(runtime, 'crashy', 'supervisor.warning');
    expect(warning.code).toBe('ModuleUnavailable');
    expect(warning.error).toContain('restart budget (3) is exhausted');
    expect(warning.error).toContain('exit code 3');
    expect(clock.pendingSleeps).toBe(0);
    expect(spawner.processes).toHaveLength(4);
  });

  it('starts a fresh streak (first delay, full budget) after restartStableMs of health', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('steady', 'on_failure')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { onFailureRetryBudget: 1, supervisorRestartBackoffMs: 100, restartStableMs: 1000 },
    });
    spawner.last.exit(3);
    await expectBackoff(clock, spawner, 100);
    await waitFor('Healthy again', () => runtime.moduleStatus('steady')?.state === 'Healthy');
    clock.advance(1000); // stable: the streak (and its backoff) resets
    spawner.last.exit(3);
    await expectBackoff(clock, spawner, 100);
    await waitFor('Healthy again', () => runtime.moduleStatus('steady')?.state === 'Healthy');
    clock.advance(999); // not stable: budget 1 is spent by the crash before
    spawner.last.exit(3);
    await waitFor('Stopped', () => runtime.moduleStatus('steady')?.state === 'Stopped');
    expect(runtime.moduleStatus('steady')?.restarts).toBe(2);
    expect(spawner.processes).toHaveLength(3);
    expect(payloadOf<{ error: string }>(runtime, 'steady', 'supervisor.warning').error).toContain(
      'restart budget (1) is exhausted',
    );
  });

  it('on_failure: a clean exit is not restarted and not warned about; a crash is', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('clean', 'on_failure'), fake('dirty', 'on_failure')]), {
      timeoutMs: 1000,
      clock,
      spawner,
    });
    const [clean, dirty] = spawner.processes;
    clean?.exit(0);
    await waitFor('clean Stopped', () => runtime.moduleStatus('clean')?.state === 'Stopped');
    expect(arrows(health(runtime, 'clean'))).toEqual(['Healthy>Stopped']);
    expect(moduleEvents(runtime, 'clean', 'supervisor.warning')).toEqual([]);
    dirty?.exit(1);
    await waitFor('dirty Healthy again', () => spawner.processes.length === 3);
    await waitFor('dirty Healthy', () => runtime.moduleStatus('dirty')?.state === 'Healthy');
    expect(arrows(health(runtime, 'dirty'))).toEqual(['Healthy>Failed', 'Failed>Restarting', 'Restarting>Healthy']);
    expect(runtime.loadedModules()).toEqual(['dirty']);
  });

  it('always: any exit is restarted, a clean one without Failed; eager restarts at start wait the backoff on the clock', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner();
    const starting = startModuleRuntime(config([fake('keen', 'always')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { alwaysRestartBudget: 1, supervisorRestartBackoffMs: 50 },
    });
    // At start a healthy `always` JSON-line module is restarted eagerly up to its budget (spec §3.3).
    await expectBackoff(clock, spawner, 50);
    const runtime = await starting;
    try {
      expect(spawner.processes[0]?.signals).toEqual(['SIGTERM', 'SIGKILL']);
      expect(states(runtime, 'keen')).toEqual(['Starting', 'Healthy', 'Restarting', 'Healthy']);
      expect(health(runtime, 'keen')).toEqual([]); // start-up transitions are not stream events
      spawner.last.exit(0);
      await expectBackoff(clock, spawner, 50);
      await waitFor('Healthy again', () => runtime.moduleStatus('keen')?.state === 'Healthy');
      expect(arrows(health(runtime, 'keen'))).toEqual(['Healthy>Restarting', 'Restarting>Healthy']);
      spawner.last.exit(0);
      await waitFor('Stopped', () => runtime.moduleStatus('keen')?.state === 'Stopped');
      expect(arrows(health(runtime, 'keen')).slice(2)).toEqual(['Healthy>Stopped']);
      expect(payloadOf<{ error: string }>(runtime, 'keen', 'supervisor.warning').error).toContain(
        'restart budget (1) is exhausted',
      );
    } finally {
      await runtime.shutdown();
    }
  });

  it('never: a crash goes Healthy → Failed → Stopped with a warning, a clean exit Healthy → Stopped without one', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('fragile', 'never'), fake('done', 'never')]), {
      timeoutMs: 1000,
      clock,
      spawner,
    });
    spawner.processes[0]?.writeStderr('fragile gives up');
    spawner.processes[0]?.exit(3);
    spawner.processes[1]?.exit(0);
    await waitFor('both Stopped', () => runtime.loadedModules().length === 0);
    expect(states(runtime, 'fragile')).toEqual(['Starting', 'Healthy', 'Failed', 'Stopped']);
    expect(states(runtime, 'done')).toEqual(['Starting', 'Healthy', 'Stopped']);
    const warning = payloadOf<{ error: string }>(runtime, 'fragile', 'supervisor.warning');
    expect(warning.error).toContain('restart policy is never');
    expect(warning.error).toContain('fragile gives up');
    expect(moduleEvents(runtime, 'done', 'supervisor.warning')).toEqual([]);
    expect(clock.pendingSleeps).toBe(0);
    expect(spawner.processes).toHaveLength(2);
  });

  it('shutdown during a backoff ends the wait and restarts nothing', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('worker', 'on_failure')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { supervisorRestartBackoffMs: 5000 },
    });
    spawner.last.exit(3);
    await waitFor('the backoff', () => clock.pendingSleeps === 1);
    expect(await runtime.shutdown()).toEqual({ terminatedModules: ['worker'], orphanProcesses: 0 });
    expect(clock.pendingSleeps).toBe(0);
    clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(spawner.processes).toHaveLength(1);
    expect(states(runtime, 'worker')).toEqual(['Starting', 'Healthy', 'Failed', 'Restarting']);
  });
});

describe('restart budgets at start (fake spawner, manual clock)', () => {
  it('on_failure budget 2, every attempt failing: [Starting, Failed, Restarting, Failed, Restarting, Failed, Stopped]', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner((proc) => {
      proc.writeStderr(`attempt ${proc.n} failing on purpose`);
      proc.exit(1);
    });
    const starting = startModuleRuntime(config([fake('hopeless', 'on_failure')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { onFailureRetryBudget: 2, supervisorRestartBackoffMs: 100 },
    });
    await expectBackoff(clock, spawner, 100);
    await expectBackoff(clock, spawner, 100);
    const runtime = await starting;
    try {
      expect(runtime.healthTransitions()).toEqual([
        { moduleId: 'hopeless', from: null, to: 'Starting', attempt: 0 },
        { moduleId: 'hopeless', from: 'Starting', to: 'Failed', attempt: 1 },
        { moduleId: 'hopeless', from: 'Failed', to: 'Restarting', attempt: 1 },
        { moduleId: 'hopeless', from: 'Restarting', to: 'Failed', attempt: 2 },
        { moduleId: 'hopeless', from: 'Failed', to: 'Restarting', attempt: 2 },
        { moduleId: 'hopeless', from: 'Restarting', to: 'Failed', attempt: 3 },
        { moduleId: 'hopeless', from: 'Failed', to: 'Stopped', attempt: 3 },
      ]);
      expect(runtime.loadedModules()).toEqual([]);
      expect(runtime.isRunning()).toBe(true);
      const warning = payloadOf<{ code: string; error: string }>(runtime, 'hopeless', 'supervisor.warning');
      expect(warning.code).toBe('EmptyOutput');
      expect(warning.error).toContain('exit code 1');
      expect(warning.error).toContain('attempt 3 failing on purpose');
      expect(spawner.processes).toHaveLength(3);
    } finally {
      await runtime.shutdown();
    }
  });

  it('never: one attempt, [Starting, Failed, Stopped], no backoff', async () => {
    const clock = new ManualClock(0);
    const spawner = new FakeSpawner((proc) => proc.writeLine('not an event'));
    const runtime = await start(config([fake('once', 'never')]), {
      timeoutMs: 1000,
      clock,
      spawner,
      options: { supervisorRestartBackoffMs: 100 },
    });
    expect(states(runtime, 'once')).toEqual(['Starting', 'Failed', 'Stopped']);
    expect(payloadOf<{ code: string }>(runtime, 'once', 'supervisor.warning').code).toBe('InvalidModuleOutput');
    expect(spawner.processes).toHaveLength(1);
    expect(spawner.processes[0]?.running).toBe(false);
    expect(clock.pendingSleeps).toBe(0);
  });

  it('spawns with the module command, its arguments and env (parent env + pre-spawn env, no colour)', async () => {
    const spawner = new FakeSpawner();
    await start(
      config([fake('envy', 'never')], ['envy'], [{ moduleId: 'envy', env: [['MOBKIT_TEST_VALUE', 'from-pre-spawn']] }]),
      { timeoutMs: 1000, spawner },
    );
    const spec = spawner.last.spec;
    expect(spec.command).toBe('fake-module');
    expect(spec.args).toEqual(['envy']);
    expect(spec.env.MOBKIT_TEST_VALUE).toBe('from-pre-spawn');
    expect(spec.env.NO_COLOR).toBe('1');
    expect(spec.env.FORCE_COLOR).toBeUndefined();
    expect(spec.env.PATH).toBe(process.env.PATH);
  });
});
