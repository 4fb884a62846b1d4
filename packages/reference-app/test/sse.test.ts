// SSE semantics over a real socket: keep-alive comments, Last-Event-ID resume from the bounded replay
// buffer (mob and per-agent), a truncated replay, a slow client that never reads being dropped while a
// reading client keeps streaming, and streams closed by the router's AbortSignal.
import type { Server } from 'node:http';
import { type Socket, connect } from 'node:net';
import { TestClient } from '@mobkit/mob-adapter';
import { waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { SseDropInfo } from '../src/index.js';
import { SseReader, type TestApp, startTestApp } from './helpers.js';

const apps: TestApp[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const a of apps.splice(0)) await a.close();
});

async function start(options: Parameters<typeof startTestApp>[0]): Promise<TestApp> {
  const app = await startTestApp({ withModule: false, ...options });
  apps.push(app);
  return app;
}

async function open(
  app: TestApp,
  path: string,
  headers: Record<string, string> = {},
  controller = new AbortController(),
): Promise<{ sse: SseReader; controller: AbortController }> {
  const res = await fetch(`${app.url}${path}`, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const sse = new SseReader(res);
  await sse.until(() => sse.comments.includes('connected'), 5000, 'connected');
  return { sse, controller };
}

/** Counts the server's open connections from its own events (what `server.getConnections` reports). */
function trackConnections(server: Server): { readonly count: number } {
  const live = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    live.add(socket);
    socket.once('close', () => live.delete(socket));
  });
  return {
    get count() {
      return live.size;
    },
  };
}

const seqOf = (id: string | undefined) => Number(id?.slice(id.lastIndexOf(':') + 1));

