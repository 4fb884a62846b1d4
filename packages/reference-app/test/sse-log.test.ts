// SSE resume from a durable event log (the memory adapter of @mobkit/store behind a log-backed surface):
// ids are the log's seqs, resume anywhere within retention is gapless, the replay/live seam has no gap and
// no duplicate while events keep coming, a cursor the log cannot serve gets replay_truncated and then the
// rest, per-agent streams filter, a restarted app resumes the same ids, and frames written together per
// tick keep their boundaries.
import { type Socket, connect } from 'node:net';
import type { MobKitStore } from '@mobkit/core';
import { waitFor } from '@mobkit/test-utils';
import { createMemoryStore } from '@mobkit/store';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSseFrame } from '../src/index.js';
import { REPLAY_PAGE_SIZE } from '../src/resume.js';
import { SseReader } from './helpers.js';
import { type LogApp, type LogSurface, type PublishedEvent, logSurface, startLogApp } from './log-surface.js';

const apps: LogApp[] = [];
const stores: MobKitStore[] = [];
const readers: SseReader[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const r of readers.splice(0)) r.cancel();
  for (const s of sockets.splice(0)) s.destroy();
  for (const a of apps.splice(0)) await a.close();
  for (const s of stores.splice(0)) await s.close();
});

async function setup(): Promise<{ store: MobKitStore; log: LogSurface; app: LogApp }> {
  const store = createMemoryStore();
  stores.push(store);
  const log = logSurface(store.events, store.info);
  const app = await startLogApp(log.surface);
  apps.push(app);
  return { store, log, app };
}

