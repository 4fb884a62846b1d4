import { describe, expect, it, vi } from 'vitest';
import { ManualClock, MobKitError, isMobKitError } from '@mobkit/core';
import { Issuer, advanceOnSleep, codeOf } from '../test/fixtures.js';
import {
  DELIVERY_ID_PATTERN,
  DeliveryService,
  MemoryLedger,
  MemorySink,
  MobMemberSink,
  SinkError,
  deliveryRecordToWire,
  parseDeliveryRecord,
  type DeliveryResolution,
  type DeliverySendEvent,
  type SinkAdapter,
  type SinkMessage,
  type SinkOutcome,
} from './index.js';

function setup(
  options: {
    sinks?: Record<string, SinkAdapter>;
    clock?: ManualClock;
    historyLimit?: number;
    idempotencyKeyLimit?: number;
    idempotencyKeyTtlMs?: number;
    inFlight?: 'wait' | 'reject';
  } = {},
) {
  const issuer = new Issuer();
  const memory = new MemorySink();
  const clock = options.clock ?? new ManualClock(0);
  const sleeps = advanceOnSleep(clock);
  const events: DeliverySendEvent[] = [];
  const delivery = new DeliveryService({
    sinks: options.sinks ?? { memory, email: memory },
    trusted: issuer,
    clock,
    emit: (e) => events.push(e),
    ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
    ...(options.idempotencyKeyLimit === undefined ? {} : { idempotencyKeyLimit: options.idempotencyKeyLimit }),
    ...(options.idempotencyKeyTtlMs === undefined ? {} : { idempotencyKeyTtlMs: options.idempotencyKeyTtlMs }),
    ...(options.inFlight === undefined ? {} : { inFlight: options.inFlight }),
  });
  return { issuer, memory, clock, sleeps, events, delivery };
}

