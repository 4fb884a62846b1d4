import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type MobKitStore } from '@mobkit/core';
import { createMemoryStore, openSqliteStore } from '@mobkit/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedMob,
  type EmbeddedMobOptions,
  type LlmRequest,
  MobDefinition,
  ScriptedLlmClient,
  createEmbeddedMob,
  memberRef,
} from '../src/index.js';
import { fixtureDefinition, rejection } from './helpers.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function users(request: LlmRequest): string[] {
  return request.messages.flatMap((m) => (m.role === 'user' ? [m.content] : []));
}

const NO_ORCHESTRATOR = MobDefinition.fromToml(`
[mob]
id = "plain"
[profiles.worker]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
`);

interface Backend {
  name: string;
  open(): Promise<MobKitStore | undefined>;
}

const dirs: string[] = [];
const stores: MobKitStore[] = [];
const mobs: EmbeddedMob[] = [];
afterEach(async () => {
  for (const m of mobs.splice(0)) await m.close();
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: Backend[] = [
  { name: 'in memory (no store)', open: async () => undefined },
  { name: 'memory store', open: async () => createMemoryStore() },
  {
    name: 'SQLite store',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mob-api-'));
      dirs.push(dir);
      return openSqliteStore({ path: join(dir, 'store.db') });
    },
  },
];

describe.each(backends)('embedded member API ($name)', (backend) => {
  async function mob(
    llm: ScriptedLlmClient,
    extra: Partial<EmbeddedMobOptions> = {},
    definition = fixtureDefinition('team.toml'),
  ) {
    const store = await backend.open();
    if (store) stores.push(store);
    const m = await createEmbeddedMob(definition, { llm, ...(store ? { store } : {}), ...extra });
    mobs.push(m);
    return m;
  }

  it('reports capabilities: every method, persistent only with a store', async () => {
    const m = await mob(new ScriptedLlmClient());
    expect(m.capabilities.memberApi).toHaveLength(14);
    expect(m.capabilities.memberApi).toContain('read_session_history');
    expect(m.capabilities.persistent).toBe(backend.name !== 'in memory (no store)');
  });

  it('answers memberStatus: tokens summed, preview of the last answer, error of a failed run, queued messages', async () => {
    const gate = deferred();
    const long = 'x'.repeat(300);
    const llm = new ScriptedLlmClient({
      'w-1': [
        { toolCalls: [{ name: 'peers' }], usage: { inputTokens: 10, outputTokens: 5 } },
        { text: long, usage: { inputTokens: 20, outputTokens: 7 } },
        { error: 'boom' },
        { gate: gate.promise, text: 'after' },
      ],
    });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'w-1', runtimeMode: 'turn_driven' });
    const fresh = await m.memberStatus('w-1');
    expect(fresh).toMatchObject({
      status: 'active',
      isFinal: false,
      runState: 'idle',
      tokensUsed: 0,
      queuedMessages: 0,
    });
    expect(fresh.memberRef).toBe(memberRef('team', 'w-1'));
    await m.runTurn('w-1', 'go');
    const done = await m.memberStatus('w-1');
    expect(done.tokensUsed).toBe(42);
    expect(done.outputPreview).toBe('x'.repeat(200));
    expect(done.lastProgressEvent).toBe('run_completed');
    expect(done.currentSessionId).toBe(await m.memberCurrentSessionId('w-1'));
    await expect(m.runTurn('w-1', 'fail')).rejects.toThrow(/boom/);
    expect((await m.memberStatus('w-1')).error).toMatch(/boom/);
    const running = m.runTurn('w-1', 'third');
    await expect.poll(async () => (await m.memberStatus('w-1')).runState).toBe('run_open');
    await m.sendMessage('w-1', 'queued one');
    expect((await m.memberStatus('w-1')).queuedMessages).toBe(1);
    gate.resolve();
    await running;
    expect((await m.memberStatus('w-1')).error).toBeUndefined();
    expect(await rejection(m.memberStatus('nobody'))).toMatchObject({ code: 'MemberNotFound' });
    expect(await rejection(m.memberCurrentSessionId('nobody'))).toMatchObject({ code: 'MemberNotFound' });
    expect(await rejection(m.memberStatus(''))).toMatchObject({ code: 'InvalidInput' });
  });

  it('pages a session history with index, createdAtMs and runId; refuses bad offsets and limits by name', async () => {
    const llm = new ScriptedLlmClient({
      'w-1': [{ toolCalls: [{ name: 'peers' }] }, { text: 'one' }, { text: 'two' }],
    });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'w-1', runtimeMode: 'turn_driven' });
    await m.runTurn('w-1', 'first');
    await m.runTurn('w-1', 'second');
    const sid = await m.memberCurrentSessionId('w-1');
    const ref = await m.memberSessionRef('w-1');
    expect(ref).toMatchObject({ memberId: 'w-1', sessionId: sid, messageCount: 6 });
    const all = await m.readSessionHistory(sid);
    expect(all).toMatchObject({ sessionId: sid, memberId: 'w-1', messageCount: 6, offset: 0, hasMore: false });
    expect(all.messages.map((x) => x.role)).toEqual([
      'user',
      'assistant',
      'tool_results',
      'assistant',
      'user',
      'assistant',
    ]);
    expect(all.messages.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.messages[0]).toMatchObject({ role: 'user', content: 'first', source: 'host' });
    const runIds = new Set(all.messages.map((x) => x.runId));
    expect(runIds.size).toBe(2);
    for (const msg of all.messages) expect(typeof msg.createdAtMs).toBe('number');
    const page = await m.readSessionHistory(sid, { offset: 2, limit: 3 });
    expect(page).toMatchObject({ offset: 2, limit: 3, hasMore: true, messageCount: 6 });
    expect(page.messages.map((x) => x.index)).toEqual([2, 3, 4]);
    const past = await m.readSessionHistory(sid, { offset: 50 });
    expect(past).toMatchObject({ offset: 6, messages: [], hasMore: false });
    for (const [query, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: -1 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ offset: -1 }, 'offset'],
      [{ offset: 0.5 }, 'offset'],
    ] as const) {
      const err = await rejection(m.readSessionHistory(sid, query));
      expect(err.code).toBe('InvalidInput');
      expect(err.details?.field).toBe(field);
    }
    expect(await rejection(m.readSessionHistory('no-such-session'))).toMatchObject({ code: 'SessionNotFound' });
    expect(await rejection(m.readSessionHistory(''))).toMatchObject({ code: 'InvalidInput' });
  });

  it('keeps retired members as completed and final; collectCompleted does not drain', async () => {
    const llm = new ScriptedLlmClient({ 'w-1': [{ text: 'finished work' }] });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'w-1', runtimeMode: 'turn_driven' });
    await m.spawn({ profile: 'worker', meerkatId: 'w-2' });
    await m.runTurn('w-1', 'do it');
    const sid = await m.memberCurrentSessionId('w-1');
    await m.retire('w-1');
    const status = await m.memberStatus('w-1');
    expect(status).toMatchObject({
      status: 'completed',
      isFinal: true,
      outputPreview: 'finished work',
      currentSessionId: sid,
    });
    const first = await m.collectCompleted();
    expect(first.map((c) => c.memberId)).toEqual(['w-1']);
    expect(await m.collectCompleted()).toEqual(first);
    expect((await m.readSessionHistory(sid)).messageCount).toBe(2);
  });

  it('waitReady resolves when members are idle, waits for a run, and answers a timeout', async () => {
    const gate = deferred();
    const clock = new ManualClock(1_000);
    const llm = new ScriptedLlmClient({ 'w-1': [{ gate: gate.promise, text: 'done' }] }, { clock });
    const m = await mob(llm, { options: { clock } });
    await m.spawn({ profile: 'worker', meerkatId: 'w-1' });
    expect(await m.waitReady({ timeoutMs: 10 })).toMatchObject({ timedOut: false, ready: [{ memberId: 'w-1' }] });
    await m.sendMessage('w-1', 'work');
    const timed = m.waitReady({ timeoutMs: 5_000 });
    await expect.poll(() => clock.pendingSleeps).toBeGreaterThan(0);
    clock.advance(5_000);
    expect(await timed).toEqual({ ready: [], timedOut: true });
    const waiting = m.waitReady({ memberIds: ['w-1'] });
    gate.resolve();
    const result = await waiting;
    expect(result.timedOut).toBe(false);
    expect(result.ready[0]?.status).toMatchObject({ runState: 'idle', queuedMessages: 0, outputPreview: 'done' });
    expect(await rejection(m.waitReady({ memberIds: ['ghost'] }))).toMatchObject({ code: 'MemberNotFound' });
    expect(await rejection(m.waitReady({ timeoutMs: -1 }))).toMatchObject({ code: 'InvalidInput' });
  });

  it('forceCancelMember cancels a run and says whether one was running', async () => {
    const gate = deferred();
    const m = await mob(new ScriptedLlmClient({ 'w-1': [{ gate: gate.promise, text: 'never' }] }));
    await m.spawn({ profile: 'worker', meerkatId: 'w-1', runtimeMode: 'turn_driven' });
    expect(await m.forceCancelMember('w-1')).toBe(false);
    const run = m.runTurn('w-1', 'go');
    await expect.poll(async () => (await m.memberStatus('w-1')).runState).toBe('run_open');
    expect(await m.forceCancelMember('w-1')).toBe(true);
    expect(await rejection(run)).toMatchObject({ code: 'RunCancelled' });
    expect(await m.getMember('w-1')).toBeDefined();
    expect(await rejection(m.forceCancelMember('ghost'))).toMatchObject({ code: 'MemberNotFound' });
  });

  it('spawnHelper runs a task on a short-lived helper, truncates its output and retires it', async () => {
    const llm = new ScriptedLlmClient({
      h1: [{ text: 'héllo wörld, a long answer', usage: { inputTokens: 3, outputTokens: 4 } }],
    });
    const m = await mob(llm);
    const result = await m.spawnHelper('h1', 'summarize', { maxTextBytes: 5, resultLabel: 'summary' });
    expect(result.output).toBe('héll');
    expect(result).toMatchObject({ memberId: 'h1', tokensUsed: 7, turns: 1, toolCalls: 0 });
    expect(await m.getMember('h1')).toBeUndefined();
    expect(await m.memberStatus('h1')).toMatchObject({ status: 'completed', isFinal: true, profile: 'lead' });
    expect(llm.requests[0]?.key).toBe('h1');
    const history = await m.readSessionHistory(result.sessionId);
    expect(history.messages[0]).toMatchObject({ role: 'user', content: 'summarize' });
  });

  it('spawnHelper labels the helper, retires it on failure and cancels at timeoutMs', async () => {
    const clock = new ManualClock(0);
    const llm = new ScriptedLlmClient(
      { bad: [{ error: 'nope' }], slow: [{ delayMs: 60_000, text: 'late' }] },
      { clock },
    );
    const m = await mob(llm, { options: { clock } });
    const labels: Record<string, string>[] = [];
    m.subscribe((e) => {
      if (e.kind === 'mob' && e.event.type === 'member_spawned') labels.push(e.event.labels);
    });
    await expect(m.spawnHelper('bad', 'x', { profile: 'worker', resultLabel: 'r' })).rejects.toThrow(/nope/);
    expect(labels[0]).toEqual({ helper: 'true', result_label: 'r' });
    expect(await m.getMember('bad')).toBeUndefined();
    const slow = m.spawnHelper('slow', 'x', { profile: 'worker', timeoutMs: 1_000 });
    await expect.poll(() => clock.pendingSleeps).toBeGreaterThan(1);
    clock.advance(1_000);
    expect(await rejection(slow)).toMatchObject({ code: 'RunCancelled' });
    expect(await m.getMember('slow')).toBeUndefined();
    expect(await rejection(m.spawnHelper('h', ''))).toMatchObject({ code: 'InvalidInput' });
    expect(await rejection(m.spawnHelper('h', 'x', { maxTextBytes: 0 }))).toMatchObject({
      code: 'InvalidInput',
      details: { field: 'options.max_text_bytes' },
    });
  });

  it('spawnHelper without a profile needs an orchestrator', async () => {
    const m = await mob(new ScriptedLlmClient(), {}, NO_ORCHESTRATOR);
    const err = await rejection(m.spawnHelper('h', 'task'));
    expect(err.code).toBe('InvalidInput');
    expect(err.details?.field).toBe('options.profile');
    expect(err.message).toContain('options.profile');
  });

  it('forkHelper starts the helper from a copy of the source history (whole, or cut at a user message)', async () => {
    const llm = new ScriptedLlmClient({
      src: [{ text: 'a1' }, { toolCalls: [{ name: 'peers' }] }, { text: 'a2' }],
    });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'src', runtimeMode: 'turn_driven' });
    await m.runTurn('src', 'q1');
    await m.runTurn('src', 'q2');
    const full = await m.forkHelper('src', 'f1', 'task one');
    const req1 = llm.requests.find((r) => r.key === 'fallback' && r.request.caller?.memberId === 'f1')?.request;
    expect(req1 && users(req1)).toEqual(['q1', 'q2', 'task one']);
    expect(req1?.messages).toHaveLength(7);
    expect(full.output).toBe('ok');
    expect((await m.readSessionHistory(full.sessionId)).messageCount).toBe(8);
    // last 3 messages: [tool_results, assistant a2] would start mid-exchange; the copy starts at q2's next user message → none
    await m.forkHelper('src', 'f2', 'task two', { type: 'last_messages', count: 4 });
    const req2 = llm.requests.find((r) => r.request.caller?.memberId === 'f2')?.request;
    expect(req2?.messages[0]).toEqual({ role: 'user', content: 'q2' });
    expect(users(req2 as LlmRequest)).toEqual(['q2', 'task two']);
    expect(await rejection(m.forkHelper('src', 'f3', 't', { type: 'last_messages', count: 0 }))).toMatchObject({
      code: 'InvalidInput',
      details: { field: 'fork_context.count' },
    });
    expect(await rejection(m.forkHelper('ghost', 'f4', 't'))).toMatchObject({ code: 'MemberNotFound' });
  });

  it('attachExistingSession continues a stored session; refuses unknown and held sessions', async () => {
    const llm = new ScriptedLlmClient({ old: [{ text: 'remembered' }] });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'old', runtimeMode: 'turn_driven' });
    await m.runTurn('old', 'the secret is 42');
    const sid = await m.memberCurrentSessionId('old');
    expect(await rejection(m.attachExistingSession('worker', 'new', sid))).toMatchObject({ code: 'InvalidInput' });
    await m.retire('old');
    const snap = await m.attachExistingSession('worker', 'new', sid);
    expect(snap).toMatchObject({ meerkatId: 'new', sessionId: sid, profile: 'worker' });
    expect(m.history('new')).toEqual([
      { role: 'user', content: 'the secret is 42' },
      { role: 'assistant', content: 'remembered', toolCalls: [] },
    ]);
    await m.runTurn('new', 'what was it?');
    const page = await m.readSessionHistory(sid);
    expect(page).toMatchObject({ memberId: 'new', messageCount: 4 });
    expect(await rejection(m.attachExistingSession('worker', 'x', 'unknown-session'))).toMatchObject({
      code: 'SessionNotFound',
    });
  });

  it('sets, reads and deletes the mob labels (replace, {} clears)', async () => {
    const m = await mob(new ScriptedLlmClient());
    expect(await m.mobLabels()).toEqual({});
    await m.setMobLabels({ env: 'prod', team: 'a' });
    await m.setMobLabels({ env: 'dev' });
    expect(await m.mobLabels()).toEqual({ env: 'dev' });
    await m.setMobLabels({});
    expect(await m.mobLabels()).toEqual({});
    await m.setMobLabels({ k: 'v' });
    await m.deleteMobLabels();
    expect(await m.mobLabels()).toEqual({});
    expect(await rejection(m.setMobLabels({ k: 1 } as unknown as Record<string, string>))).toMatchObject({
      code: 'InvalidInput',
    });
  });

  it('purgeMember retires and deletes sessions, history, inbox and the final record', async () => {
    const llm = new ScriptedLlmClient({ w: [{ text: 'a' }] });
    const m = await mob(llm);
    await m.spawn({ profile: 'worker', meerkatId: 'w', runtimeMode: 'turn_driven' });
    await m.runTurn('w', 'hello');
    await m.sendMessage('w', 'queued');
    const sid = await m.memberCurrentSessionId('w');
    expect(await rejection(m.purgeMember('w', { retire: false }))).toMatchObject({ code: 'InvalidTransition' });
    const report = await m.purgeMember('w');
    expect(report).toEqual({ memberId: 'w', sessions: 1, messages: 2, inboxItems: 1 });
    expect(await rejection(m.readSessionHistory(sid))).toMatchObject({ code: 'SessionNotFound' });
    expect(await rejection(m.memberStatus('w'))).toMatchObject({ code: 'MemberNotFound' });
    expect(await m.collectCompleted()).toEqual([]);
    expect(await rejection(m.purgeMember('w'))).toMatchObject({ code: 'MemberNotFound' });
  });
});
