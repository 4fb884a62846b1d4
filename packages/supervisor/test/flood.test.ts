import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import { config, moduleEvents, payloadOf, shModule, start, trackPids, waitFor } from './helpers.js';

describe('a module that floods stdout and stderr', () => {
  it('keeps memory bounded, keeps the runtime responsive, and still shuts it down cleanly', async () => {
    const runtime = await start(config([shModule('flood', 'flood.sh'), shModule('calm', 'ready.sh')]), {
      timeoutMs: 2000,
      maxMergedEvents: 500,
    });
    const pid = runtime.moduleStatus('flood')?.pid as number;
    trackPids(pid, runtime.moduleStatus('calm')?.pid);
    let seen = 0;
    runtime.subscribe(() => {
      seen += 1;
    });
    await waitFor('a flood of events', () => seen > 5000, 10_000);
    // The event loop is not starved: a timer fires promptly while the flood goes on.
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 10));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(runtime.mergedEvents().length).toBeLessThanOrEqual(500);
    expect(moduleEvents(runtime, 'flood', 'flood').length).toBeGreaterThan(0);
    const stderr = runtime.moduleStatus('flood')?.stderr ?? [];
    expect(stderr.length).toBeGreaterThan(0);
    expect(stderr.length).toBeLessThanOrEqual(41);
    expect(runtime.moduleStatus('flood')?.state).toBe('Healthy');
    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['calm', 'flood'], orphanProcesses: 0 });
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('drops an over-long line without newline and keeps going', async () => {
    const script =
      `printf '{"event_id":"evt-big-ready","source":"module","timestamp_ms":1,"module":"big","event_type":"ready","payload":null}\\n'; ` +
      `head -c 3000000 /dev/zero | tr '\\0' x; echo; ` +
      `printf '{"event_id":"evt-big-after","source":"module","timestamp_ms":2,"module":"big","event_type":"after","payload":{"ok":true}}\\n'; exec cat >/dev/null`;
    const runtime = await start(config([{ id: 'big', command: 'sh', args: ['-c', script], restartPolicy: 'never' }]), {
      timeoutMs: 2000,
    });
    trackPids(runtime.moduleStatus('big')?.pid);
    await waitFor('the event after the long line', () => moduleEvents(runtime, 'big', 'after').length === 1, 5000);
    const warning = payloadOf<{ error: string }>(runtime, 'big', 'supervisor.warning');
    expect(warning.error).toContain('longer than 1048576 bytes');
  });
});