describe('send: trust checks in order', () => {
  it('sends an issued resolution once through the sink', async () => {
    const { issuer, memory, delivery } = setup();
    const r = issuer.issue({ recipient: 'user@example.com' });
    const record = await delivery.send({ resolution: r, payload: { text: 'hi' }, idempotencyKey: 'k1' });
    expect(record).toMatchObject({
      deliveryId: expect.stringMatching(DELIVERY_ID_PATTERN),
      routeId: r.routeId,
      status: 'sent',
      sinkAdapter: 'memory',
      idempotencyKey: 'k1',
    });
    expect(record.attempts).toEqual([{ attempt: 1, status: 'sent', atMs: 0, backoffMs: 0 }]);
    expect(memory.messages).toHaveLength(1);
    expect(memory.messages[0]).toMatchObject({
      recipient: 'user@example.com',
      payload: { text: 'hi' },
      idempotencyKey: 'k1',
      attempt: 1,
    });
  });

  it('UnknownRouteId for a resolution never issued, InvalidRouteId for a blank id', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a' });
    expect(await codeOf(delivery.send({ resolution: { ...r, routeId: 'route-999999' }, payload: 1 }))).toBe(
      'UnknownRouteId',
    );
    expect(await codeOf(delivery.send({ resolution: { ...r, routeId: '  ' }, payload: 1 }))).toBe('InvalidRouteId');
    expect(memory.attempts).toHaveLength(0);
  });

  const alterations: Array<[string, Partial<DeliveryResolution>]> = [
    ['recipient', { recipient: 'attacker@example.com' }],
    ['channel', { channel: 'sms' }],
    ['sink', { sink: 'email' }],
    ['target_module', { targetModule: 'other' }],
    ['retry_max', { retryMax: 9 }],
    ['backoff_ms', { backoffMs: 1 }],
    ['rate_limit_per_minute', { rateLimitPerMinute: 1000 }],
  ];
  it.each(alterations)('ForgedResolution when only %s differs', async (field, change) => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'user@example.com' });
    try {
      await delivery.send({ resolution: { ...r, ...change }, payload: { x: 1 }, idempotencyKey: 'k' });
      expect.unreachable();
    } catch (error) {
      expect(isMobKitError(error, 'ForgedResolution')).toBe(true);
      expect((error as { details: { fields: string[] } }).details.fields).toEqual([field]);
      expect((error as Error).message).toContain(field);
    }
    expect(memory.attempts).toHaveLength(0);
  });

  it('InvalidRouteTarget when the issued resolution targets another module, before the key check', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a', targetModule: 'pager' });
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: '  ' }))).toBe('InvalidRouteTarget');
  });

  it('checks forgery before the target and the key', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a', targetModule: 'pager' });
    expect(await codeOf(delivery.send({ resolution: { ...r, sink: 'x' }, payload: 1, idempotencyKey: ' ' }))).toBe(
      'ForgedResolution',
    );
  });

  it('InvalidIdempotencyKey for a blank key; no key means no idempotency', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a' });
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: ' \t' }))).toBe(
      'InvalidIdempotencyKey',
    );
    await delivery.send({ resolution: r, payload: 1 });
    await delivery.send({ resolution: r, payload: 1 });
    expect(memory.messages).toHaveLength(2);
  });

  it('InvalidInput for a missing or non-JSON payload', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a' });
    expect(await codeOf(delivery.send({ resolution: r, payload: undefined }))).toBe('InvalidInput');
    expect(await codeOf(delivery.send({ resolution: r, payload: { n: 1n } }))).toBe('InvalidInput');
    expect(await codeOf(delivery.send({ resolution: r, payload: { n: 1n }, idempotencyKey: 'k' }))).toBe(
      'InvalidInput',
    );
    expect(await codeOf(delivery.send({ resolution: r, payload: () => 1 }))).toBe('InvalidInput');
  });

  it('UnknownSink when no adapter carries the sink name', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a', sink: 'carrier-pigeon' });
    expect(await codeOf(delivery.send({ resolution: r, payload: 1 }))).toBe('UnknownSink');
  });

  it('a fallback sink carries sink names without an adapter of their own; named adapters still win', async () => {
    const issuer = new Issuer();
    const memory = new MemorySink();
    const fallback = new MemorySink();
    const delivery = new DeliveryService({ sinks: { memory }, fallbackSink: fallback, trusted: issuer });
    const pigeon = await delivery.send({
      resolution: issuer.issue({ recipient: 'a', sink: 'carrier-pigeon' }),
      payload: 1,
    });
    expect(pigeon.status).toBe('sent');
    expect(fallback.messages.map((m) => m.sink)).toEqual(['carrier-pigeon']);
    await delivery.send({ resolution: issuer.issue({ recipient: 'b', sink: 'memory' }), payload: 2 });
    expect(memory.messages.map((m) => m.recipient)).toEqual(['b']);
    expect(fallback.messages).toHaveLength(1);
  });

  it('DeliveryModuleNotLoaded when loadedModules lacks delivery', async () => {
    const issuer = new Issuer();
    const delivery = new DeliveryService({
      sinks: { memory: new MemorySink() },
      trusted: issuer,
      loadedModules: ['router'],
    });
    expect(await codeOf(delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload: 1 }))).toBe(
      'DeliveryModuleNotLoaded',
    );
  });
});

