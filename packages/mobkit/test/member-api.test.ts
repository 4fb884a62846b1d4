// The member API over JSON-RPC on a real UnifiedRuntime over the embedded mob (ScriptedLlmClient),
// on the in-memory store and on SQLite: per method the happy path with the original's snake_case
// shapes, its errors (through the one error table) and the purge's redaction of the event log.
import { type LlmRequest, ScriptedLlmClient, memberRef } from '@mobkit/mob-adapter';
import { waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type Json, type MemberApiHarness, type StoreKind, startHarness } from './member-api-setup.js';

const MOB_ID = 'member-api-mob';

let harnesses: MemberApiHarness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
  harnesses = [];
});

/** The texts of a model request's messages, in order (tool results by their content). */
function texts(request: LlmRequest | undefined): string[] {
  return (request?.messages ?? []).map((m) =>
    m.role === 'tool_results' ? m.results.map((r) => r.content).join('|') : m.content,
  );
}

/** Asserts a JSON-RPC error: `code`, and the MobKit code in `data.code`. */
function expectError(answer: { error?: { code: number; data?: Json } }, rpc: number, code: string) {
  expect(answer.error, JSON.stringify(answer)).toMatchObject({ code: rpc, data: { code } });
}

describe.each<StoreKind>(['memory', 'sqlite'])('the member API on the %s store', (storeKind) => {
  async function start(llm: ScriptedLlmClient): Promise<MemberApiHarness> {
    const h = await startHarness({ store: storeKind, llm });
    harnesses.push(h);
    return h;
  }

  /** Spawns a worker, sends it `text` and waits until its run is over. */
  async function turn(h: MemberApiHarness, memberId: string, text: string, profile = 'worker') {
    await h.runtime.ensureMember({ profile, meerkatId: memberId });
    await h.runtime.sendMessage(memberId, text);
    await h.mob.waitForIdle(10_000);
  }

  it('member_status, member_current_session_id and member_session_ref after a turn; MemberNotFound for an unknown id', async () => {
    const llm = new ScriptedLlmClient({
      'w-1': [{ text: 'the answer is 42', usage: { inputTokens: 10, outputTokens: 5 } }],
    });
    const h = await start(llm);
    await turn(h, 'w-1', 'what is it?');
    const sessionId = (await h.runtime.getMember('w-1'))?.sessionId;
    expect(typeof sessionId).toBe('string');

    const status = await h.call('mobkit/member_status', { member_id: 'w-1' });
    expect(status.result).toEqual({
      member_id: 'w-1',
      profile: 'worker',
      status: 'active',
      is_final: false,
      tokens_used: 15,
      output_preview: 'the answer is 42',
      current_session_id: sessionId,
      queued_messages: 0,
      progress: {
        run_state: 'idle',
        in_flight_work: 0,
        last_progress_at_ms: expect.any(Number),
        last_progress_event: 'became_idle',
        health: 'healthy',
      },
      member_ref: memberRef(MOB_ID, 'w-1'),
      // The turn's 10 + 5 tokens, per model (no budget is set, so no budget field).
      usage_by_model: { 'gpt-5.2': { input_tokens: 10, output_tokens: 5 } },
    });
    expect(status.result.progress.last_progress_at_ms).toBeGreaterThan(0);
    expect('error' in status.result).toBe(false);

    expect((await h.call('mobkit/member_current_session_id', { member_id: 'w-1' })).result).toEqual({
      member_id: 'w-1',
      session_id: sessionId,
    });
    const ref = await h.call('mobkit/member_session_ref', { member_id: 'w-1' });
    expect(ref.result).toEqual({
      member_id: 'w-1',
      session_id: sessionId,
      member_ref: memberRef(MOB_ID, 'w-1'),
      created_at_ms: expect.any(Number),
      message_count: 2,
    });
    expect(ref.result.created_at_ms).toBeGreaterThan(0);

    for (const method of ['mobkit/member_status', 'mobkit/member_current_session_id', 'mobkit/member_session_ref']) {
      const missing = await h.call(method, { member_id: 'nobody' });
      expectError(missing, -32602, 'MemberNotFound');
      expect(missing.error?.message).toContain('nobody');
    }
  });

  it("read_session_history: every committed message in Meerkat's serialization, paged by offset and limit", async () => {
    const llm = new ScriptedLlmClient({
      'lead-1': [
        { toolCalls: [{ id: 'call_1', name: 'send_message', args: { peer_id: 'w-1', body: 'count the files' } }] },
        { text: 'asked the worker' },
      ],
      'w-1': [{ text: '3 files' }],
    });
    const h = await start(llm);
    await h.runtime.spawnMany([
      { profile: 'lead', meerkatId: 'lead-1' },
      { profile: 'worker', meerkatId: 'w-1' },
    ]);
    await h.runtime.mobHandle().wire('lead-1', 'w-1');
    await h.runtime.sendMessage('lead-1', 'start');
    await h.mob.waitForIdle(10_000);
    const leadSession = (await h.runtime.getMember('lead-1'))?.sessionId as string;
    const workerSession = (await h.runtime.getMember('w-1'))?.sessionId as string;

    const lead = await h.call('mobkit/read_session_history', { session_id: leadSession });
    expect(lead.result).toMatchObject({
      session_id: leadSession,
      message_count: 4,
      offset: 0,
      has_more: false,
    });
    expect('limit' in lead.result).toBe(false);
    const messages = lead.result.messages as Json[];
    expect(messages.map((m) => m.index)).toEqual([0, 1, 2, 3]);
    expect(messages[0]).toMatchObject({ role: 'user', content: 'start', render_metadata: { class: 'user_prompt' } });
    expect(messages[1]).toMatchObject({
      role: 'block_assistant',
      blocks: [
        {
          block_type: 'tool_use',
          data: { id: 'call_1', name: 'send_message', args: { peer_id: 'w-1', body: 'count the files' } },
        },
      ],
      stop_reason: 'tool_use',
    });
    expect(messages[2]).toMatchObject({
      role: 'tool_results',
      results: [{ tool_use_id: 'call_1', content: expect.any(String), is_error: false }],
    });
    expect(messages[3]).toMatchObject({
      role: 'block_assistant',
      blocks: [{ block_type: 'text', data: { text: 'asked the worker' } }],
      stop_reason: 'end_turn',
    });
    for (const m of messages) expect(new Date(m.created_at).toISOString()).toBe(m.created_at);
    // One run wrote the four messages: Meerkat's identity.run_id carries it.
    expect(messages[0].identity?.run_id).toEqual(expect.any(String));
    expect(new Set(messages.map((m) => m.identity?.run_id))).toEqual(new Set([messages[0].identity.run_id]));

    const worker = await h.call('mobkit/read_session_history', { session_id: workerSession, limit: null });
    expect(worker.result.message_count).toBe(2);
    expect(worker.result.messages[0]).toMatchObject({
      role: 'user',
      render_metadata: { class: 'peer_message' },
      peer: 'lead-1',
    });
    expect(worker.result.messages[0].content).toContain('count the files');
    expect(worker.result.messages[1]).toMatchObject({
      role: 'block_assistant',
      blocks: [{ block_type: 'text', data: { text: '3 files' } }],
    });

    const page = await h.call('mobkit/read_session_history', { session_id: leadSession, offset: 1, limit: 2 });
    expect(page.result).toMatchObject({ message_count: 4, offset: 1, limit: 2, has_more: true });
    expect(page.result.messages).toEqual(messages.slice(1, 3));
    const tail = await h.call('mobkit/read_session_history', { session_id: leadSession, offset: 3, limit: 5 });
    expect(tail.result).toMatchObject({ offset: 3, limit: 5, has_more: false });
    expect(tail.result.messages).toEqual(messages.slice(3));
    const past = await h.call('mobkit/read_session_history', { session_id: leadSession, offset: 10 });
    expect(past.result).toMatchObject({ message_count: 4, has_more: false, messages: [] });

    const unknown = await h.call('mobkit/read_session_history', { session_id: 'no-such-session' });
    expectError(unknown, -32602, 'SessionNotFound');
    expect(unknown.error?.message).toContain('no-such-session');
  });

  it('spawn_helper: runs one task on a short-lived member and answers its result, bounded by max_text_bytes; collect_completed lists it', async () => {
    const llm = new ScriptedLlmClient({
      'h-1': [{ text: 'summary: all good', usage: { inputTokens: 3, outputTokens: 4 } }],
      'h-2': [{ text: 'second helper' }],
    });
    const h = await start(llm);
    await h.runtime.spawn({ profile: 'worker', meerkatId: 'w-1' });
    const result = await h.call('mobkit/spawn_helper', {
      agent_identity: 'h-1',
      task: 'summarize the logs',
      result_label: 'summary',
      max_text_bytes: 8,
      options: { role: 'helper', runtime_mode: 'turn_driven', backend: 'session' },
    });
    expect(result.result).toEqual({
      output: 'summary:',
      tokens_used: 7,
      session_id: expect.any(String),
      member_id: 'h-1',
      turns: 1,
      tool_calls: 0,
      usage: { input_tokens: 3, output_tokens: 4 },
    });
    expect(texts(llm.requests.find((r) => r.key === 'h-1')?.request)).toEqual(['summarize the logs']);
    // The older name of the field works too.
    const older = await h.call('mobkit/spawn_helper', {
      meerkat_id: 'h-2',
      task: 'again',
      options: { role: 'helper' },
    });
    expect(older.result).toMatchObject({ output: 'second helper', member_id: 'h-2' });

    const active = (await h.runtime.listMembers()).filter((m) => m.state === 'active').map((m) => m.meerkatId);
    expect(active).toEqual(['w-1']);
    const completed = await h.call('mobkit/collect_completed');
    const done = (completed.result.completed as Json[]).map((c) => c.member_id).sort();
    expect(done).toEqual(['h-1', 'h-2']);
    for (const entry of completed.result.completed as Json[]) {
      expect(entry.snapshot).toMatchObject({ member_id: entry.member_id, is_final: true, profile: 'helper' });
    }
    // Non-draining: the same members again.
    expect((await h.call('mobkit/collect_completed')).result).toEqual(completed.result);

    expectError(
      await h.call('mobkit/spawn_helper', { agent_identity: 'h-3', task: 'x', options: { role: 'nope' } }),
      -32602,
      'ProfileNotFound',
    );
    expectError(
      await h.call('mobkit/spawn_helper', { agent_identity: 'w-1', task: 'x', options: { role: 'helper' } }),
      -32602,
      'MemberAlreadyExists',
    );
  });

  it('fork_helper: the helper starts from the source member’s history (full, or the last messages)', async () => {
    const llm = new ScriptedLlmClient({
      'w-1': [{ text: 'first answer' }, { text: 'second answer' }],
      'f-1': [{ text: 'forked full' }],
      'f-2': [{ text: 'forked last' }],
    });
    const h = await start(llm);
    await turn(h, 'w-1', 'first question');
    await turn(h, 'w-1', 'second question');

    const full = await h.call('mobkit/fork_helper', {
      source_member_id: 'w-1',
      agent_identity: 'f-1',
      task: 'continue',
      options: { role: 'helper' },
    });
    expect(full.result).toMatchObject({ output: 'forked full', member_id: 'f-1', turns: 1 });
    expect(texts(llm.requests.find((r) => r.key === 'f-1')?.request)).toEqual([
      'first question',
      'first answer',
      'second question',
      'second answer',
      'continue',
    ]);

    const last = await h.call('mobkit/fork_helper', {
      source_member_id: 'w-1',
      meerkat_id: 'f-2',
      task: 'go on',
      fork_context: { type: 'last_messages', count: 2 },
      options: { role: 'helper' },
    });
    expect(last.result).toMatchObject({ output: 'forked last', member_id: 'f-2' });
    expect(texts(llm.requests.find((r) => r.key === 'f-2')?.request)).toEqual([
      'second question',
      'second answer',
      'go on',
    ]);
    // The source is untouched.
    expect((await h.call('mobkit/member_session_ref', { member_id: 'w-1' })).result.message_count).toBe(4);

    expectError(
      await h.call('mobkit/fork_helper', { source_member_id: 'nobody', agent_identity: 'f-3', task: 'x' }),
      -32602,
      'MemberNotFound',
    );
  });

  it('attach_existing_session: a new member continues a stored session; SessionNotFound, ProfileNotFound, a session already held', async () => {
    const llm = new ScriptedLlmClient({
      'w-1': [{ text: 'noted' }],
      'w-2': [(request) => ({ text: `recalled ${texts(request).length} messages` })],
    });
    const h = await start(llm);
    await turn(h, 'w-1', 'remember the code word: kiwi');
    const sessionId = (await h.runtime.getMember('w-1'))?.sessionId as string;
    await h.runtime.retireMember('w-1');
    expectError(
      await h.call('mobkit/attach_existing_session', { role: 'ghost', agent_identity: 'w-3', session_id: sessionId }),
      -32602,
      'ProfileNotFound',
    );

    const attached = await h.call('mobkit/attach_existing_session', {
      role: 'worker',
      agent_identity: 'w-2',
      session_id: sessionId,
    });
    expect(attached.result).toMatchObject({ meerkat_id: 'w-2', profile: 'worker', state: 'active', wired_to: [] });
    await h.runtime.sendMessage('w-2', 'what was the code word?');
    await h.mob.waitForIdle(10_000);
    expect(texts(llm.requests.find((r) => r.key === 'w-2')?.request)).toEqual([
      'remember the code word: kiwi',
      'noted',
      'what was the code word?',
    ]);

    expectError(
      await h.call('mobkit/attach_existing_session', { profile: 'worker', meerkat_id: 'w-3', session_id: 'nope' }),
      -32602,
      'SessionNotFound',
    );
    // The session is held by w-2 now: no second member may attach it.
    const held = await h.call('mobkit/attach_existing_session', {
      role: 'worker',
      agent_identity: 'w-3',
      session_id: sessionId,
    });
    expectError(held, -32602, 'InvalidInput');
    expect(held.error?.message).toContain('w-2');
  });

  it('wait_ready times out as an answer while a run is open; force_cancel_member cancels it; then the member is ready', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const llm = new ScriptedLlmClient({ 'w-1': [{ text: 'never', gate }] });
    const h = await start(llm);
    try {
      await h.runtime.spawn({ profile: 'worker', meerkatId: 'w-1' });
      await h.runtime.sendMessage('w-1', 'take your time');
      await waitFor('the run to start', () => llm.requests.length > 0);

      const busy = await h.call('mobkit/member_status', { member_id: 'w-1' });
      expect(busy.result.progress).toMatchObject({
        run_state: 'run_open',
        in_flight_work: 1,
        last_progress_event: 'execution_advanced',
      });
      expect(await h.call('mobkit/wait_ready', { timeout_ms: 20, member_ids: ['w-1'] })).toMatchObject({
        result: { ready: [], timeout: true },
      });

      expect((await h.call('mobkit/force_cancel_member', { member_id: 'w-1' })).result).toEqual({
        accepted: true,
        was_running: true,
      });
      await h.mob.waitForIdle(10_000);
      expect((await h.call('mobkit/force_cancel_member', { member_id: 'w-1' })).result).toEqual({
        accepted: true,
        was_running: false,
      });
      const ready = await h.call('mobkit/wait_ready', {});
      expect(ready.result.timeout).toBe(false);
      expect(ready.result.ready).toEqual([
        { member_id: 'w-1', snapshot: expect.objectContaining({ member_id: 'w-1', status: 'active' }) },
      ]);
      expect(ready.result.ready[0].snapshot.progress.run_state).toBe('idle');
      expect((await h.call('mobkit/member_status', { member_id: 'w-1' })).result.status).toBe('active');

      expectError(await h.call('mobkit/force_cancel_member', { member_id: 'nobody' }), -32602, 'MemberNotFound');
    } finally {
      open();
    }
  });

  it('mob_labels: get, set (replaces; null or {} clears), delete', async () => {
    const h = await start(new ScriptedLlmClient());
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: {} });
    expect((await h.call('mobkit/mob_labels/set', { labels: { team: 'blue', tier: 'gold' } })).result).toEqual({
      accepted: true,
    });
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: { team: 'blue', tier: 'gold' } });
    await h.call('mobkit/mob_labels/set', { labels: { team: 'red' } });
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: { team: 'red' } });
    await h.call('mobkit/mob_labels/set', { labels: null });
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: {} });
    await h.call('mobkit/mob_labels/set', { labels: { a: '1' } });
    await h.call('mobkit/mob_labels/set', { labels: {} });
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: {} });
    await h.call('mobkit/mob_labels/set', { labels: { a: '1' } });
    await h.call('mobkit/mob_labels/set');
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: {} });
    await h.call('mobkit/mob_labels/set', { labels: { a: '1' } });
    expect((await h.call('mobkit/mob_labels/delete')).result).toEqual({ accepted: true });
    expect((await h.call('mobkit/mob_labels/get')).result).toEqual({ labels: {} });
    expect((await h.call('mobkit/mob_labels/delete')).result).toEqual({ accepted: true });
  });

  it("purge_member: deletes the member's sessions and history, drops its managed route and redacts its event log; others stay", async () => {
    const llm = new ScriptedLlmClient({
      'w-1': [{ text: 'secret reply' }],
      'w-2': [{ text: 'kept reply' }],
    });
    const h = await start(llm);
    await turn(h, 'w-1', 'my secret is plum');
    await turn(h, 'w-2', 'nothing secret');
    const sessionId = (await h.runtime.getMember('w-1'))?.sessionId as string;
    h.runtime.addRuntimeRoute({
      routeKey: 'mob.member.w-1',
      recipient: 'w-1',
      channel: 'notification',
      sink: 'mob_member',
      targetModule: 'delivery',
    });
    const before = (await h.call('mobkit/query_events', { member_id: 'w-1', limit: 1000 })).result as Json[];
    expect(before.length).toBeGreaterThan(0);
    expect(JSON.stringify(before)).toContain('plum');

    const purged = await h.call('mobkit/purge_member', { member_id: 'w-1' });
    expect(purged.result).toEqual({
      member_id: 'w-1',
      sessions: 1,
      messages: 2,
      inbox_items: 0,
      events_redacted: expect.any(Number),
    });
    const entries = await h.store.events.query({ memberId: 'w-1', afterSeq: 0, limit: 1000 });
    expect(purged.result.events_redacted).toBe(entries.length);
    expect(entries.length).toBeGreaterThanOrEqual(before.length);
    for (const entry of entries) expect(entry.data).toEqual({ redacted: true, reason: 'purged' });
    const after = (await h.call('mobkit/query_events', { member_id: 'w-1', limit: 1000 })).result as Json[];
    expect(after.map((e) => e.seq)).toEqual(entries.map((e) => e.seq));
    expect(JSON.stringify(after)).not.toContain('plum');
    expect(JSON.stringify(after)).not.toContain('secret reply');
    for (const e of after) {
      expect(e.id).toBe(`redacted-${e.seq}`);
      expect(e.event).toMatchObject({ kind: 'agent', agent_id: 'w-1', redacted: true, reason: 'purged' });
    }
    const replay = await h.call('mobkit/events/subscribe', { scope: 'agent', agent_id: 'w-1' });
    expect(replay.error).toBeUndefined();
    expect(JSON.stringify(replay.result)).not.toContain('plum');

    expect(h.runtime.listRuntimeRoutes().map((r) => r.routeKey)).not.toContain('mob.member.w-1');
    expectError(await h.call('mobkit/member_status', { member_id: 'w-1' }), -32602, 'MemberNotFound');
    expectError(await h.call('mobkit/read_session_history', { session_id: sessionId }), -32602, 'SessionNotFound');
    // w-2 is untouched: its history and its events.
    const kept = (await h.call('mobkit/query_events', { member_id: 'w-2', limit: 1000 })).result as Json[];
    expect(JSON.stringify(kept)).toContain('kept reply');
    const w2Session = (await h.runtime.getMember('w-2'))?.sessionId as string;
    expect((await h.call('mobkit/read_session_history', { session_id: w2Session })).result.message_count).toBe(2);

    expectError(await h.call('mobkit/purge_member', { member_id: 'nobody' }), -32602, 'MemberNotFound');
  });

  it('retire_member with purge: true retires, deletes the history and redacts the events; purge must be a boolean', async () => {
    const h = await start(new ScriptedLlmClient({ 'w-1': [{ text: 'damson' }] }));
    await turn(h, 'w-1', 'hi');
    const sessionId = (await h.runtime.getMember('w-1'))?.sessionId as string;
    expectError(await h.call('mobkit/retire_member', { member_id: 'w-1', purge: 'yes' }), -32602, 'RpcInvalidParams');
    expect((await h.call('mobkit/member_status', { member_id: 'w-1' })).result.status).toBe('active');
    const retired = await h.call('mobkit/retire_member', { member_id: 'w-1', purge: true });
    expect(retired.result).toMatchObject({ accepted: true, purged: { sessions: 1, messages: 2, inbox_items: 0 } });
    expect(retired.result.purged.events_redacted).toBeGreaterThan(0);
    expect(await h.runtime.getMember('w-1')).toBeUndefined();
    expectError(await h.call('mobkit/read_session_history', { session_id: sessionId }), -32602, 'SessionNotFound');
    const events = (await h.call('mobkit/query_events', { member_id: 'w-1', limit: 1000 })).result as Json[];
    expect(JSON.stringify(events)).not.toContain('damson');
  });

  it('purge_member with retire: false refuses an active member and changes nothing', async () => {
    const h = await start(new ScriptedLlmClient({ 'w-1': [{ text: 'hello' }] }));
    await turn(h, 'w-1', 'hi');
    const refused = await h.call('mobkit/purge_member', { member_id: 'w-1', retire: false });
    expect(refused.error?.code).toBe(-32602);
    expect(refused.error?.message).toContain('w-1');
    expect((await h.call('mobkit/member_status', { member_id: 'w-1' })).result.status).toBe('active');
    const events = await h.store.events.query({ memberId: 'w-1', afterSeq: 0, limit: 1000 });
    expect(events.some((e) => (e.data as Json).redacted === true)).toBe(false);
  });
});
