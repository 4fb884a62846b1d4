// Starts `npm start`'s entry the way the root README does (`node scripts/start.mjs`, which builds the
// app with Nx and runs apps/reference-app/dist/main.js), with a test config whose schedule fires
// every 2 s, then Ctrl-Cs it like a terminal would and checks that no process it started survived.
// Nx answers the build from its cache when `npm test` (which builds everything first) or an earlier
// run already built it; a cold build makes the first run slower.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  REPO_ROOT,
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

interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/** Reads SSE frames from `url` until `match` accepts one (or the timeout passes). */
async function waitForFrame(
  url: string,
  match: (frame: SseFrame) => boolean,
  timeoutMs: number,
): Promise<{ frame: SseFrame; seen: SseFrame[] }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const seen: SseFrame[] = [];
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before a matching frame; saw ${JSON.stringify(seen.slice(-5))}`);
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const frame: SseFrame = { data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') frame.id = value;
          else if (field === 'event') frame.event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length === 0) continue;
        frame.data = data.join('\n');
        seen.push(frame);
        if (match(frame)) {
          abort.abort();
          return { frame, seen };
        }
      }
    }
  } catch (error) {
    if (abort.signal.aborted)
      throw new Error(
        `no matching SSE frame from ${url} within ${timeoutMs} ms; saw ${JSON.stringify(seen.slice(-5))}`,
      );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function rpc(
  base: string,
  method: string,
  params: unknown,
): Promise<{ result?: Record<string, unknown>; error?: unknown }> {
  const response = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { result?: Record<string, unknown>; error?: unknown };
}

describe('npm start (scripts/start.mjs → apps/reference-app/dist/main.js)', () => {
  let started: Started | undefined;
  let seenProcs: ProcRef[] = [];
  let dir = '';

  afterEach(() => {
    if (started?.child.pid !== undefined && started.child.exitCode === null) {
      try {
        process.kill(-started.child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    killAll(seenProcs);
    started = undefined;
    seenProcs = [];
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('serves /healthz, runs the scheduled injection into a worker, and leaves no process behind after Ctrl-C', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A copy of the config, so the SQLite store it keeps in <config>/data is this run's alone.
    dir = mkdtempSync(join(tmpdir(), 'mobkit-npm-start-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
    started = startNode(['scripts/start.mjs', '--config', dir], {
      cwd: REPO_ROOT,
      env: childEnv({ PORT: String(port) }),
    });
    const run = started;
    const log = () => run.output().slice(-4000);

    await waitFor(
      '/healthz',
      async () => {
        if (run.child.exitCode !== null) throw new Error(`npm start exited early with ${run.child.exitCode}\n${log()}`);
        try {
          const response = await fetch(`${base}/healthz`);
          return response.status === 200 ? await response.text() : undefined;
        } catch {
          return undefined;
        }
      },
      150_000,
      log,
    ).then((body) => expect(body.trim()).toBe('ok'));

    // It printed the URL and what to try, and which LLM client it uses.
    expect(run.output()).toContain(`running at ${base}`);
    expect(run.output()).toContain(`${base}/console`);
    expect(run.output()).toContain('mobkit/status');
    expect(run.output()).toContain('TestClient (MOBKIT_LLM=test)');

    // The console page and its script are served.
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const script = /src="(\/console\/assets\/[^"]+)"/.exec(await page.text())?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${base}${script}`)).status).toBe(200);

    // The runtime answers over /rpc with the three modules loaded and the three members spawned.
    const status = await rpc(base, 'mobkit/status', {});
    expect(status.error).toBeUndefined();
    expect(JSON.stringify(status.result)).toContain('scheduling');
    const members = await rpc(base, 'mobkit/list_members', {});
    expect(JSON.stringify(members.result)).toMatch(/worker-1/);

    // The `*/2s` schedule injects its message into worker-1: its turn shows up on the live stream.
    const { frame } = await waitForFrame(
      `${base}/mob/events`,
      (f) => f.data.includes('fixture-tick:fast') && f.data.includes('worker-1'),
      15_000,
    );
    expect(frame.id).toMatch(/^[1-9]\d*$/); // the durable log seq
    const agentEvents = await rpc(base, 'mobkit/events/subscribe', { scope: 'agent', agent_id: 'worker-1' });
    expect((agentEvents.result?.events as unknown[] | undefined)?.length ?? 0).toBeGreaterThan(0);

    // Every process npm start started: the app, and the router, delivery and scheduling modules
    // (own process groups, so a terminal's Ctrl-C does not reach them; the app must stop them).
    seenProcs = descendants(run.child.pid as number);
    const commands = seenProcs.map((p) => p.cmd).join('\n');
    expect(commands).toContain('dist/main.js');
    expect(commands).toContain('mobkit-router');
    expect(commands).toContain('mobkit-delivery');
    expect(commands).toContain('mobkit-scheduling');

    // Ctrl-C: SIGINT to the foreground process group (start.mjs and the app, like a terminal).
    process.kill(-(run.child.pid as number), 'SIGINT');
    const exit = await Promise.race([
      run.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within 25 s\n${log()}`)), 25_000)),
    ]);
    expect(exit, log()).toEqual({ code: 0, signal: null });
    expect(seenProcs.filter(isAlive).map((p) => `${p.pid} ${p.cmd}`)).toEqual([]);

    // In order: HTTP first, then the runtime.
    const out = run.output();
    expect(out.indexOf('stopping HTTP')).toBeGreaterThan(0);
    expect(out.indexOf('shutting down the runtime')).toBeGreaterThan(out.indexOf('stopping HTTP'));
    expect(out).toContain('"orphanProcesses":0');
  }, 200_000);
});