describe('idempotency scoped by route_id:key', () => {
  it('same key and payload → the identical record, no new attempt, no new history entry', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a' });
    const first = await delivery.send({ resolution: r, payload: { b: 2, a: 1 }, idempotencyKey: 'k' });
    const again = await delivery.send({ resolution: r, payload: { a: 1, b: 2 }, idempotencyKey: ' k ' });
    expect(again).toBe(first);
    expect(memory.attempts).toHaveLength(1);
    expect(delivery.history()).toHaveLength(1);
  });

  it('different payload → IdempotencyPayloadMismatch', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a' });
    await delivery.send({ resolution: r, payload: { a: 1 }, idempotencyKey: 'k' });
    expect(await codeOf(delivery.send({ resolution: r, payload: { a: 2 }, idempotencyKey: 'k' }))).toBe(
      'IdempotencyPayloadMismatch',
    );
  });

  it('the same key on another route is another delivery', async () => {
    const { issuer, delivery, memory } = setup();
    await delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload: 1, idempotencyKey: 'k' });
    await delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload: 1, idempotencyKey: 'k' });
    expect(memory.messages).toHaveLength(2);
  });

  it('replays after routing forgot the route (canonical copy kept with the key), but forged fields still fail', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a' });
    const first = await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    issuer.forget(r.routeId);
    expect(await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).toBe(first);
    expect(await codeOf(delivery.send({ resolution: { ...r, recipient: 'b' }, payload: 1, idempotencyKey: 'k' }))).toBe(
      'ForgedResolution',
    );
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: 'other' }))).toBe('UnknownRouteId');
    expect(memory.attempts).toHaveLength(1);
  });

  it('a duplicate while the first is in flight waits for it: one attempt, same record', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: SinkMessage[] = [];
    const slow: SinkAdapter = {
      adapter: 'slow',
      async send(message) {
        calls.push(message);
        await gate;
        return { ok: true };
      },
    };
    const { issuer, delivery } = setup({ sinks: { memory: slow } });
    const r = issuer.issue({ recipient: 'a' });
    const a = delivery.send({ resolution: r, payload: { n: 1 }, idempotencyKey: 'k' });
    const b = delivery.send({ resolution: r, payload: { n: 1 }, idempotencyKey: 'k' });
    expect(await codeOf(delivery.send({ resolution: r, payload: { n: 2 }, idempotencyKey: 'k' }))).toBe(
      'IdempotencyPayloadMismatch',
    );
    release();
    const [ra, rb] = await Promise.all([a, b]);
    expect(rb).toBe(ra);
    expect(calls).toHaveLength(1);
  });

  it('inFlight: "reject" fails a duplicate with IdempotencyInFlight instead of waiting', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: SinkAdapter = {
      adapter: 'slow',
      send: async () => {
        await gate;
        return { ok: true };
      },
    };
    const { issuer, delivery } = setup({ sinks: { memory: slow }, inFlight: 'reject' });
    const r = issuer.issue({ recipient: 'a' });
    const a = delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' }))).toBe('IdempotencyInFlight');
    release();
    expect((await a).status).toBe('sent');
  });
});

