// SIGTERM to the app's pid alone (as a process manager or `docker stop` sends it): open SSE
// streams are ended, the modules stopped, exit 0, no process left. Runs the built entry
// (apps/reference-app/dist/main.js; `npm test` builds it first).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APP_DIR,
  FIXTURES,
  type ProcRef,
  type Started,
  childEnv,
  descendants,
  freePort,
  isAlive,
  killAll,
  startNode,
  waitFor,
} from './helpers.js';

describe('SIGTERM', () => {
  let started: Started | undefined;
  let procs: ProcRef[] = [];

  let dir = '';

  afterEach(() => {
    if (started?.child.pid !== undefined && started.child.exitCode === null) {
      try {
        process.kill(-started.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    killAll(procs);
    started = undefined;
    procs = [];
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('ends open streams, stops the modules and exits 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A copy of the config, so the SQLite store it keeps in <config>/data is this run's alone.
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-app-sigterm-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
    started = startNode([join(APP_DIR, 'dist', 'main.js'), '--config', dir], {
      cwd: APP_DIR,
      env: childEnv({ PORT: String(port) }),
    });
    const run = started;
    await waitFor(
      '/healthz',
      async () => {
        if (run.child.exitCode !== null) throw new Error(`exited early: ${run.output()}`);
        return fetch(`${base}/healthz`).then(
          (r) => (r.status === 200 ? true : undefined),
          () => undefined,
        );
      },
      30_000,
      run.output,
    );

    // A message from the host reaches the lead (what the banner suggests trying).
    const sent = await fetch(`${base}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'mobkit/send_message',
        params: { member_id: 'lead', message: 'hello' },
      }),
    });
    const reply = (await sent.json()) as { id: number; result?: unknown; error?: unknown };
    expect(reply.error).toBeUndefined();
    expect(reply.id).toBe(7);
    expect(JSON.stringify(reply.result)).toMatch(/[0-9a-f-]{36}/);

    // An open SSE client must not hold the shutdown up.
    const stream = await fetch(`${base}/mob/events`);
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const streamEnded = (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return true;
      }
    })();

    procs = descendants(run.child.pid as number);
    const commands = procs.map((p) => p.cmd).join('\n');
    for (const bin of ['mobkit-router', 'mobkit-delivery', 'mobkit-scheduling']) expect(commands).toContain(bin);
    expect(procs.length).toBeGreaterThanOrEqual(3);

    process.kill(run.child.pid as number, 'SIGTERM');
    const exit = await Promise.race([
      run.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no exit within 20 s\n${run.output()}`)), 20_000),
      ),
    ]);
    expect(exit, run.output()).toEqual({ code: 0, signal: null });
    expect(await streamEnded).toBe(true);
    expect(procs.filter(isAlive).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);
    expect(run.output()).toContain('SIGTERM received: shutting down');
  }, 60_000);
});
