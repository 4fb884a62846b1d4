import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventEnvelope, ModuleEvent } from '@mobkit/core';
import { isProcessAlive } from '../src/index.js';
import { config, moduleEvents, payloadOf, shModule, start, states, tempDir, trackPids, waitFor } from './helpers.js';

type Health = { module_id: string; from: string | null; to: string; attempt: number };

describe('monitoring after ready', () => {
  it('notices a crash at once and goes Healthy → Failed → Restarting → Healthy, each transition a module event', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(config([shModule('worker', 'crash-after-ready.sh', 'on_failure', [state, '1'])]), {
      timeoutMs: 2000,
    });
    const live: EventEnvelope[] = [];
    runtime.subscribe((e) => live.push(e));
    const firstPid = payloadOf<{ pid: number }>(runtime, 'worker').pid;
    trackPids(firstPid);
    await waitFor(
      'second ready',
      () =>
        moduleEvents(runtime, 'worker', 'ready').length === 2 && runtime.moduleStatus('worker')?.state === 'Healthy',
      5000,
    );
    trackPids(runtime.moduleStatus('worker')?.pid);
    expect(states(runtime, 'worker')).toEqual(['Starting', 'Healthy', 'Failed', 'Restarting', 'Healthy']);
    expect(
      runtime
        .healthTransitions()
        .filter((t) => t.moduleId === 'worker')
        .map((t) => t.attempt),
    ).toEqual([0, 1, 1, 1, 2]);
    const health = moduleEvents(runtime, 'worker', 'supervisor.health').map((e) => e.event.payload as Health);
    expect(health.map((h) => [h.from, h.to])).toEqual([
      ['Healthy', 'Failed'],
      ['Failed', 'Restarting'],
      ['Restarting', 'Healthy'],
    ]);
    expect((health[0] as Health & { reason: string }).reason).toBe('exit code 3');
    // subscribers saw the same transitions live, and the restarted module's ready event
    const liveTypes = live.filter((e) => e.event.kind === 'module').map((e) => (e.event as ModuleEvent).eventType);
    expect(liveTypes).toEqual(['supervisor.health', 'supervisor.health', 'supervisor.health', 'ready']);
    expect(payloadOf<{ attempt: number }>(runtime, 'worker').attempt).toBe(2);
    expect(isProcessAlive(firstPid)).toBe(false);
    expect(runtime.moduleStatus('worker')?.restarts).toBe(1);
    expect((await runtime.shutdown()).orphanProcesses).toBe(0);
  });

  it('grows the backoff ×1.5 between consecutive crash restarts and stops when the budget is spent', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(config([shModule('crashy', 'crash-after-ready.sh', 'on_failure', [state, '9', '0'])]), {
      timeoutMs: 2000,
      options: {
        onFailureRetryBudget: 3,
        supervisorRestartBackoffMs: 100,
        restartBackoffMultiplier: 1.5,
        restartStableMs: 60_000,
      },
    });
    await waitFor('crashy to stop', () => runtime.moduleStatus('crashy')?.state === 'Stopped', 8000);
    const health = moduleEvents(runtime, 'crashy', 'supervisor.health');
    const transitions = health.map((e) => `${(e.event.payload as Health).from}>${(e.event.payload as Health).to}`);
    expect(transitions).toEqual([
      'Healthy>Failed',
      'Failed>Restarting',
      'Restarting>Healthy',
      'Healthy>Failed',
      'Failed>Restarting',
      'Restarting>Healthy',
      'Healthy>Failed',
      'Failed>Restarting',
      'Restarting>Healthy',
      'Healthy>Failed',
      'Failed>Stopped',
    ]);
    // gaps between "Failed>Restarting" and the next "Restarting>Healthy" hold the backoff: 100, 150, 225 ms
    const at = (i: number) => (health[i] as EventEnvelope).timestampMs;
    expect(at(2) - at(1)).toBeGreaterThanOrEqual(95);
    expect(at(5) - at(4)).toBeGreaterThanOrEqual(145);
    expect(at(8) - at(7)).toBeGreaterThanOrEqual(220);
    expect(runtime.loadedModules()).toEqual([]);
    const warning = payloadOf<{ code: string; error: string }>(runtime, 'crashy', 'supervisor.warning');
    expect(warning.error).toContain('restart budget (3) is exhausted');
    expect(warning.error).toContain('exit code 3');
  });

  it('resets the crash count after a stable period', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(
      config([shModule('steady', 'crash-after-ready.sh', 'on_failure', [state, '3', '0.3'])]),
      {
        timeoutMs: 2000,
        options: { onFailureRetryBudget: 1, restartStableMs: 150 },
      },
    );
    // Every run lives 300 ms > the 150 ms stable period, so budget 1 suffices for each of the 3 crashes.
    await waitFor(
      'fourth ready',
      () =>
        moduleEvents(runtime, 'steady', 'ready').length === 4 && runtime.moduleStatus('steady')?.state === 'Healthy',
      8000,
    );
    trackPids(runtime.moduleStatus('steady')?.pid);
    expect(runtime.loadedModules()).toEqual(['steady']);
    expect(runtime.moduleStatus('steady')?.restarts).toBe(3);
  });

  it('stops a never module that dies after ready and warns', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(config([shModule('fragile', 'crash-after-ready.sh', 'never', [state, '1'])]), {
      timeoutMs: 2000,
    });
    await waitFor('fragile to stop', () => runtime.moduleStatus('fragile')?.state === 'Stopped', 5000);
    expect(states(runtime, 'fragile')).toEqual(['Starting', 'Healthy', 'Failed', 'Stopped']);
    expect(runtime.loadedModules()).toEqual([]);
    const warning = payloadOf<{ error: string }>(runtime, 'fragile', 'supervisor.warning');
    expect(warning.error).toContain('restart policy is never');
    expect(warning.error).toContain('attempt 1 crashing on purpose');
  });

  it('turns later stdout lines into module events and warns (bounded) about invalid ones', async () => {
    const script =
      `printf '{"event_id":"evt-talk-ready","source":"module","timestamp_ms":1,"module":"talk","event_type":"ready","payload":null}\\n'; ` +
      `printf '{"event_id":"evt-talk-2","source":"module","timestamp_ms":2,"module":"talk","event_type":"progress","payload":{"n":2}}\\n'; ` +
      `for i in 1 2 3 4 5 6 7 8; do echo "not json $i"; done; exec cat >/dev/null`;
    const runtime = await start(config([{ id: 'talk', command: 'sh', args: ['-c', script], restartPolicy: 'never' }]), {
      timeoutMs: 2000,
    });
    trackPids(runtime.moduleStatus('talk')?.pid);
    await waitFor('warnings', () => moduleEvents(runtime, 'talk', 'supervisor.warning').length === 5);
    expect(payloadOf(runtime, 'talk', 'progress')).toEqual({ n: 2 });
    await new Promise((r) => setTimeout(r, 100));
    const warnings = moduleEvents(runtime, 'talk', 'supervisor.warning').map(
      (e) => (e.event.payload as { error: string }).error,
    );
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toContain('not json 1');
    expect(warnings[4]).toContain('further invalid lines');
  });
});
