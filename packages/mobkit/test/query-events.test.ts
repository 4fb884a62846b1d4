// mobkit/query_events and mobkit/events/subscribe over JSON-RPC, served from the event log of a real
// runtime (embedded mob, two members): every filter, paging by seq, and -32602 naming the bad field.
import { SpawnMemberSpec } from '@mobkit/mob-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRpcHandler } from '../src/rpc/handler.js';
import type { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { oneTurn, runtimeBuilder } from './runtime-store-helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC results are JSON read freely by the assertions
type Json = any;
let runtime: UnifiedRuntime;
let rpc: ReturnType<typeof createRpcHandler>;
let all: Json[];

async function call(method: string, params?: unknown): Promise<{ result?: Json; error?: Json }> {
  const request = params === undefined ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', id: 1, method, params };
  return (await rpc.handleText(JSON.stringify(request))) as { result?: Json; error?: Json };
}
const query = async (params: Record<string, unknown>): Promise<Json[]> => {
  const response = await call('mobkit/query_events', params);
  expect(response.error).toBeUndefined();
  return response.result as Json[];
};

beforeAll(async () => {
  runtime = await runtimeBuilder().build();
  rpc = createRpcHandler(runtime);
  await oneTurn(runtime, 'a-1', 'first');
  await runtime.ensureMember(SpawnMemberSpec.fromWire('worker', 'b-1'));
  await oneTurn(runtime, 'b-1', 'second');
  await oneTurn(runtime, 'a-1', 'third');
  all = await query({ limit: 1_000 });
}, 30_000);
afterAll(async () => {
  await runtime?.shutdown();
});

describe('mobkit/query_events', () => {
  it('answers the PersistedEvent array in seq order, gapless, with the agent payloads', () => {
    expect(all.length).toBeGreaterThan(10);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    for (const event of all)
      expect(Object.keys(event).sort()).toEqual(['event', 'id', 'member_id', 'seq', 'timestamp_ms']);
    const started = all.find((e) => e.event.event_type === 'run_started');
    expect(started).toMatchObject({
      member_id: 'a-1',
      event: { kind: 'agent', agent_id: 'a-1', payload: { type: 'run_started' } },
    });
  });

  it('the default limit is 100 and after_seq pages on', async () => {
    expect(await query({})).toEqual(all.slice(0, 100));
    expect(await query({ after_seq: 5, limit: 3 })).toEqual(all.slice(5, 8));
    expect(await query({ after_seq: all.length })).toEqual([]);
  });

  it('filters by member_id, kinds, event_types and time (since inclusive, until exclusive), ANDed', async () => {
    const b = await query({ member_id: 'b-1', limit: 1_000 });
    expect(b.length).toBeGreaterThan(0);
    expect(b).toEqual(all.filter((e) => e.member_id === 'b-1'));
    const lifecycle = await query({ kinds: ['lifecycle'] });
    expect(lifecycle.map((e) => e.event.payload.stage)).toEqual([
      'MobStarted',
      'ModulesStarted',
      'MergedStreamStarted',
    ]);
    const runs = await query({ event_types: ['run_started', 'run_completed'], limit: 1_000 });
    expect(runs.map((e) => `${e.member_id}:${e.event.event_type}`)).toEqual([
      'a-1:run_started',
      'a-1:run_completed',
      'b-1:run_started',
      'b-1:run_completed',
      'a-1:run_started',
      'a-1:run_completed',
    ]);
    const aCompleted = await query({ member_id: 'a-1', kinds: ['agent'], event_types: ['run_completed'] });
    expect(aCompleted).toEqual(all.filter((e) => e.member_id === 'a-1' && e.event.event_type === 'run_completed'));
    const pivot = all[Math.floor(all.length / 2)];
    const since = await query({ since_ms: pivot.timestamp_ms, limit: 1_000 });
    expect(since).toEqual(all.filter((e) => e.timestamp_ms >= pivot.timestamp_ms));
    const until = await query({ until_ms: pivot.timestamp_ms, limit: 1_000 });
    expect(until).toEqual(all.filter((e) => e.timestamp_ms < pivot.timestamp_ms));
    expect(await query({ member_id: 'nobody' })).toEqual([]);
  });

  it.each([
    [{ limit: 0 }, 'limit'],
    [{ limit: 1_001 }, 'limit'],
    [{ limit: 2.5 }, 'limit'],
    [{ limit: '10' }, 'limit'],
    [{ after_seq: -1 }, 'after_seq'],
    [{ since_ms: 'yesterday' }, 'since_ms'],
    [{ since_ms: 10, until_ms: 10 }, 'since_ms'],
    [{ member_id: '  ' }, 'member_id'],
    [{ kinds: ['agent', 'gossip'] }, 'kinds'],
    [{ kinds: [] }, 'kinds'],
    [{ event_types: 'run_started' }, 'event_types'],
    [{ agent_id: 'a-1' }, 'agent_id'],
  ])('refuses %j with -32602 naming %s', async (params, field) => {
    const response = await call('mobkit/query_events', params);
    expect(response.result).toBeUndefined();
    expect(response.error.code).toBe(-32602);
    expect(response.error.message).toMatch(new RegExp(`^Invalid params: ${field}(\\[\\d+\\])?: `));
  });

  it('refuses params that are not an object', async () => {
    const response = await call('mobkit/query_events', [1]);
    expect(response.error.code).toBe(-32602);
  });
});

describe('mobkit/events/subscribe from the log', () => {
  it('replays the last 3 events of a scope with the log seq as frame id, and resumes from one of them', async () => {
    const mob = await call('mobkit/events/subscribe', {});
    const newest = await runtime.queryEvents({ afterSeq: (await runtime.eventLogBounds()).lastSeq - 3 });
    expect(mob.result.events.map((e: Json) => e.seq)).toEqual(newest.map((e) => e.seq));
    expect(mob.result.event_frames[0]).toBe(
      `id: ${newest[0]?.seq}\nevent: ${newest[0]?.eventType}\ndata: ${JSON.stringify(newest[0]?.event)}\n\n`,
    );
    const b = await call('mobkit/events/subscribe', { scope: 'agent', agent_id: 'b-1' });
    const bSeqs = all.filter((e) => e.member_id === 'b-1').map((e) => e.seq);
    expect(b.result.events.map((e: Json) => e.seq)).toEqual(bSeqs.slice(-3));
    expect(b.result.events.at(-1)).toMatchObject({ source: 'agent', event: { payload: { type: 'run_completed' } } });
    const from = String(bSeqs.at(-2));
    const resumed = await call('mobkit/events/subscribe', { scope: 'agent', agent_id: 'b-1', last_event_id: from });
    expect(resumed.result.replay_from_event_id).toBe(from);
    expect(resumed.result.events.map((e: Json) => e.seq)).toEqual(bSeqs.slice(-2));
    const old = await call('mobkit/events/subscribe', {
      scope: 'agent',
      agent_id: 'b-1',
      last_event_id: String(bSeqs[0]),
    });
    expect(old.error.data.code).toBe('UnknownCheckpoint');
    const blank = await call('mobkit/events/subscribe', { last_event_id: ' ' });
    expect(blank.error.data.code).toBe('EmptyCheckpoint');
    const interaction = await call('mobkit/events/subscribe', { scope: 'interaction' });
    expect(interaction.result).toMatchObject({ scope: 'interaction', replay_from_event_id: null, events: [] });
  });
});