describe('keep-alive', () => {
  it('sends `: keep-alive` comments at the configured interval on every SSE route', async () => {
    const app = await start({ router: { keepAliveMs: 100 } });
    const mob = await open(app, '/mob/events');
    const agent = await open(app, '/agents/lead-1/events');
    const interaction = await fetch(`${app.url}/interactions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"member_id":"worker-1"}',
    });
    const inter = new SseReader(interaction);
    for (const sse of [mob.sse, agent.sse, inter])
      await sse.until(() => sse.comments.filter((c) => c === 'keep-alive').length >= 2, 3000, 'two keep-alives');
    mob.controller.abort();
    agent.controller.abort();
    inter.cancel();
  });
});

describe('Last-Event-ID resume', () => {
  it('GET /mob/events resumes after the given id with exactly the events a connected client saw', async () => {
    const app = await start({});
    const witness = await open(app, '/mob/events');
    const first = await open(app, '/mob/events');
    await app.mob.sendMessage('worker-1', 'first');
    await first.sse.frame((f) => f.event === 'run_completed');
    const resumeId = first.sse.frames[1]?.id as string;
    expect(resumeId).toMatch(/^mob:\d+$/);
    first.controller.abort();

    // Events while the client is away.
    await app.mob.sendMessage('worker-2', 'while away');
    await witness.sse.until(
      () => witness.sse.frames.filter((f) => f.event === 'run_completed').length === 2,
      5000,
      'second run',
    );

    const resumed = await open(app, '/mob/events', { 'last-event-id': resumeId });
    const expected = witness.sse.frames.filter((f) => seqOf(f.id) > seqOf(resumeId)).map((f) => f.id);
    await resumed.sse.until(() => resumed.sse.frames.length >= expected.length, 5000, 'replay');
    expect(resumed.sse.frames.map((f) => f.id)).toEqual(expected);
    expect(resumed.sse.frames.some((f) => JSON.parse(f.data).member_id === 'worker-2')).toBe(true);

    // …and it goes on live after the replay, without duplicates.
    await app.mob.sendMessage('lead-1', 'live again');
    await resumed.sse.until(
      () => resumed.sse.frames.filter((f) => f.event === 'run_completed').length === 2,
      5000,
      'live run',
    );
    const ids = resumed.sse.frames.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    witness.controller.abort();
    resumed.controller.abort();
  });

  it('GET /agents/:id/events resumes with that member’s events only; ?last_event_id= works too', async () => {
    const app = await start({});
    const live = await open(app, '/agents/worker-1/events');
    await app.mob.sendMessage('worker-1', 'one');
    await live.sse.frame((f) => f.event === 'run_completed');
    const resumeId = live.sse.frames[0]?.id as string;
    expect(resumeId).toMatch(/^worker-1:\d+$/);
    live.controller.abort();
    await app.mob.sendMessage('lead-1', 'other member');
    await app.mob.sendMessage('worker-1', 'two');
    await app.mob.waitForIdle(5000);

    for (const how of ['header', 'query'] as const) {
      const resumed =
        how === 'header'
          ? await open(app, '/agents/worker-1/events', { 'last-event-id': resumeId })
          : await open(app, `/agents/worker-1/events?last_event_id=${encodeURIComponent(resumeId)}`);
      await resumed.sse.until(
        () => resumed.sse.frames.filter((f) => f.event === 'run_completed').length === 2,
        5000,
        `replay (${how})`,
      );
      expect(resumed.sse.frames[0]?.id).not.toBe(resumeId);
      expect(seqOf(resumed.sse.frames[0]?.id)).toBeGreaterThan(seqOf(resumeId));
      for (const f of resumed.sse.frames) expect(f.id).toMatch(/^worker-1:\d+$/);
      expect(resumed.sse.frames.filter((f) => f.event === 'run_started').map((f) => JSON.parse(f.data).prompt)).toEqual(
        ['two'],
      );
      resumed.controller.abort();
    }
  });

  it('the replay buffer is bounded: resuming from an evicted id says replay_truncated, then replays what is kept', async () => {
    const app = await start({ router: { replayBufferSize: 5 } });
    const witness = await open(app, '/mob/events');
    for (const [i, m] of ['a', 'b', 'c'].entries()) {
      await app.mob.sendMessage('worker-1', m);
      await witness.sse.until(
        () => witness.sse.frames.filter((f) => f.event === 'run_completed').length === i + 1,
        5000,
        `run ${m}`,
      );
    }
    expect(witness.sse.frames.length).toBeGreaterThan(5);
    const resumed = await open(app, '/mob/events', { 'last-event-id': witness.sse.frames[0]?.id as string });
    await resumed.sse.until(() => resumed.sse.frames.length >= 6, 5000, 'truncated replay');
    expect(resumed.sse.frames[0]?.event).toBe('replay_truncated');
    expect(resumed.sse.frames.slice(1).map((f) => f.id)).toEqual(witness.sse.frames.slice(-5).map((f) => f.id));
    // An id that is not this stream's (or garbage) is ignored: no replay, live only.
    const fresh = await open(app, '/mob/events', { 'last-event-id': 'worker-1:3' });
    await new Promise((r) => setTimeout(r, 100));
    expect(fresh.sse.frames).toEqual([]);
    for (const s of [witness, resumed, fresh]) s.controller.abort();
  });
});

describe('backpressure', () => {
  it.each([
    ['buffer_limit', 2 * 1024 * 1024, 60_000],
    ['drain_timeout', 256 * 1024 * 1024, 300],
  ] as const)(
    'drops a client that never reads (%s), while a reading client keeps streaming',
    async (reason, maxBufferedBytes, slowClientTimeoutMs) => {
      const drops: SseDropInfo[] = [];
      const app = await start({
        // Each run streams about 400 KB (delta, complete text and result of 128 KB each) to every client.
        llm: new TestClient({ text: 'x'.repeat(128 * 1024) }),
        router: { maxBufferedBytes, slowClientTimeoutMs, onStreamDropped: (d) => drops.push(d) },
      });
      const connections = trackConnections(app.server);
      const reader = await open(app, '/mob/events');
      const connectionsBefore = connections.count;
      expect(connectionsBefore).toBe(1);

      // A raw socket that sends the request and never reads a byte of the answer.
      const port = Number(new URL(app.url).port);
      const slow = connect({ host: '127.0.0.1', port });
      sockets.push(slow);
      slow.pause();
      await new Promise<void>((r) => slow.once('connect', () => r()));
      slow.write(`GET /mob/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      await waitFor('slow client connected', () => connections.count === connectionsBefore + 1, 5000);

      let runs = 0;
      while (drops.length === 0 && runs < 60) {
        await app.mob.sendMessage('worker-1', `flood ${runs}`);
        runs++;
        await reader.sse.until(
          () => reader.sse.frames.filter((f) => f.event === 'run_completed').length === runs,
          10_000,
          `run ${runs}`,
        );
        if (drops.length === 0) await new Promise((r) => setTimeout(r, reason === 'drain_timeout' ? 100 : 20));
      }
      await waitFor('the slow client to be dropped', () => drops.length > 0, 3000);
      expect(drops[0]?.route).toBe('/mob/events');
      expect(drops[0]?.reason).toBe(reason);
      expect(drops[0]?.bufferedBytes).toBeLessThanOrEqual(maxBufferedBytes);
      // The server let go of the slow connection; the reading client is still there and still streaming.
      await waitFor('slow connection closed', () => connections.count === connectionsBefore, 3000);
      expect(drops).toHaveLength(1);
      await app.mob.sendMessage('lead-1', 'after the drop');
      await reader.sse.until(
        () => reader.sse.frames.some((f) => f.event === 'run_completed' && JSON.parse(f.data).member_id === 'lead-1'),
        10_000,
        'reader still live',
      );
      reader.controller.abort();
    },
    20_000,
  );
});

describe('interaction stream with a message', () => {
  it('is not ended by a run already in progress, even one whose prompt contains the same text', async () => {
    const app = await start({ llm: TestClient.delayed(150) });
    const watch = await open(app, '/agents/lead-1/events');
    await app.mob.sendMessage('lead-1', 'a second opinion, please');
    await watch.sse.frame((f) => f.event === 'run_started');
    const res = await fetch(`${app.url}/interactions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member_id: 'lead-1', message: 'second' }),
    });
    const sse = new SseReader(res);
    await sse.end(5000);
    const runs = sse.frames.filter((f) => f.event === 'run_started').map((f) => JSON.parse(f.data).prompt);
    expect(runs).toEqual(['second']);
    expect(sse.frames.filter((f) => f.event === 'run_completed')).toHaveLength(2);
    expect(sse.frames.at(-1)?.event).toBe('run_completed');
    watch.controller.abort();
  });
});

describe('stream cap', () => {
  it('past maxStreams a new stream is 503 too_many_streams; closing one makes room again', async () => {
    const app = await start({ router: { maxStreams: 2 } });
    const first = await open(app, '/mob/events');
    const second = await open(app, '/agents/lead-1/events');
    for (const path of ['/mob/events', '/agents/worker-1/events']) {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.json()).toEqual({
        error: 'too_many_streams',
        message: 'at most 2 event streams may be open at once; close one and retry',
      });
    }
    const interaction = await fetch(`${app.url}/interactions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member_id: 'lead-1' }),
    });
    expect(interaction.status).toBe(503);
    // Once the server sees the first client go, a new stream fits again.
    first.controller.abort();
    const deadline = Date.now() + 5000;
    for (;;) {
      const controller = new AbortController();
      const res = await fetch(`${app.url}/mob/events`, { signal: controller.signal });
      if (res.status === 200) {
        controller.abort();
        break;
      }
      expect(res.status).toBe(503);
      await res.body?.cancel();
      if (Date.now() > deadline) throw new Error('no room for a stream after one closed');
      await new Promise((r) => setTimeout(r, 20));
    }
    second.controller.abort();
  });
});

describe('shutdown', () => {
  it('aborting the router signal ends open streams, and new streams get 503 shutting_down', async () => {
    const app = await start({});
    const s = await open(app, '/mob/events');
    app.controller.abort();
    await s.sse.end(3000);
    const res = await fetch(`${app.url}/mob/events`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'shutting_down', message: 'the server is shutting down' });
    const health = await fetch(`${app.url}/healthz`);
    expect(await health.text()).toBe('ok');
  });
});