describe('rate limit per (route, recipient, sink) per minute window (fake clock)', () => {
  it('third send in window 0 fails with the spec message; the next window allows again', async () => {
    const clock = new ManualClock(0);
    const { issuer, delivery } = setup({ clock });
    const r = issuer.issue({ recipient: 'user@example.com', sink: 'email', rateLimitPerMinute: 2 });
    await delivery.send({ resolution: r, payload: 1 });
    clock.advance(59_000);
    await delivery.send({ resolution: r, payload: 2 });
    try {
      await delivery.send({ resolution: r, payload: 3 });
      expect.unreachable();
    } catch (error) {
      expect(isMobKitError(error, 'RateLimited')).toBe(true);
      expect((error as Error).message).toBe("rate limit exceeded for sink 'email' at window 0 (limit=2)");
      expect((error as { details: unknown }).details).toMatchObject({
        sink: 'email',
        window_start_ms: 0,
        limit: 2,
        retry_after_ms: 1_000,
      });
    }
    clock.advance(1_000); // 60 000: window 60000
    await delivery.send({ resolution: r, payload: 4 });
    await delivery.send({ resolution: r, payload: 5 });
    expect(await codeOf(delivery.send({ resolution: r, payload: 6 }))).toBe('RateLimited');
    clock.advance(60_000 * 5);
    expect((await delivery.send({ resolution: r, payload: 7 })).status).toBe('sent');
  });

  it('windows are relative to the service start', async () => {
    const clock = new ManualClock(1_700_000_030_000);
    const { issuer, delivery } = setup({ clock });
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1 });
    await delivery.send({ resolution: r, payload: 1 });
    clock.advance(60_000);
    try {
      await delivery.send({ resolution: r, payload: 2 });
    } catch (error) {
      expect.unreachable(`window should have moved: ${String(error)}`);
    }
    clock.advance(1);
    await expect(delivery.send({ resolution: r, payload: 3 })).rejects.toThrow(
      "rate limit exceeded for sink 'memory' at window 60000 (limit=1)",
    );
  });

  it('failed sends and idempotent replays do not consume quota; routes are isolated', async () => {
    const { issuer, delivery } = setup();
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1, retryMax: 0 });
    const failed = await delivery.send({ resolution: r, payload: { force_fail: true } });
    expect(failed.status).toBe('failed');
    const ok = await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    expect(ok.status).toBe('sent');
    expect(await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).toBe(ok);
    expect(await codeOf(delivery.send({ resolution: r, payload: 2 }))).toBe('RateLimited');
    const other = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1 });
    expect((await delivery.send({ resolution: other, payload: 2 })).status).toBe('sent');
  });

  it('forgets counters older than the previous window', async () => {
    const clock = new ManualClock(0);
    const { issuer, delivery } = setup({ clock });
    for (let i = 0; i < 5; i++) await delivery.send({ resolution: issuer.issue({ recipient: `r${i}` }), payload: i });
    expect(delivery.rateCounterCount).toBe(5);
    clock.advance(60_000);
    await delivery.send({ resolution: issuer.issue({ recipient: 'x' }), payload: 0 });
    expect(delivery.rateCounterCount).toBe(6); // window 0 is the previous window: kept
    clock.advance(60_000);
    await delivery.send({ resolution: issuer.issue({ recipient: 'y' }), payload: 0 });
    expect(delivery.rateCounterCount).toBe(2); // window 0 dropped
  });

  it('concurrent sends cannot overshoot the limit', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 3 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => delivery.send({ resolution: r, payload: i })),
    );
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(3);
    expect(memory.messages).toHaveLength(3);
  });
});