async function open(app: LogApp, path: string, lastEventId?: string): Promise<SseReader> {
  const res = await fetch(`${app.url}${path}`, {
    headers: { accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
  });
  expect(res.status).toBe(200);
  const sse = new SseReader(res);
  readers.push(sse);
  await sse.until(() => sse.comments.includes('connected'), 5000, 'connected');
  return sse;
}

/** `n` agent events round-robin over the members, each followed by a module event (so agent seqs skip). */
function burst(n: number, tag = 'e'): PublishedEvent[] {
  const members = ['lead-1', 'worker-1', 'worker-2'];
  return Array.from({ length: n }, (_, i) => [
    {
      memberId: members[i % members.length] as string,
      type: 'text_delta',
      payload: { type: 'text_delta', delta: `${tag}${i}` },
    },
    { type: 'module_heartbeat' },
  ]).flat();
}

const seqs = (sse: SseReader) => sse.frames.filter((f) => f.event !== 'replay_truncated').map((f) => Number(f.id));

describe('SSE resume from the event log', () => {
  it('uses the log seq as the id, and resumes mid-stream gapless over several pages, then follows live', async () => {
    const { log, app } = await setup();
    const published = await log.publish(burst(REPLAY_PAGE_SIZE * 2 + 100));
    const cursor = published[41]?.seq as number;
    const sse = await open(app, '/mob/events', String(cursor));
    const expected = published.filter((e) => e.seq > cursor).map((e) => e.seq);
    await sse.until(() => sse.frames.length >= expected.length, 10_000, 'the replay');
    const live = await log.publish(burst(5, 'live'));
    await sse.until(() => sse.frames.length >= expected.length + 5, 5000, 'live events');
    expect(seqs(sse)).toEqual([...expected, ...live.map((e) => e.seq)]);
    // Ids are plain seqs that skip the module events' numbers.
    expect(sse.frames.every((f) => /^\d+$/.test(f.id ?? ''))).toBe(true);
    expect(Number(sse.frames[1]?.id) - Number(sse.frames[0]?.id)).toBe(2);
    const first = sse.frames[0];
    expect(JSON.parse(first?.data ?? '{}')).toMatchObject({
      member_id: published[42]?.memberId,
      source: 'agent',
      payload: published[42]?.payload,
    });
    expect(log.reads).toBeGreaterThanOrEqual(3);
  });

  it('has no gap and no duplicate at the seam while events are published during every read', async () => {
    const { log, app } = await setup();
    const before = await log.publish(burst(REPLAY_PAGE_SIZE + 10));
    const duringReads: number[] = [];
    let n = 0;
    // An event appended before a read's query is in the read AND delivered live (a duplicate if the seam
    // were naive); one appended after the query is only live (a gap if live events were not held).
    log.hooks.beforeQuery = async () => {
      for (const e of await log.publish(burst(2, `pre${n++}`))) duringReads.push(e.seq);
    };
    log.hooks.afterQuery = async () => {
      for (const e of await log.publish(burst(2, `post${n++}`))) duringReads.push(e.seq);
    };
    const cursor = before[3]?.seq as number;
    const sse = await open(app, '/mob/events', String(cursor));
    const readsAtSeam = () => log.reads;
    await sse.until(() => seqs(sse).at(-1) === duringReads.at(-1), 10_000, 'the replay and the held events');
    log.hooks.beforeQuery = undefined;
    log.hooks.afterQuery = undefined;
    expect(readsAtSeam()).toBeGreaterThanOrEqual(2);
    const after = await log.publish(burst(3, 'after'));
    await sse.until(() => seqs(sse).at(-1) === after.at(-1)?.seq, 5000, 'live events after the seam');
    const expected = [
      ...before.filter((e) => e.seq > cursor).map((e) => e.seq),
      ...duringReads,
      ...after.map((e) => e.seq),
    ];
    expect(seqs(sse)).toEqual([...expected].sort((a, b) => a - b));
    expect(new Set(seqs(sse)).size).toBe(seqs(sse).length);
  });

  it('sends replay_truncated for a cursor older than retention, then every event kept, then live', async () => {
    const { store, log, app } = await setup();
    const published = await log.publish(burst(30));
    await store.events.prune({ maxRows: 20 });
    const { firstSeq } = await store.events.bounds();
    const sse = await open(app, '/mob/events', '3');
    const kept = published.filter((e) => e.seq >= firstSeq).map((e) => e.seq);
    await sse.until(() => sse.frames.length >= kept.length + 1, 5000, 'the truncated replay');
    expect(sse.frames[0]).toMatchObject({ event: 'replay_truncated' });
    expect(JSON.parse(sse.frames[0]?.data ?? '{}')).toEqual({ type: 'replay_truncated', last_event_id: '3' });
    const live = await log.publish(burst(1, 'live'));
    await sse.until(() => seqs(sse).at(-1) === live[0]?.seq, 5000, 'live');
    expect(seqs(sse)).toEqual([...kept, live[0]?.seq]);

    // The oldest cursor that is still served (firstSeq − 1) is not truncated.
    const edge = await open(app, '/mob/events', String(firstSeq - 1));
    await edge.until(() => edge.frames.length >= kept.length + 1, 5000, 'the edge replay');
    expect(edge.frames.some((f) => f.event === 'replay_truncated')).toBe(false);
    expect(seqs(edge)).toEqual([...kept, live[0]?.seq]);
  });

  it('treats an old-format, unparsable or future id as a cursor older than retention', async () => {
    const { log, app } = await setup();
    const published = await log.publish(burst(4));
    const all = published.map((e) => e.seq);
    for (const id of ['mob:2', 'worker-1:2', 'not-a-seq', '99999']) {
      const sse = await open(app, '/mob/events', id);
      await sse.until(() => sse.frames.length >= all.length + 1, 5000, `the replay after ${id}`);
      expect(sse.frames[0]?.event).toBe('replay_truncated');
      expect(JSON.parse(sse.frames[0]?.data ?? '{}').last_event_id).toBe(id);
      expect(seqs(sse)).toEqual(all);
      sse.cancel();
    }
  });

  it('ends the stream with replay_failed (the store error code) when the log cannot be read', async () => {
    const { store, log, app } = await setup();
    await log.publish(burst(3));
    await store.close();
    const sse = await open(app, '/mob/events', '1');
    await sse.end();
    expect(sse.frames).toHaveLength(1);
    expect(sse.frames[0]?.event).toBe('replay_failed');
    expect(JSON.parse(sse.frames[0]?.data ?? '{}')).toEqual({
      type: 'replay_failed',
      last_event_id: '1',
      error: 'store_closed',
    });
  });

  it('GET /agents/:id/events resumes with that member’s events only (?last_event_id= too), data the AgentEvent', async () => {
    const { log, app } = await setup();
    const published = await log.publish(burst(40));
    const mine = published.filter((e) => e.memberId === 'worker-1');
    const cursor = mine[4]?.seq as number;
    const res = await fetch(`${app.url}/agents/worker-1/events?last_event_id=${cursor}`, {
      headers: { accept: 'text/event-stream' },
    });
    const sse = new SseReader(res);
    readers.push(sse);
    const expected = mine.filter((e) => e.seq > cursor);
    await sse.until(() => sse.frames.length >= expected.length, 5000, 'the member replay');
    await log.publish([
      { memberId: 'lead-1', type: 'text_delta', payload: { type: 'text_delta', delta: 'not mine' } },
      { memberId: 'worker-1', type: 'run_completed', payload: { type: 'run_completed' } },
    ]);
    await sse.until(() => sse.frames.at(-1)?.event === 'run_completed', 5000, 'the live event');
    expect(sse.frames.slice(0, expected.length).map((f) => [Number(f.id), JSON.parse(f.data)])).toEqual(
      expected.map((e) => [e.seq, e.payload]),
    );
    expect(sse.frames).toHaveLength(expected.length + 1);
  });

  it('resumes the same ids on an app restarted over the same store', async () => {
    const { store, log, app } = await setup();
    const published = await log.publish(burst(12));
    const sse = await open(app, '/mob/events');
    const live = await log.publish(burst(3, 'seen'));
    await sse.until(() => sse.frames.length >= 3, 5000, 'live');
    const lastId = sse.frames.at(-1)?.id as string;
    await app.close();
    apps.splice(apps.indexOf(app), 1);

    const log2 = logSurface(store.events, store.info);
    const app2 = await startLogApp(log2.surface);
    apps.push(app2);
    const later = await log2.publish(burst(4, 'after-restart'));
    const resumed = await open(app2, '/mob/events', lastId);
    await resumed.until(() => resumed.frames.length >= later.length, 5000, 'the resumed replay');
    expect(resumed.frames.some((f) => f.event === 'replay_truncated')).toBe(false);
    expect(seqs(resumed)).toEqual(later.map((e) => e.seq));
    expect(Number(lastId)).toBe(live.at(-1)?.seq);
    expect(Number(lastId)).toBeGreaterThan(published.at(-1)?.seq as number);
  });

  it('ends POST /interactions/stream at the run’s terminal event, with log seq ids', async () => {
    const { log, app } = await setup();
    await log.publish(burst(3));
    const res = await fetch(`${app.url}/interactions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"member_id":"worker-1"}',
    });
    const sse = new SseReader(res);
    readers.push(sse);
    await sse.frame((f) => f.event === 'subscribed');
    const [started, done] = await log.publish([
      { memberId: 'worker-1', type: 'run_started', payload: { type: 'run_started' } },
      { type: 'module_heartbeat' },
      { memberId: 'worker-1', type: 'run_completed', payload: { type: 'run_completed' } },
    ]);
    await sse.end();
    expect(sse.frames.filter((f) => f.id !== undefined).map((f) => Number(f.id))).toEqual([started?.seq, done?.seq]);
  });
});

describe('frames written together per tick', () => {
  it('keep every frame whole and in order on the wire, one after another (small and large frames in one burst)', {
    timeout: 20_000,
  }, async () => {
    const { log, app } = await setup();
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    sockets.push(socket);
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
    });
    socket.write(
      `GET /mob/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
    );
    await waitFor('the stream head', () => raw.includes(': connected'));
    const events = Array.from({ length: 200 }, (_, i) => ({
      memberId: 'worker-1',
      type: 'text_delta',
      payload: { type: 'text_delta', delta: `line ${i}\nsecond line\r\n${'x'.repeat(i * 37)}` },
    }));
    const published = await log.publish(events);
    const expected = published
      .map((e) =>
        formatSseFrame({
          id: String(e.seq),
          event: e.type,
          data: JSON.stringify({
            member_id: e.memberId,
            source: 'agent',
            payload: e.payload,
            timestamp_ms: e.timestampMs,
          }),
        }),
      )
      .join('');
    // The body is chunked: decode the chunks, then compare the SSE text byte for byte.
    const body = () => {
      const start = raw.indexOf('\r\n\r\n') + 4;
      let out = '';
      let i = start;
      for (;;) {
        const eol = raw.indexOf('\r\n', i);
        if (eol < 0) break;
        const size = Number.parseInt(raw.slice(i, eol), 16);
        if (Number.isNaN(size) || raw.length < eol + 2 + size + 2) break;
        out += raw.slice(eol + 2, eol + 2 + size);
        i = eol + 2 + size + 2;
      }
      return out;
    };
    await waitFor('every frame', () => body().length >= expected.length, 10_000).catch(() => undefined);
    expect(body()).toBe(`retry: 3000\n: connected\n\n${expected}`);
  });
});
