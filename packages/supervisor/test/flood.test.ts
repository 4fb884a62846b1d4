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
    // The event loop is not starved: stdout is handled one pipe chunk (≤ 64 KiB, a few ms of work) at
    // a time, so a 10 ms timer is late by about one chunk while the flood goes on. Measured on the
    // shared 2-core machine at load 13: median 13–29 ms, worst single timer 156 ms. The bounds leave
    // room for that load; a reader that held the loop for a whole flood would miss both.
    const lateness: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 10));
      lateness.push(performance.now() - t0);
    }
    lateness.sort((a, b) => a - b);
    expect(lateness[10], `median of ${lateness.map((ms) => ms.toFixed(0)).join(', ')} ms`).toBeLessThan(75);
    expect(lateness[19], `slowest of ${lateness.map((ms) => ms.toFixed(0)).join(', ')} ms`).toBeLessThan(500);
    expect(seen, 'the flood went on while the timers ran').toBeGreaterThan(5000 + 20 * 100);
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