describe('real attempts with growing backoff', () => {
  function scripted(outcomes: SinkOutcome[]): SinkAdapter & { calls: number } {
    const sink = {
      adapter: 'scripted',
      calls: 0,
      async send(): Promise<SinkOutcome> {
        const o = outcomes[sink.calls++] ?? { ok: true as const };
        return o;
      },
    };
    return sink;
  }

  it('retry_max=3, backoff 125: four attempts, waits 125/250/500, failed', async () => {
    const sink = scripted(Array.from({ length: 10 }, () => ({ ok: false as const, retryable: true, error: 'busy' })));
    const { issuer, delivery, sleeps } = setup({ sinks: { memory: sink } });
    const r = issuer.issue({ recipient: 'a', retryMax: 3, backoffMs: 125 });
    const record = await delivery.send({ resolution: r, payload: 1 });
    expect(record.status).toBe('failed');
    expect(record.attempts.map((a) => [a.attempt, a.status, a.atMs, a.backoffMs, a.error])).toEqual([
      [1, 'transient_failure', 0, 125, 'busy'],
      [2, 'transient_failure', 125, 250, 'busy'],
      [3, 'transient_failure', 375, 500, 'busy'],
      [4, 'failed', 875, 0, 'busy'],
    ]);
    expect(sleeps).toEqual([125, 250, 500]);
    expect(record.finalAttemptMs - record.firstAttemptMs).toBe(875);
    expect(sink.calls).toBe(4);
  });

  it('waits on the clock between attempts: nothing is retried until the ManualClock reaches the backoff', async () => {
    const sink = scripted([{ ok: false, retryable: true, error: 'busy' }]);
    const clock = new ManualClock(1_000);
    const issuer = new Issuer();
    const delivery = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, clock });
    const sending = delivery.send({
      resolution: issuer.issue({ recipient: 'a', retryMax: 2, backoffMs: 400 }),
      payload: 1,
    });
    await vi.waitFor(() => expect(clock.pendingSleeps).toBe(1));
    expect(sink.calls).toBe(1);
    clock.advance(399);
    await Promise.resolve();
    expect(sink.calls).toBe(1);
    expect(clock.pendingSleeps).toBe(1);
    clock.advance(1);
    const record = await sending;
    expect(sink.calls).toBe(2);
    expect(record.attempts.map((a) => [a.status, a.atMs, a.backoffMs])).toEqual([
      ['transient_failure', 1_000, 400],
      ['sent', 1_400, 0],
    ]);
    expect(clock.pendingSleeps).toBe(0);
  });

  it('stops at the first success', async () => {
    const sink = scripted([{ ok: false, retryable: true, error: 'e1' }]);
    const { issuer, delivery } = setup({ sinks: { memory: sink } });
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'a', retryMax: 5, backoffMs: 10 }),
      payload: 1,
    });
    expect(record.attempts.map((a) => a.status)).toEqual(['transient_failure', 'sent']);
    expect(record.status).toBe('sent');
  });

  it('a permanent failure stops at once; a thrown error counts as retryable', async () => {
    const permanent = scripted([{ ok: false, retryable: false, error: 'no such mailbox' }]);
    const { issuer, delivery } = setup({ sinks: { memory: permanent } });
    const record = await delivery.send({ resolution: issuer.issue({ recipient: 'a', retryMax: 5 }), payload: 1 });
    expect(record.attempts).toHaveLength(1);
    expect(record.status).toBe('failed');

    let calls = 0;
    const throwing: SinkAdapter = {
      adapter: 'throwing',
      async send() {
        calls++;
        if (calls === 1) throw new Error('socket hang up');
        return { ok: true };
      },
    };
    const s2 = setup({ sinks: { memory: throwing } });
    const rec2 = await s2.delivery.send({ resolution: s2.issuer.issue({ recipient: 'a', retryMax: 1 }), payload: 1 });
    expect(rec2.attempts.map((a) => [a.status, a.error])).toEqual([
      ['transient_failure', 'socket hang up'],
      ['sent', undefined],
    ]);
  });

  it('caps the wait at maxBackoffMs', async () => {
    const sink = scripted(Array.from({ length: 5 }, () => ({ ok: false as const, retryable: true, error: 'x' })));
    const issuer = new Issuer();
    const clock = new ManualClock(0);
    const sleeps = advanceOnSleep(clock);
    const delivery = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, clock, maxBackoffMs: 300 });
    await delivery.send({ resolution: issuer.issue({ recipient: 'a', retryMax: 4, backoffMs: 100 }), payload: 1 });
    expect(sleeps).toEqual([100, 200, 300, 300]);
  });
});

describe('mob_member sink', () => {
  it('hands the payload to the callback with the member id', async () => {
    const got: Array<[string, unknown]> = [];
    const sink = new MobMemberSink((member, payload) => void got.push([member, payload]));
    const { issuer, delivery } = setup({ sinks: { mob_member: sink } });
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'worker-1', sink: 'mob_member' }),
      payload: { text: 'do it' },
    });
    expect(got).toEqual([['worker-1', { text: 'do it' }]]);
    expect(record).toMatchObject({ status: 'sent', sinkAdapter: 'mob_member' });
  });

  it('a SinkError with retryable:false stops at once; other throws are retried', async () => {
    let calls = 0;
    const sink = new MobMemberSink(() => {
      calls++;
      throw new SinkError('member not found: ghost', { retryable: false });
    });
    const { issuer, delivery } = setup({ sinks: { mob_member: sink } });
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'ghost', sink: 'mob_member', retryMax: 3 }),
      payload: 1,
    });
    expect(calls).toBe(1);
    expect(record.attempts[0]?.error).toBe('member not found: ghost');
    let calls2 = 0;
    const flaky = new MobMemberSink(() => {
      if (++calls2 < 3) throw new Error('busy');
    });
    const s2 = setup({ sinks: { mob_member: flaky } });
    const r2 = await s2.delivery.send({
      resolution: s2.issuer.issue({ recipient: 'w', sink: 'mob_member', retryMax: 3 }),
      payload: 1,
    });
    expect(r2.attempts.map((a) => a.status)).toEqual(['transient_failure', 'transient_failure', 'sent']);
  });
});

