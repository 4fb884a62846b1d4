import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { startModuleRuntime } from '../src/index.js';
import {
  config,
  inlineModule,
  moduleEvents,
  payloadOf,
  readText,
  shModule,
  start,
  states,
  tempDir,
  trackPids,
} from './helpers.js';
import { join } from 'node:path';

const budgets2 = { onFailureRetryBudget: 2, alwaysRestartBudget: 2 };

describe('start-up of JSON-line modules', () => {
  it('loads a module whose first line is an envelope, keeps it alive, and records the lifecycle', async () => {
    const runtime = await start(config([shModule('alpha', 'ready.sh')]), { timeoutMs: 3000 });
    expect(runtime.isRunning()).toBe(true);
    expect(runtime.loadedModules()).toEqual(['alpha']);
    expect(states(runtime, 'alpha')).toEqual(['Starting', 'Healthy']);
    const pid = payloadOf<{ pid: number }>(runtime, 'alpha').pid;
    trackPids(pid);
    expect(runtime.moduleStatus('alpha')?.pid).toBe(pid);
    expect(moduleEvents(runtime, 'alpha', 'ready')[0]?.eventId).toBe('evt-alpha-ready');
    expect(runtime.lifecycleEvents()).toEqual([
      { seq: 0, stage: 'MobStarted' },
      { seq: 1, stage: 'ModulesStarted' },
      { seq: 2, stage: 'MergedStreamStarted' },
    ]);
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['alpha'], orphanProcesses: 0 });
    expect(runtime.isRunning()).toBe(false);
    expect(runtime.lifecycleEvents().map((e) => e.stage)).toEqual([
      'MobStarted',
      'ModulesStarted',
      'MergedStreamStarted',
      'ShutdownRequested',
      'ShutdownComplete',
    ]);
  });

  it('pins never + exit 1 to [Starting, Failed, Stopped], does not load it, warns, and still starts', async () => {
    const runtime = await start(config([inlineModule('broken', 'exit 1', 'never'), shModule('ok', 'ready.sh')]), {
      timeoutMs: 2000,
      options: budgets2,
    });
    expect(states(runtime, 'broken')).toEqual(['Starting', 'Failed', 'Stopped']);
    expect(runtime.healthTransitions().filter((t) => t.moduleId === 'broken')).toEqual([
      { moduleId: 'broken', from: null, to: 'Starting', attempt: 0 },
      { moduleId: 'broken', from: 'Starting', to: 'Failed', attempt: 1 },
      { moduleId: 'broken', from: 'Failed', to: 'Stopped', attempt: 1 },
    ]);
    expect(runtime.loadedModules()).toEqual(['ok']);
    const warning = moduleEvents(runtime, 'broken', 'supervisor.warning')[0];
    expect(warning?.eventId).toMatch(/^evt-supervisor-warning-broken-\d+$/);
    expect(warning?.event.payload).toMatchObject({ code: 'EmptyOutput' });
    expect(String((warning?.event.payload as { error: string } | undefined)?.error)).toContain('exit code 1');
  });

  it('pins on_failure failing twice with budget 2 to [Starting, Failed, Restarting, Failed, Restarting, Healthy]', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(config([shModule('flaky', 'crash-then-ready.sh', 'on_failure', [state, '3'])]), {
      timeoutMs: 2000,
      options: budgets2,
    });
    expect(states(runtime, 'flaky')).toEqual(['Starting', 'Failed', 'Restarting', 'Failed', 'Restarting', 'Healthy']);
    expect(
      runtime
        .healthTransitions()
        .filter((t) => t.moduleId === 'flaky')
        .map((t) => t.attempt),
    ).toEqual([0, 1, 1, 2, 2, 3]);
    expect(payloadOf<{ attempt: number }>(runtime, 'flaky').attempt).toBe(3);
    expect(runtime.loadedModules()).toEqual(['flaky']);
  });

  it('pins the seed case: on_failure, budget 1, first attempt exits 1 → [Starting, Failed, Restarting, Healthy]', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(
      config([shModule('forced-crash', 'crash-then-ready.sh', 'on_failure', [state, '2'])], []),
      {
        timeoutMs: 1000,
        options: { onFailureRetryBudget: 1, supervisorRestartBackoffMs: 80 },
      },
    );
    expect(runtime.loadedModules()).toEqual([]);
    expect(await runtime.reconcileModules(['forced-crash'], 1000)).toBe(1);
    expect(readText(state).trim()).toBe('2');
    expect(states(runtime, 'forced-crash')).toEqual(['Starting', 'Failed', 'Restarting', 'Healthy']);
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['forced-crash'], orphanProcesses: 0 });
  });

  it('restarts a healthy always module eagerly up to its budget (spec §3.3)', async () => {
    const runtime = await start(config([shModule('eager', 'ready.sh', 'always')]), {
      timeoutMs: 2000,
      options: budgets2,
    });
    expect(states(runtime, 'eager')).toEqual(['Starting', 'Healthy', 'Restarting', 'Healthy', 'Restarting', 'Healthy']);
    expect(runtime.loadedModules()).toEqual(['eager']);
    expect(moduleEvents(runtime, 'eager', 'ready')).toHaveLength(1);
  });

  it('honours supervisorRestartBackoffMs: backoff 120 ms and success on attempt 3 take at least 220 ms', async () => {
    const state = join(tempDir(), 'attempts');
    const t0 = performance.now();
    const runtime = await start(config([shModule('slow', 'crash-then-ready.sh', 'on_failure', [state, '3'])]), {
      timeoutMs: 2000,
      options: { ...budgets2, supervisorRestartBackoffMs: 120 },
    });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(220);
    expect(payloadOf<{ attempt: number }>(runtime, 'slow').attempt).toBe(3);
  });

  it('does not load a module that exhausts its budget, warns with the error, and start-up succeeds', async () => {
    const state = join(tempDir(), 'attempts');
    const runtime = await start(
      config([shModule('hopeless', 'crash-then-ready.sh', 'on_failure', [state, '9']), shModule('fine', 'ready.sh')]),
      {
        timeoutMs: 2000,
        options: { onFailureRetryBudget: 1 },
      },
    );
    expect(runtime.loadedModules()).toEqual(['fine']);
    expect(states(runtime, 'hopeless')).toEqual(['Starting', 'Failed', 'Restarting', 'Failed', 'Stopped']);
    expect(readText(state).trim()).toBe('2');
    const warnings = moduleEvents(runtime, 'hopeless', 'supervisor.warning');
    expect(warnings).toHaveLength(1);
    const error = String((warnings[0]?.event.payload as { error: string } | undefined)?.error);
    expect(error).toContain('closed stdout before writing its ready line');
    expect(error).toContain('attempt 2 failing on purpose');
    expect(runtime.lifecycleEvents().map((e) => e.stage)).toEqual([
      'MobStarted',
      'ModulesStarted',
      'MergedStreamStarted',
    ]);
  });

  it('fails start-up with ModuleNotConfigured for an unknown discovered id, starting nothing', async () => {
    const error = await expectMobKitError(
      startModuleRuntime(config([shModule('known', 'ready.sh')], ['known', 'ghost']), { timeoutMs: 1000 }),
      'ModuleNotConfigured',
    );
    expect(error.message).toContain('"ghost"');
    expect(error.message).toContain('discovery.modules[1]');
    expect(error.details).toMatchObject({ moduleId: 'ghost', configuredModules: ['known'] });
  });

  it('rejects a bad timeout naming the field', async () => {
    const error = await expectMobKitError(startModuleRuntime(config([]), { timeoutMs: 0 }), 'InvalidInput');
    expect(error.message).toContain('timeoutMs');
  });

  it('times out a silent module with Timeout { timeoutMs } and kills it', async () => {
    const runtime = await start(config([shModule('mute', 'silent.sh')]), { timeoutMs: 300 });
    expect(runtime.loadedModules()).toEqual([]);
    const payload = payloadOf<{ code: string; error: string }>(runtime, 'mute', 'supervisor.warning');
    expect(payload.code).toBe('Timeout');
    expect(payload.error).toContain('within 300 ms');
  });

  it('reports EmptyOutput with the exit code and quotes the stderr ring', async () => {
    const runtime = await start(config([shModule('moody', 'stderr-exit.sh', 'never', ['7'])]), { timeoutMs: 2000 });
    const payload = payloadOf<{ code: string; error: string }>(runtime, 'moody', 'supervisor.warning');
    expect(payload.code).toBe('EmptyOutput');
    expect(payload.error).toContain('exit code 7');
    expect(payload.error).toContain('first complaint from moody');
    expect(payload.error).toContain('fatal: cannot open /nonexistent/config.toml');
    expect(runtime.moduleStatus('moody')?.stderr).toEqual([
      'first complaint from moody',
      'second complaint',
      'fatal: cannot open /nonexistent/config.toml',
    ]);
  });

  it('rejects a bad first line with a normalization error quoting the line cut to 200 characters', async () => {
    const runtime = await start(config([shModule('junk', 'garbage.sh')]), { timeoutMs: 2000 });
    expect(runtime.loadedModules()).toEqual([]);
    const payload = payloadOf<{ code: string; error: string }>(runtime, 'junk', 'supervisor.warning');
    expect(payload.code).toBe('InvalidModuleOutput');
    expect(payload.error).toContain('not valid JSON');
    expect(payload.error).toContain('garbage-0 garbage-1');
    // The offending line (~309 chars) is quoted in backticks, cut to 200 characters plus an ellipsis.
    const quoted = /`(garbage-0[^`]*)`/.exec(payload.error)?.[1] ?? '';
    expect(quoted).toHaveLength(201);
    expect(quoted.endsWith('…')).toBe(true);
    expect(payload.error).not.toContain('garbage-29');
  });

  it('reports SpawnFailed for a command that does not exist', async () => {
    const runtime = await start(
      config([{ id: 'nope', command: '/nonexistent/binary', args: [], restartPolicy: 'never' }]),
      { timeoutMs: 1000 },
    );
    const payload = payloadOf<{ code: string; error: string }>(runtime, 'nope', 'supervisor.warning');
    expect(payload.code).toBe('SpawnFailed');
    expect(payload.error).toContain('/nonexistent/binary');
  });

  it('gives the module the parent env plus its pre-spawn env, without FORCE_COLOR', async () => {
    process.env.MOBKIT_TEST_PARENT = 'from-parent';
    process.env.FORCE_COLOR = 'true';
    try {
      const runtime = await start(
        config(
          [shModule('envy', 'env.sh')],
          ['envy'],
          [{ moduleId: 'envy', env: [['MOBKIT_TEST_VALUE', 'from-pre-spawn']] }],
        ),
        { timeoutMs: 2000 },
      );
      expect(payloadOf(runtime, 'envy')).toEqual({ env: 'from-pre-spawn', parent: 'from-parent', force_color: '' });
    } finally {
      delete process.env.MOBKIT_TEST_PARENT;
      delete process.env.FORCE_COLOR;
    }
  });

  it('merges agent events with module events in (timestamp, event_id, source) order', async () => {
    const agent = (id: string, ts: number) => ({
      eventId: id,
      source: 'agent' as const,
      timestampMs: ts,
      event: { kind: 'agent' as const, agentId: 'a-1', eventType: 'run_completed' },
    });
    const runtime = await start(config([shModule('mod', 'ready.sh')]), {
      timeoutMs: 2000,
      agentEvents: [agent('evt-agent-late', 100), agent('evt-agent-early', 1)],
    });
    expect(runtime.mergedEvents().map((e) => e.eventId)).toEqual([
      'evt-agent-early',
      'evt-mod-ready',
      'evt-agent-late',
    ]);
  });
});

describe('start-up edge cases', () => {
  it('reports EmptyOutput when the module exits while a child of it still holds stdout open', async () => {
    const runtime = await start(
      config([inlineModule('leaky', 'sleep 30 & echo "leaving a child behind" >&2; exit 5')]),
      { timeoutMs: 5000 },
    );
    const payload = payloadOf<{ code: string; error: string }>(runtime, 'leaky', 'supervisor.warning');
    expect(payload.code).toBe('EmptyOutput');
    expect(payload.error).toContain('exit code 5');
    expect(payload.error).toContain('leaving a child behind');
  });
});

describe('startConcurrency', () => {
  const ready = (id: string) =>
    `printf '{"event_id":"evt-${id}","source":"module","timestamp_ms":1,"module":"${id}","event_type":"ready","payload":null}\\n'; exec cat >/dev/null`;
  // "waiter" only gets ready once "marker" has started: that needs both to start at once.
  const modules = (dir: string) => [
    inlineModule('waiter', `while [ ! -f ${dir}/marker-started ]; do sleep 0.02; done; ${ready('waiter')}`),
    inlineModule('broken', 'exit 1', 'on_failure'),
    inlineModule('marker', `touch ${dir}/marker-started; ${ready('marker')}`),
  ];

  it('starts modules one after another by default (the waiter times out)', async () => {
    const runtime = await start(config(modules(tempDir())), { timeoutMs: 800, options: { onFailureRetryBudget: 0 } });
    expect(runtime.loadedModules()).toEqual(['marker']);
    expect(payloadOf<{ code: string }>(runtime, 'waiter', 'supervisor.warning').code).toBe('Timeout');
  });

  it('starts them together when asked, keeping transitions and shutdown in discovery order', async () => {
    const runtime = await start(config(modules(tempDir())), {
      timeoutMs: 3000,
      startConcurrency: 3,
      options: { onFailureRetryBudget: 1 },
    });
    expect(runtime.loadedModules()).toEqual(['marker', 'waiter']);
    expect(runtime.healthTransitions().map((t) => `${t.moduleId}:${t.to}`)).toEqual([
      'waiter:Starting',
      'waiter:Healthy',
      'broken:Starting',
      'broken:Failed',
      'broken:Restarting',
      'broken:Failed',
      'broken:Stopped',
      'marker:Starting',
      'marker:Healthy',
    ]);
    expect(await runtime.shutdown()).toEqual({ terminatedModules: ['marker', 'waiter'], orphanProcesses: 0 });
  });

  it('rejects a startConcurrency below 1', async () => {
    const error = await expectMobKitError(
      startModuleRuntime(config([]), { timeoutMs: 1000, startConcurrency: 0 }),
      'InvalidInput',
    );
    expect(error.message).toContain('startConcurrency');
  });
});
