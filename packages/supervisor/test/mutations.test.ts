import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import { config, moduleEvents, payloadOf, shModule, start, states, trackPids } from './helpers.js';

describe('reconcileModules and spawnMember', () => {
  it('rejects an unconfigured id without changing anything', async () => {
    const runtime = await start(config([shModule('a', 'ready.sh'), shModule('b', 'ready.sh')], ['a']), {
      timeoutMs: 2000,
    });
    trackPids(runtime.moduleStatus('a')?.pid);
    const before = {
      loaded: runtime.loadedModules(),
      transitions: runtime.healthTransitions(),
      events: runtime.mergedEvents(),
    };
    const error = await expectMobKitError(runtime.reconcileModules(['b', 'ghost'], 2000), 'ModuleNotConfigured');
    expect(error.message).toContain('"ghost"');
    expect(error.message).toContain('configured modules: a, b');
    expect(runtime.loadedModules()).toEqual(before.loaded);
    expect(runtime.healthTransitions()).toEqual(before.transitions);
    expect(runtime.mergedEvents()).toEqual(before.events);
    expect(runtime.moduleStatus('b')).toBeUndefined(); // b was not started
  });

  it('starts only the ids that are not loaded and returns how many', async () => {
    const runtime = await start(
      config([shModule('a', 'ready.sh'), shModule('b', 'ready.sh'), shModule('c', 'ready.sh')], ['a']),
      { timeoutMs: 2000 },
    );
    expect(await runtime.reconcileModules(['a', 'b', 'c'], 2000)).toBe(2);
    expect(runtime.loadedModules()).toEqual(['a', 'b', 'c']);
    expect(await runtime.reconcileModules(['b'], 2000)).toBe(0);
    expect(runtime.loadedModules()).toEqual(['a', 'b', 'c']); // reconcile never unloads
    const bad = await expectMobKitError(runtime.reconcileModules([1 as unknown as string], 2000), 'InvalidInput');
    expect(bad.message).toContain('modules[0]');
  });

  it('propagates the first start failure of a reconcile', async () => {
    const runtime = await start(
      config([shModule('ok', 'ready.sh'), shModule('bad', 'stderr-exit.sh', 'never', ['4'])], []),
      { timeoutMs: 2000 },
    );
    const error = await expectMobKitError(runtime.reconcileModules(['ok', 'bad'], 2000), 'EmptyOutput');
    expect(error.message).toContain('exit code 4');
    expect(error.details).toMatchObject({ moduleId: 'bad' });
    expect(String(error.details?.stderr)).toContain('fatal: cannot open');
    expect(runtime.loadedModules()).toEqual(['ok']);
  });

  it('replaces a running module: the old process is gone, the new one tracked', async () => {
    const runtime = await start(config([shModule('svc', 'grandchild.sh')]), { timeoutMs: 2000 });
    const old = payloadOf<{ pid: number; child: number }>(runtime, 'svc');
    trackPids(old.pid, old.child);
    await runtime.spawnMember('svc', 2000);
    const fresh = runtime.moduleStatus('svc')?.pid;
    trackPids(fresh);
    expect(fresh).not.toBe(old.pid);
    expect(isProcessAlive(old.pid)).toBe(false);
    expect(isProcessAlive(old.child)).toBe(false);
    expect(isProcessAlive(fresh as number)).toBe(true);
    expect(moduleEvents(runtime, 'svc', 'ready')).toHaveLength(2);
    expect(moduleEvents(runtime, 'svc', 'supervisor.health')).toHaveLength(0); // a replacement is not a crash
    expect(states(runtime, 'svc')).toEqual(['Starting', 'Healthy', 'Starting', 'Healthy']);
    expect((await runtime.shutdown()).orphanProcesses).toBe(0);
  });

  it('keeps the old child tracked and errors when it cannot be stopped for a replacement', async () => {
    const runtime = await start(config([shModule('sticky', 'ready.sh')]), {
      timeoutMs: 2000,
      options: { supervisorTestForceTerminateFailure: true },
    });
    const oldPid = runtime.moduleStatus('sticky')?.pid as number;
    trackPids(oldPid);
    const error = await expectMobKitError(runtime.spawnMember('sticky', 2000), 'TerminateFailed');
    expect(error.message).toContain('forced terminate failure');
    expect(runtime.moduleStatus('sticky')?.pid).toBe(oldPid);
    expect(runtime.moduleStatus('sticky')?.state).toBe('Healthy');
    expect(isProcessAlive(oldPid)).toBe(true);
    expect(moduleEvents(runtime, 'sticky', 'ready')).toHaveLength(1); // the replacement was never loaded
    const replacementPid = error.details?.replacementPid as number;
    trackPids(replacementPid);
    expect(replacementPid).not.toBe(oldPid);
    expect(isProcessAlive(replacementPid)).toBe(false);
    expect(payloadOf<{ code: string }>(runtime, 'sticky', 'supervisor.warning').code).toBe('TerminateFailed');
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['sticky'], orphanProcesses: 0 });
    expect(isProcessAlive(oldPid)).toBe(false);
  });

  it('rejects spawnMember for an unknown id with ModuleNotConfigured', async () => {
    const runtime = await start(config([]), { timeoutMs: 1000 });
    await expectMobKitError(runtime.spawnMember('nobody', 1000), 'ModuleNotConfigured');
  });
});