describe('history and events', () => {
  it('returns the newest N in chronological order, filtered by recipient and sink', async () => {
    const { issuer, delivery } = setup();
    const a = issuer.issue({ recipient: 'a' });
    const b = issuer.issue({ recipient: 'b', sink: 'email' });
    for (let i = 0; i < 5; i++) await delivery.send({ resolution: i % 2 === 0 ? a : b, payload: i });
    expect(delivery.history().map((r) => r.payload)).toEqual([0, 1, 2, 3, 4]);
    expect(delivery.history({ limit: 2 }).map((r) => r.payload)).toEqual([3, 4]);
    expect(delivery.history({ recipient: 'a' }).map((r) => r.payload)).toEqual([0, 2, 4]);
    expect(delivery.history({ sink: 'email', limit: 1 }).map((r) => r.payload)).toEqual([3]);
    expect(() => delivery.history({ limit: 0 })).toThrow(/limit/);
  });

  it('keeps 200 records by default; a key outlives its record leaving the history', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1000 });
    const first = await delivery.send({ resolution: r, payload: 'p', idempotencyKey: 'first' });
    for (let i = 0; i < 200; i++) await delivery.send({ resolution: r, payload: i });
    expect(delivery.history({ limit: 200 })).toHaveLength(200);
    expect(delivery.history({ limit: 200 })[0]?.payload).toBe(0);
    // Never more than the limit, whatever page is asked for, and still the newest after many more sends.
    expect(delivery.history({ limit: 1_000 })).toHaveLength(200);
    for (let i = 200; i < 650; i++) await delivery.send({ resolution: r, payload: i });
    const kept = delivery.history({ limit: 1_000 });
    expect(kept.map((x) => x.payload)).toEqual(Array.from({ length: 200 }, (_, i) => 450 + i));
    expect(await delivery.send({ resolution: r, payload: 'p', idempotencyKey: 'first' })).toBe(first);
    expect(await codeOf(delivery.send({ resolution: r, payload: 'q', idempotencyKey: 'first' }))).toBe(
      'IdempotencyPayloadMismatch',
    );
    expect(memory.messages).toHaveLength(651);
  });

  it('idempotency keys have their own retention: a count limit (oldest leave first) and an age', async () => {
    const clock = new ManualClock(0);
    const { issuer, delivery, memory } = setup({
      clock,
      historyLimit: 1,
      idempotencyKeyLimit: 2,
      idempotencyKeyTtlMs: 1_000,
    });
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1000 });
    const k1 = await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k1' });
    const k2 = await delivery.send({ resolution: r, payload: 2, idempotencyKey: 'k2' });
    // History keeps one record, but both keys are honoured.
    expect(delivery.history().map((x) => x.deliveryId)).toEqual([k2.deliveryId]);
    expect(await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k1' })).toBe(k1);
    expect(memory.messages).toHaveLength(2);
    // A third key pushes the oldest (k1) out: it is a new delivery again.
    await delivery.send({ resolution: r, payload: 3, idempotencyKey: 'k3' });
    expect(await delivery.send({ resolution: r, payload: 2, idempotencyKey: 'k2' })).toBe(k2);
    const k1again = await delivery.send({ resolution: r, payload: 'new', idempotencyKey: 'k1' });
    expect(k1again.deliveryId).not.toBe(k1.deliveryId);
    expect(memory.messages).toHaveLength(4);
    // After the ttl a key is no longer honoured; just before, it is.
    clock.advance(1_000);
    expect(await delivery.send({ resolution: r, payload: 'new', idempotencyKey: 'k1' })).toBe(k1again);
    clock.advance(1);
    expect((await delivery.send({ resolution: r, payload: 'newer', idempotencyKey: 'k1' })).status).toBe('sent');
    expect(memory.messages).toHaveLength(5);
    expect(() => new DeliveryService({ sinks: {}, trusted: issuer, idempotencyKeyLimit: 0 })).toThrow(
      /idempotencyKeyLimit: must be a positive integer/,
    );
  });

  it('keyless sends are never deduplicated, and every delivery id is new (time-ordered, unique per process run)', async () => {
    const { issuer, delivery, memory } = setup();
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1000 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await delivery.send({ resolution: r, payload: 'same' })).deliveryId);
    expect(memory.messages).toHaveLength(3);
    for (const id of ids) expect(id).toMatch(DELIVERY_ID_PATTERN);
    expect([...ids].sort()).toEqual(ids); // the ManualClock stands still: the counter keeps them in order
    // A second service (a restart without a ledger) never hands out the ids of the first.
    const restarted = setup({ clock: new ManualClock(0) });
    const again = await restarted.delivery.send({
      resolution: restarted.issuer.issue({ recipient: 'a' }),
      payload: 'same',
    });
    expect(ids).not.toContain(again.deliveryId);
  });

  it('emits delivery/send with the record summary, stamped at the final attempt', async () => {
    const clock = new ManualClock(1_000);
    const { issuer, delivery, events } = setup({ clock });
    const record = await delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload: 1 });
    expect(record.deliveryId).toMatch(DELIVERY_ID_PATTERN);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      eventId: `evt-${record.deliveryId}`,
      source: 'module',
      timestampMs: record.finalAttemptMs,
      event: {
        kind: 'module',
        module: 'delivery',
        eventType: 'send',
        payload: { delivery_id: record.deliveryId, recipient: 'a', sink: 'memory', status: 'sent' },
      },
    });
  });

  it('records a copy of the payload that later caller edits cannot change', async () => {
    const { issuer, delivery } = setup();
    const payload = { text: 'original', nested: { n: 1 } };
    const record = await delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload, idempotencyKey: 'k' });
    payload.text = 'edited';
    payload.nested.n = 2;
    expect(record.payload).toEqual({ text: 'original', nested: { n: 1 } });
    expect(delivery.history()[0]?.payload).toEqual({ text: 'original', nested: { n: 1 } });
  });

  it('builds the wire record once per send: the event, the ledger line and deliveryRecordToWire share it', async () => {
    const ledger = new MemoryLedger();
    const issuer = new Issuer();
    const events: DeliverySendEvent[] = [];
    const delivery = new DeliveryService({
      sinks: { memory: new MemorySink() },
      trusted: issuer,
      clock: new ManualClock(5),
      ledger,
      emit: (e) => events.push(e),
    });
    const resolution = issuer.issue({ recipient: 'a' });
    const record = await delivery.send({ resolution, payload: { n: 1 }, idempotencyKey: 'k' });
    const wire = deliveryRecordToWire(record);
    expect(record.deliveryId).toMatch(DELIVERY_ID_PATTERN);
    expect(wire).toEqual({
      delivery_id: record.deliveryId,
      route_id: record.routeId,
      recipient: 'a',
      sink: 'memory',
      target_module: 'delivery',
      payload: { n: 1 },
      status: 'sent',
      attempts: [{ attempt: 1, status: 'sent', at_ms: 5, backoff_ms: 0 }],
      first_attempt_ms: 5,
      final_attempt_ms: 5,
      idempotency_key: 'k',
      sink_adapter: 'memory',
    });
    expect(Object.isFrozen(wire) && Object.isFrozen(wire.attempts)).toBe(true);
    expect(deliveryRecordToWire(record)).toBe(wire);
    const line = ledger.entries.find((e) => e.kind === 'record');
    expect(line?.kind === 'record' && line.record).toBe(wire);
    expect(events[0]?.event.payload.attempts).toBe(wire.attempts);
    // A replayed send under the key returns the same record, hence the same wire form; another send its own.
    const replayed = await delivery.send({ resolution, payload: { n: 1 }, idempotencyKey: 'k' });
    expect(deliveryRecordToWire(replayed)).toBe(wire);
    const other = await delivery.send({ resolution: issuer.issue({ recipient: 'b' }), payload: 2 });
    expect(deliveryRecordToWire(other)).not.toBe(wire);
    expect(deliveryRecordToWire(other).recipient).toBe('b');
    // A record built elsewhere is encoded by the codec (and round-trips through it).
    const copy = { ...record, attempts: [...record.attempts] };
    expect(deliveryRecordToWire(copy)).toEqual(wire);
    expect(parseDeliveryRecord(deliveryRecordToWire(copy))).toEqual(copy);
  });

  it('returns frozen records', async () => {
    const { issuer, delivery } = setup();
    const record = await delivery.send({ resolution: issuer.issue({ recipient: 'a' }), payload: 1 });
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record.attempts[0])).toBe(true);
  });
});

