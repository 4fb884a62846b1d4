import type { EventEnvelope, ModuleConfig, ModuleEvent, RestartPolicy } from '@mobkit/core';
import { waitFor } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import type { ExitInfo, ProcessSpawner, SpawnedProcess } from '../src/index.js';
import { FakeSpawner } from './fake-spawner.js';
import { config, moduleEvents, payloadOf, start } from './helpers.js';

// Every module failure is an event of the merged stream that names the module and quotes the
// cause (code, message, exit code or signal, last stderr lines): each failed start attempt
// (`supervisor.start_failed`), each crash and restart (`supervisor.health`), and the exhausted
// budget (`supervisor.health` to Stopped and a `supervisor.warning`). Fake processes, no real ones.

interface Cause {
  module_id: string;
  code: string;
  error: string;
  exit_code: number | null;
  signal: string | null;
  stderr: string[];
}
type StartFailed = Cause & { attempt: number; will_retry: boolean };
type Health = Partial<Cause> & { from: string | null; to: string; attempt: number; reason?: string };

const fake = (id: string, restartPolicy: RestartPolicy): ModuleConfig => ({
  id,
  command: 'fake-module',
  args: [id],
  restartPolicy,
});

const payloads = <T>(events: EventEnvelope<ModuleEvent>[]) => events.map((e) => e.event.payload as T);

