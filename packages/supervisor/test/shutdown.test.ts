import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { config, moduleEvents, payloadOf, shModule, start, tempDir, trackPids } from './helpers.js';

describe('ordered shutdown and orphan accounting', () => {
  it('kills a module together with its own children (sleep 60 & wait) and counts no orphans', async () => {
    const runtime = await start(config([shModule('parent', 'grandchild.sh')]), { timeoutMs: 2000 });
    const { pid, child } = payloadOf<{ pid: number; child: number }>(runtime, 'parent');
    trackPids(pid, child);
    expect(isProcessAlive(pid)).toBe(true);
    expect(isProcessAlive(child)).toBe(true);
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['parent'], orphanProcesses: 0 });
    // A killed grandchild may linger as a zombie (PID 1 does not reap here): it counts as gone.
    expect(isProcessAlive(pid)).toBe(false);
    expect(isProcessAlive(child)).toBe(false);
  });

  it('SIGKILLs the whole group after the grace period when SIGTERM is ignored', async () => {
    const runtime = await start(config([shModule('stubborn', 'ignore-term.sh')]), {
      timeoutMs: 2000,
      options: { shutdownGraceMs: 300 },
    });
    const { pid, child } = payloadOf<{ pid: number; child: number }>(runtime, 'stubborn');
    trackPids(pid, child);
    const t0 = performance.now();
    const report = await runtime.shutdown();
    const took = performance.now() - t0;
    expect(report.orphanProcesses).toBe(0);
    expect(took).toBeGreaterThanOrEqual(290); // it waited for the grace period before SIGKILL
    expect(isProcessAlive(pid)).toBe(false);
    expect(isProcessAlive(child)).toBe(false);
  });

  it('stops modules in reverse start order', async () => {
    // Each module appends its id to a shared file when it gets SIGTERM, then exits.
    const file = join(tempDir(), 'order');
    const script = (id: string) =>
      `trap 'echo ${id} >> ${file}; exit 0' TERM; printf '{"event_id":"evt-${id}","source":"module","timestamp_ms":1,"module":"${id}","event_type":"ready","payload":null}\\n'; while :; do sleep 0.05; done`;
    const modules = ['first', 'second', 'third'].map((id) => ({
      id,
      command: 'sh',
      args: ['-c', script(id)],
      restartPolicy: 'never' as const,
    }));
    const runtime = await start(config(modules), { timeoutMs: 2000, options: { shutdownGraceMs: 1000 } });
    for (const id of ['first', 'second', 'third']) trackPids(runtime.moduleStatus(id)?.pid);
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['first', 'second', 'third'], orphanProcesses: 0 });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toEqual(['third', 'second', 'first']);
  });

  it('is idempotent and refuses work afterwards', async () => {
    const runtime = await start(config([shModule('once', 'ready.sh')]), { timeoutMs: 2000 });
    const first = await runtime.shutdown();
    const second = await runtime.shutdown();
    expect(second).toBe(first);
    expect(runtime.loadedModules()).toEqual([]);
    await expect(runtime.spawnMember('once', 1000)).rejects.toMatchObject({ code: 'RuntimeNotRunning' });
    expect(runtime.lifecycleEvents().filter((e) => e.stage === 'ShutdownComplete')).toHaveLength(1);
    expect(moduleEvents(runtime, 'once', 'supervisor.health')).toHaveLength(0); // shutdown is not a crash
  });
});