describe('memory sink', () => {
  it('follows its script, honours force_fail, and keeps at most `capacity` messages', async () => {
    const sink = new MemorySink({ script: [{ ok: false, retryable: true, error: 'scripted' }], capacity: 2 });
    const { issuer, delivery } = setup({ sinks: { memory: sink } });
    const r = issuer.issue({ recipient: 'a', retryMax: 1 });
    const first = await delivery.send({ resolution: r, payload: 0 });
    expect(first.attempts.map((a) => [a.status, a.error])).toEqual([
      ['transient_failure', 'scripted'],
      ['sent', undefined],
    ]);
    const forced = await delivery.send({ resolution: r, payload: { force_fail: true } });
    expect(forced.attempts.map((a) => a.status)).toEqual(['failed']);
    await delivery.send({ resolution: r, payload: 1 });
    await delivery.send({ resolution: r, payload: 2 });
    expect(sink.messages.map((m) => m.payload)).toEqual([1, 2]);
    expect(sink.attempts).toHaveLength(2);
  });
});

describe('injectable ledger', () => {
  it('a MemoryLedger carries records and keys to a new service', async () => {
    const ledger = new MemoryLedger();
    const issuer = new Issuer();
    const first = new DeliveryService({ sinks: { memory: new MemorySink() }, trusted: issuer, ledger });
    const r = issuer.issue({ recipient: 'a' });
    const record = await first.send({ resolution: r, payload: 1, idempotencyKey: 'k' });
    expect(ledger.entries.map((e) => e.kind)).toEqual(['begin', 'record']);
    const sink = new MemorySink();
    const second = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, ledger });
    expect(await second.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).toEqual(record);
    expect(sink.attempts).toHaveLength(0);
  });
});

describe('ledger failures', () => {
  it('a ledger that cannot record the start fails the send before any attempt and frees the quota', async () => {
    const issuer = new Issuer();
    const sink = new MemorySink();
    let broken = true;
    const ledger = {
      replay: () => [],
      append: async () => {
        if (broken) throw new MobKitError('LedgerWriteFailed', 'disk full');
      },
      close: async () => undefined,
    };
    const delivery = new DeliveryService({ sinks: { memory: sink }, trusted: issuer, ledger });
    const r = issuer.issue({ recipient: 'a', rateLimitPerMinute: 1 });
    expect(await codeOf(delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' }))).toBe('LedgerWriteFailed');
    expect(sink.attempts).toHaveLength(0);
    broken = false;
    expect((await delivery.send({ resolution: r, payload: 1, idempotencyKey: 'k' })).status).toBe('sent');
  });
});