describe('failure events quote their cause', () => {
  it('emits supervisor.start_failed for every failed start attempt, then a warning that the budget is spent', async () => {
    const spawner = new FakeSpawner((proc) => {
      proc.writeStderr(`attempt ${proc.n}: opening the ledger`);
      proc.writeStderr(`Error: ENOTDIR: not a directory, open '/tmp/file/ledger.jsonl' (attempt ${proc.n})`);
      proc.exit(2);
    });
    const seen: EventEnvelope[] = [];
    const runtime = await start(config([fake('delivery', 'on_failure')]), {
      timeoutMs: 1000,
      spawner,
      onEvent: (event) => seen.push(event),
    });
    expect(runtime.loadedModules()).toEqual([]);
    const failures = payloads<StartFailed>(moduleEvents(runtime, 'delivery', 'supervisor.start_failed'));
    expect(failures.map((f) => [f.attempt, f.will_retry])).toEqual([
      [1, true],
      [2, false],
    ]);
    for (const [i, failure] of failures.entries()) {
      expect(failure).toMatchObject({ module_id: 'delivery', code: 'EmptyOutput', exit_code: 2, signal: null });
      expect(failure.stderr.at(-1)).toBe(
        `Error: ENOTDIR: not a directory, open '/tmp/file/ledger.jsonl' (attempt ${i + 1})`,
      );
      expect(failure.error).toContain('exit code 2');
    }
    const warning = payloadOf<Cause>(runtime, 'delivery', 'supervisor.warning');
    expect(warning).toMatchObject({ module_id: 'delivery', code: 'EmptyOutput', exit_code: 2, signal: null });
    expect(warning.error).toContain('module "delivery" is not loaded (its restart budget (1) is exhausted)');
    expect(warning.error).toContain('ENOTDIR');
    expect(warning.stderr.at(-1)).toContain('(attempt 2)');
    // The onEvent listener saw them as they happened, during start-up.
    const types = seen.map((e) => (e.event as ModuleEvent).eventType);
    expect(types).toEqual(['supervisor.start_failed', 'supervisor.start_failed', 'supervisor.warning']);
  });

  it('says a never module is not loaded because of its policy', async () => {
    const spawner = new FakeSpawner((proc) => proc.exit(null, 'SIGSEGV'));
    const runtime = await start(config([fake('once', 'never')]), { timeoutMs: 1000, spawner });
    const [failure] = payloads<StartFailed>(moduleEvents(runtime, 'once', 'supervisor.start_failed'));
    expect(failure).toMatchObject({ module_id: 'once', attempt: 1, will_retry: false, exit_code: null });
    expect(failure?.signal).toBe('SIGSEGV');
    expect(payloadOf<Cause>(runtime, 'once', 'supervisor.warning').error).toContain(
      'module "once" is not loaded (its restart policy is never)',
    );
  });

  it('emits supervisor.start_failed for a process that could not be spawned', async () => {
    const spawnError = 'spawn fake-module ENOENT';
    const spawner: ProcessSpawner = {
      spawn: (): SpawnedProcess => ({
        pid: undefined,
        stdin: null,
        stdout: null,
        stderr: null,
        exited: Promise.resolve<ExitInfo>({ exitCode: null, signal: null, spawnError }),
        signalGroup: () => undefined,
        groupMembers: () => [],
      }),
    };
    const runtime = await start(config([fake('missing', 'never')]), { timeoutMs: 1000, spawner });
    const [failure] = payloads<StartFailed>(moduleEvents(runtime, 'missing', 'supervisor.start_failed'));
    expect(failure).toMatchObject({ module_id: 'missing', attempt: 1, code: 'SpawnFailed', stderr: [] });
    expect(failure?.error).toContain(spawnError);
    expect(payloadOf<Cause>(runtime, 'missing', 'supervisor.warning').code).toBe('SpawnFailed');
  });

  it('quotes exit code and stderr in each crash, restart and the exhausted budget after ready', async () => {
    const spawner = new FakeSpawner();
    const runtime = await start(config([fake('crashy', 'on_failure')]), { timeoutMs: 1000, spawner });
    expect(runtime.loadedModules()).toEqual(['crashy']);

    spawner.last.writeStderr('first run: out of cheese');
    spawner.last.exit(3);
    await waitFor('the restart', () => spawner.processes.length === 2 && runtime.moduleStatus('crashy')?.loaded);
    await waitFor('Healthy again', () => runtime.moduleStatus('crashy')?.state === 'Healthy');
    spawner.last.writeStderr('second run: segfault ahead');
    spawner.last.exit(null, 'SIGSEGV');
    await waitFor('Stopped', () => runtime.moduleStatus('crashy')?.state === 'Stopped');

    const health = payloads<Health>(moduleEvents(runtime, 'crashy', 'supervisor.health'));
    expect(health.map((h) => `${h.from}>${h.to}`)).toEqual([
      'Healthy>Failed',
      'Failed>Restarting',
      'Restarting>Healthy',
      'Healthy>Failed',
      'Failed>Stopped',
    ]);
    const [crash1, restart, , crash2, stopped] = health as [Health, Health, Health, Health, Health];
    expect(crash1).toMatchObject({ module_id: 'crashy', reason: 'exit code 3', code: 'ModuleUnavailable' });
    expect(crash1).toMatchObject({ exit_code: 3, signal: null, stderr: ['first run: out of cheese'] });
    expect(restart).toMatchObject({ reason: 'exit code 3', restart: 1, delay_ms: 0, exit_code: 3 });
    expect(restart.stderr).toEqual(['first run: out of cheese']);
    expect(crash2).toMatchObject({ reason: 'signal SIGSEGV', exit_code: null, signal: 'SIGSEGV' });
    expect(crash2.stderr?.at(-1)).toBe('second run: segfault ahead');
    expect(stopped).toMatchObject({ reason: 'signal SIGSEGV', signal: 'SIGSEGV' });
    expect(runtime.loadedModules()).toEqual([]);

    const warning = payloadOf<Cause>(runtime, 'crashy', 'supervisor.warning');
    expect(warning).toMatchObject({ module_id: 'crashy', code: 'ModuleUnavailable', signal: 'SIGSEGV' });
    expect(warning.error).toContain('module "crashy" stopped (its restart budget (1) is exhausted)');
    expect(warning.error).toContain('second run: segfault ahead');
    expect(warning.stderr.at(-1)).toBe('second run: segfault ahead');
  });

  it('quotes the cause of a restart attempt that fails after a crash', async () => {
    const spawner = new FakeSpawner((proc) => {
      if (proc.n === 1) return proc.ready('flaky');
      proc.writeStderr('cannot bind port 9000');
      proc.exit(1);
    });
    const runtime = await start(config([fake('flaky', 'on_failure')]), {
      timeoutMs: 1000,
      spawner,
      options: { onFailureRetryBudget: 1 },
    });
    spawner.last.exit(4);
    await waitFor('Stopped', () => runtime.moduleStatus('flaky')?.state === 'Stopped');
    const health = payloads<Health>(moduleEvents(runtime, 'flaky', 'supervisor.health'));
    expect(health.map((h) => `${h.from}>${h.to}`)).toEqual([
      'Healthy>Failed',
      'Failed>Restarting',
      'Restarting>Failed',
      'Failed>Stopped',
    ]);
    const failedRestart = health[2] as Health;
    expect(failedRestart).toMatchObject({ code: 'EmptyOutput', exit_code: 1 });
    expect(failedRestart.stderr?.at(-1)).toBe('cannot bind port 9000');
    const warning = payloadOf<Cause>(runtime, 'flaky', 'supervisor.warning');
    expect(warning).toMatchObject({ code: 'EmptyOutput', exit_code: 1 });
    expect(warning.error).toContain('cannot bind port 9000');
  });
});
