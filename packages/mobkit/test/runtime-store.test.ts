// The runtime's event log on its store, through a real UnifiedRuntime with the embedded mob: ordered
// gapless seqs, payloads, live listeners after the append, status, the store options of the builder,
// persistence across two runtimes on one SQLite directory, backpressure and failed flushes.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEnvelope, UnifiedEvent } from '@mobkit/core';
import { SpawnMemberSpec } from '@mobkit/mob-adapter';
import { createMemoryStore } from '@mobkit/store';
import { expectMobKitError, waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistedEvent } from '../src/event-log/entries.js';
import { createRpcHandler } from '../src/rpc/handler.js';
import type { RuntimeErrorEvent } from '../src/runtime/settings.js';
import type { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { NO_MODULES, controlledStore, oneTurn, runtimeBuilder } from './runtime-store-helpers.js';

let runtimes: UnifiedRuntime[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown()));
  runtimes = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const keep = (r: UnifiedRuntime) => {
  runtimes.push(r);
  return r;
};
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-event-log-'));
  dirs.push(dir);
  return dir;
};
const allEvents = async (runtime: UnifiedRuntime): Promise<PersistedEvent[]> => {
  const out: PersistedEvent[] = [];
  for (;;) {
    const page = await runtime.queryEvents({ afterSeq: out.at(-1)?.seq ?? 0, limit: 1_000 });
    if (page.length === 0) return out;
    out.push(...page);
  }
};
const seqRange = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('the runtime event log', () => {
  it('logs lifecycle, agent (with payloads) and every merged event in publish order with gapless seqs; listeners see them after the append', async () => {
    const store = createMemoryStore();
    const runtime = keep(await runtimeBuilder((b) => b.store(store)).build());
    const published: Array<EventEnvelope<UnifiedEvent>> = [];
    runtime.subscribe((event) => published.push(event));
    const live: Array<{ seq: number; stored: boolean }> = [];
    const checks: Array<Promise<void>> = [];
    runtime.subscribeEventLog((event) => {
      const entry = { seq: event.seq, stored: false };
      live.push(entry);
      checks.push(
        store.events.query({ afterSeq: event.seq - 1, limit: 1 }).then(([found]) => {
          entry.stored = found?.seq === event.seq;
        }),
      );
    });
    await oneTurn(runtime, 'w-1', 'hello');
    await oneTurn(runtime, 'w-1', 'again');
    await Promise.all(checks);

    const logged = await allEvents(runtime);
    expect(logged.map((e) => e.seq)).toEqual(seqRange(1, logged.length));
    expect(logged.slice(0, 3).map((e) => [e.kind, e.eventType, e.event.payload])).toEqual([
      ['lifecycle', 'lifecycle', { stage: 'MobStarted', seq: 0 }],
      ['lifecycle', 'lifecycle', { stage: 'ModulesStarted', seq: 1 }],
      ['lifecycle', 'lifecycle', { stage: 'MergedStreamStarted', seq: 2 }],
    ]);
    // Every merged-stream event is in the log once, in the order it was published.
    const fromHub = logged.filter((e) => e.kind !== 'lifecycle');
    expect(fromHub.map((e) => e.id)).toEqual(published.map((e) => e.eventId));
    const agent = logged.filter((e) => e.kind === 'agent');
    expect(agent.length).toBeGreaterThan(4);
    expect(agent.every((e) => e.memberId === 'w-1')).toBe(true);
    const runs = agent.filter((e) => e.eventType === 'run_started' || e.eventType === 'run_completed');
    expect(runs.map((e) => e.eventType)).toEqual(['run_started', 'run_completed', 'run_started', 'run_completed']);
    expect(runs[0]?.event).toMatchObject({
      kind: 'agent',
      agent_id: 'w-1',
      event_type: 'run_started',
      payload: { type: 'run_started' },
    });
    // text_deltas are stored one by one, each with its delta.
    const deltas = agent.filter((e) => e.eventType === 'text_delta');
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    for (const delta of deltas)
      expect(delta.event.payload).toMatchObject({ type: 'text_delta', delta: expect.any(String) });
    // Live listeners got each acknowledged event once, in seq order, after it was in the store.
    const lastLive = live.at(-1)?.seq ?? 0;
    expect(live.map((e) => e.seq)).toEqual(seqRange(live[0]?.seq ?? 1, lastLive));
    expect(live.every((e) => e.stored)).toBe(true);
    expect(runtime.storeStatus().eventLog).toEqual({ lastSeq: logged.length, pending: 0, dropped: 0 });
  });

  it('status names the store and the writer counters; a store given with .store() stays open after shutdown', async () => {
    const store = createMemoryStore();
    const runtime = keep(await runtimeBuilder((b) => b.store(store)).build());
    await oneTurn(runtime, 'w-1', 'hello');
    const { lastSeq } = await runtime.eventLogBounds();
    const status = (await createRpcHandler(runtime).handleText(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'mobkit/status' }),
    )) as { result: Record<string, unknown> };
    expect(status.result.store).toEqual({ kind: 'memory', location: 'memory', schema_version: 0 });
    expect(status.result.event_log).toEqual({ last_seq: lastSeq, pending: 0, dropped: 0 });
    await runtime.shutdown();
    // Shutdown flushed the shutdown stages before it let go of the store; the caller's store is still open.
    const tail = await store.events.query({ order: 'desc', limit: 2 });
    expect(tail.map((e) => (e.data as { event: { payload: { stage: string } } }).event.payload.stage)).toEqual([
      'ShutdownComplete',
      'ShutdownRequested',
    ]);
  });

  it('persistentState keeps the log in <dir>/mobkit.db: a second runtime continues the seqs and serves the first one’s events', async () => {
    const dir = tempDir();
    const first = await runtimeBuilder((b) => b.persistentState(dir)).build();
    await oneTurn(first, 'w-1', 'before the restart');
    expect(first.storeStatus().store).toMatchObject({ kind: 'sqlite', location: join(dir, 'mobkit.db') });
    await first.shutdown();
    expect(existsSync(join(dir, 'mobkit.db'))).toBe(true);
    const reopened = keep(await runtimeBuilder((b) => b.persistentState(dir)).build());
    expect(await reopened.flushEventLog(10_000)).toBe(true);
    const events = await allEvents(reopened);
    expect(events.map((e) => e.seq)).toEqual(seqRange(1, events.length));
    const firstRunEnd = events.findIndex(
      (e) => e.event.payload && (e.event.payload as { stage?: string }).stage === 'ShutdownComplete',
    );
    expect(firstRunEnd).toBeGreaterThan(0);
    expect(events[firstRunEnd + 1]?.event.payload).toEqual({ stage: 'MobStarted', seq: 0 });
    // The first run's agent events, with payloads, are served by the second (members of the first run only).
    const rpc = createRpcHandler(reopened);
    const subscribed = (await rpc.handleText(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'mobkit/events/subscribe',
        params: { scope: 'agent', agent_id: 'w-1' },
      }),
    )) as { result: { event_frames: string[]; events: Array<{ seq: number; event: { payload: unknown } }> } };
    const agentSeqs = events.filter((e) => e.kind === 'agent').map((e) => e.seq);
    expect(subscribed.result.events.map((e) => e.seq)).toEqual(agentSeqs.slice(-3));
    expect(subscribed.result.event_frames.at(-1)).toMatch(
      new RegExp(`^id: ${agentSeqs.at(-1)}\\nevent: run_completed\\n`),
    );
    await oneTurn(reopened, 'w-2', 'after the restart');
    const more = await reopened.queryEvents({ memberId: 'w-2', limit: 1_000 });
    expect(more[0]?.seq).toBeGreaterThan(events.at(-1)?.seq ?? Number.POSITIVE_INFINITY);
  });

  it('a data directory that cannot hold the store fails build() with a typed error naming the path, before any module starts', async () => {
    const dir = tempDir();
    const notADir = join(dir, 'file');
    writeFileSync(notADir, 'not a directory');
    const marker = join(dir, 'module-started');
    const modules = {
      ...NO_MODULES,
      modules: [
        { id: 'm', command: '/bin/sh', args: ['-c', `touch ${marker}; sleep 5`], restartPolicy: 'never' as const },
      ],
      discovery: { namespace: 't', modules: ['m'] },
    };
    const error = await expectMobKitError(
      runtimeBuilder((b) => b.moduleConfig(modules).persistentState(notADir)).build(),
    );
    expect(error.code).toMatch(/^Store/);
    expect(error.message).toContain(notADir);
    expect(existsSync(marker)).toBe(false);
  });

  it('backpressure: with the writer held, overflowing events are counted, then reported by one event_log.dropped; nothing is lost silently', async () => {
    const control = controlledStore(createMemoryStore());
    control.hold();
    const runtime = keep(
      await runtimeBuilder((b) => b.store(control.store).eventLogWriter({ queueCapacity: 2 })).build(),
    );
    await runtime.ensureMember(SpawnMemberSpec.fromWire('worker', 'w-1'));
    await runtime.sendMessage('w-1', 'hello');
    await runtime.mobHandle().waitForIdle(10_000);
    const { dropped } = runtime.storeStatus().eventLog;
    expect(dropped).toBeGreaterThan(0);
    control.release();
    expect(await runtime.flushEventLog(10_000)).toBe(true);
    const logged = await allEvents(runtime);
    expect(logged.map((e) => e.seq)).toEqual(seqRange(1, logged.length));
    const notices = logged.filter((e) => e.eventType === 'event_log.dropped');
    expect(notices.length).toBeGreaterThan(0);
    const reported = notices.reduce((sum, e) => sum + (e.event.payload as { dropped: number }).dropped, 0);
    expect(reported).toBe(dropped);
    expect(runtime.storeStatus().eventLog).toEqual({ lastSeq: logged.length, pending: 0, dropped });
    // Recorded = 3 start-up lifecycle stages + every merged-stream event; each is logged or counted.
    const recorded = 3 + runtime.moduleEvents().length;
    expect(logged.length - notices.length + dropped).toBe(recorded);
  });

  it('a failing flush is retried, reported as event_log_flush_failure, and lands once', async () => {
    const control = controlledStore(createMemoryStore());
    control.failNext('before', 'after');
    const errors: RuntimeErrorEvent[] = [];
    const runtime = keep(
      await runtimeBuilder((b) => b.store(control.store).onError((event) => errors.push(event))).build(),
    );
    await oneTurn(runtime, 'w-1', 'hello');
    await waitFor('two flush failures reported', () => errors.length >= 2);
    expect(errors.slice(0, 2)).toEqual([
      { category: 'event_log_flush_failure', error: 'disk full (test)' },
      { category: 'event_log_flush_failure', error: 'connection lost after commit (test)' },
    ]);
    const logged = await allEvents(runtime);
    expect(logged.map((e) => e.seq)).toEqual(seqRange(1, logged.length));
    // Every event once, plus one event_log.flush_failed saying the store refused writes for a while.
    const outage = logged.filter((e) => e.eventType === 'event_log.flush_failed');
    expect(outage).toHaveLength(1);
    expect(logged.length).toBe(3 + runtime.moduleEvents().length + 1);
  });

  it('eventRetention and eventLogWriter refuse bounds that are not positive integers', () => {
    expectMobKitError(() => runtimeBuilder().eventRetention({ maxRows: 0 }), 'InvalidInput');
    expectMobKitError(() => runtimeBuilder().eventRetention({ maxAgeMs: 1.5 }), 'InvalidInput');
    expectMobKitError(() => runtimeBuilder().eventLogWriter({ queueCapacity: -1 }), 'InvalidInput');
  });
});
