// The member API's params: every method validates its params by schema before anything runs
// (-32602 naming the field), on a real UnifiedRuntime over the embedded mob; capabilities advertise
// every method (UnsupportedForMode where a mob cannot back one: member-api-rkat.test.ts).
import { TestClient } from '@mobkit/mob-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MemberApiHarness, startHarness } from './member-api-setup.js';

const MEMBER_API = [
  'mobkit/member_status',
  'mobkit/member_current_session_id',
  'mobkit/member_session_ref',
  'mobkit/read_session_history',
  'mobkit/collect_completed',
  'mobkit/wait_ready',
  'mobkit/force_cancel_member',
  'mobkit/spawn_helper',
  'mobkit/fork_helper',
  'mobkit/attach_existing_session',
  'mobkit/mob_labels/get',
  'mobkit/mob_labels/set',
  'mobkit/mob_labels/delete',
  'mobkit/purge_member',
];

let h: MemberApiHarness;
const llm = new TestClient();
beforeAll(async () => {
  h = await startHarness({ llm });
  await h.runtime.spawn({ profile: 'lead', meerkatId: 'lead-1' });
});
afterAll(async () => {
  await h?.close();
});

/** Asserts `-32602` and that the message names `field` (the whole message when `exact`). */
async function expectInvalid(method: string, params: unknown, field: string, exact?: string) {
  const answer = await h.call(method, params);
  expect(answer.error?.code, `${method} ${JSON.stringify(params)}`).toBe(-32602);
  if (exact !== undefined) expect(answer.error?.message).toBe(exact);
  else expect(answer.error?.message, `${method} ${JSON.stringify(params)}`).toContain(field);
  expect(answer.error?.message.startsWith('Invalid params: ')).toBe(true);
  expect(answer.error?.data?.code).toBe('RpcInvalidParams');
}

describe('member API params (-32602 naming the field, before anything runs)', () => {
  it.each([
    'mobkit/member_status',
    'mobkit/member_current_session_id',
    'mobkit/member_session_ref',
    'mobkit/force_cancel_member',
  ])('%s: member_id is required, a non-blank string, and the only key', async (method) => {
    await expectInvalid(method, undefined, 'member_id');
    await expectInvalid(method, {}, 'member_id');
    await expectInvalid(method, { member_id: '' }, 'member_id');
    await expectInvalid(method, { member_id: '   ' }, 'member_id');
    await expectInvalid(method, { member_id: 42 }, 'member_id');
    await expectInvalid(method, { member_id: null }, 'member_id');
    await expectInvalid(method, { member_id: 'lead-1', memberId: 'lead-1' }, 'memberId');
    await expectInvalid(method, ['lead-1'], 'params');
  });

  it('read_session_history: session_id is required; limit must be a positive integer (never "everything"); offset a non-negative integer', async () => {
    const m = 'mobkit/read_session_history';
    await expectInvalid(m, {}, 'session_id');
    await expectInvalid(m, { session_id: '' }, 'session_id');
    await expectInvalid(m, { session_id: 7 }, 'session_id');
    await expectInvalid(m, { session_id: 's', page: 1 }, 'page');
    for (const limit of [0, -1, -0.5, 1.5, '10', true, {}, [], Number.MAX_SAFE_INTEGER + 2]) {
      await expectInvalid(m, { session_id: 's', limit }, 'limit', 'Invalid params: limit must be a positive integer');
    }
    for (const offset of [-1, 1.5, '0', false, {}]) {
      await expectInvalid(
        m,
        { session_id: 's', offset },
        'offset',
        'Invalid params: offset must be a non-negative integer',
      );
    }
  });

  it.each(['mobkit/collect_completed', 'mobkit/mob_labels/get', 'mobkit/mob_labels/delete'])(
    '%s takes no params',
    async (method) => {
      await expectInvalid(method, { member_id: 'lead-1' }, method, `Invalid params: ${method} takes no params`);
      await expectInvalid(method, ['x'], method, `Invalid params: ${method} takes no params`);
    },
  );

  it('wait_ready: timeout_ms a non-negative integer of at most 2^31-1 ms; member_ids an array of non-blank ids', async () => {
    const m = 'mobkit/wait_ready';
    for (const timeout_ms of [-1, 1.5, '100', true, 2 ** 31]) await expectInvalid(m, { timeout_ms }, 'timeout_ms');
    await expectInvalid(m, { member_ids: 'lead-1' }, 'member_ids');
    await expectInvalid(m, { member_ids: [''] }, 'member_ids');
    await expectInvalid(m, { member_ids: [3] }, 'member_ids');
    await expectInvalid(m, { timeout: 10 }, 'timeout');
  });

  it('spawn_helper: agent_identity (or meerkat_id) and task; result_label, max_text_bytes and options checked', async () => {
    const m = 'mobkit/spawn_helper';
    await expectInvalid(m, {}, 'task');
    await expectInvalid(m, { task: 'go' }, 'agent_identity');
    await expectInvalid(m, { agent_identity: 'h-1' }, 'task');
    await expectInvalid(m, { agent_identity: 'h-1', task: '  ' }, 'task');
    await expectInvalid(m, { agent_identity: 'h-1', task: 5 }, 'task');
    await expectInvalid(m, { agent_identity: 'h-1', meerkat_id: 'h-2', task: 'go' }, 'meerkat_id');
    await expectInvalid(m, { agent_identity: '', task: 'go' }, 'agent_identity');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', result_label: '' }, 'result_label');
    for (const max_text_bytes of [0, -4, 2.5, '100']) {
      await expectInvalid(m, { agent_identity: 'h-1', task: 'go', max_text_bytes }, 'max_text_bytes');
    }
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: { runtime_mode: 'forever' } }, 'runtime_mode');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: { backend: 'cloud' } }, 'backend');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: { role: '' } }, 'options.role');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: { profile: 'helper' } }, 'profile');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: { labels: { a: 1 } } }, 'labels');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', options: 'helper' }, 'options');
    await expectInvalid(m, { agent_identity: 'h-1', task: 'go', helper: true }, 'helper');
  });

  it("spawn_helper: backend 'external' is UnsupportedForMode (-32602), naming options.backend", async () => {
    const answer = await h.call('mobkit/spawn_helper', {
      agent_identity: 'h-1',
      task: 'go',
      options: { backend: 'external' },
    });
    expect(answer.error).toMatchObject({ code: -32602, data: { code: 'UnsupportedForMode' } });
    expect(answer.error?.message).toContain('options.backend');
  });

  it('fork_helper: source_member_id, agent_identity and task; fork_context is full_history or last_messages with a positive count', async () => {
    const m = 'mobkit/fork_helper';
    const ok = { source_member_id: 'lead-1', agent_identity: 'f-1', task: 'go' };
    await expectInvalid(m, { agent_identity: 'f-1', task: 'go' }, 'source_member_id');
    await expectInvalid(m, { ...ok, source_member_id: '' }, 'source_member_id');
    await expectInvalid(m, { source_member_id: 'lead-1', task: 'go' }, 'agent_identity');
    await expectInvalid(m, { source_member_id: 'lead-1', agent_identity: 'f-1' }, 'task');
    await expectInvalid(m, { ...ok, fork_context: 'full_history' }, 'fork_context');
    await expectInvalid(m, { ...ok, fork_context: { type: 'some' } }, 'fork_context');
    await expectInvalid(m, { ...ok, fork_context: { type: 'last_messages' } }, 'fork_context.count');
    await expectInvalid(m, { ...ok, fork_context: { type: 'last_messages', count: 0 } }, 'fork_context.count');
    await expectInvalid(m, { ...ok, fork_context: { type: 'last_messages', count: 1.5 } }, 'fork_context.count');
    await expectInvalid(m, { ...ok, fork_context: { type: 'full_history', count: 2 } }, 'count');
    await expectInvalid(m, { ...ok, max_text_bytes: 0 }, 'max_text_bytes');
  });

  it('attach_existing_session: role (or profile), agent_identity (or meerkat_id) and session_id', async () => {
    const m = 'mobkit/attach_existing_session';
    await expectInvalid(m, { agent_identity: 'a-1', session_id: 's' }, 'role');
    await expectInvalid(m, { role: 'worker', session_id: 's' }, 'agent_identity');
    await expectInvalid(m, { role: 'worker', agent_identity: 'a-1' }, 'session_id');
    await expectInvalid(m, { role: 'worker', agent_identity: 'a-1', session_id: '' }, 'session_id');
    await expectInvalid(m, { role: 'worker', profile: 'lead', agent_identity: 'a-1', session_id: 's' }, 'profile');
    await expectInvalid(m, { role: 'worker', agent_identity: 'a-1', session_id: 's', resume: true }, 'resume');
  });

  it('mob_labels/set: labels is a map of string to string', async () => {
    const m = 'mobkit/mob_labels/set';
    await expectInvalid(m, { labels: 'team=blue' }, 'labels');
    await expectInvalid(m, { labels: { team: 1 } }, 'labels');
    await expectInvalid(m, { labels: ['team'] }, 'labels');
    await expectInvalid(m, { labels: {}, merge: true }, 'merge');
  });

  it('purge_member: member_id, and retire a boolean', async () => {
    const m = 'mobkit/purge_member';
    await expectInvalid(m, {}, 'member_id');
    await expectInvalid(m, { member_id: '' }, 'member_id');
    await expectInvalid(m, { member_id: 'lead-1', retire: 'yes' }, 'retire');
    await expectInvalid(m, { member_id: 'lead-1', reason: 'gdpr' }, 'reason');
  });

  it('none of the rejected calls ran: no helper spawned, no member retired, no model call', async () => {
    expect((await h.runtime.listMembers()).map((m) => [m.meerkatId, m.state])).toEqual([['lead-1', 'active']]);
    expect(llm.calls).toBe(0);
  });

  it('capabilities list every member API method, and say which the mob answers and whether it is persistent', async () => {
    const caps = (await h.call('mobkit/capabilities')).result;
    for (const method of MEMBER_API) expect(caps.methods).toContain(method);
    // The embedded mob answers the whole member API; it is persistent with a store (the harness gives it one).
    expect(caps.runtime_capabilities.member_api).toEqual([...MEMBER_API].sort());
    expect(caps.runtime_capabilities.member_api).toEqual(h.mob.capabilities.memberApi.map((m) => `mobkit/${m}`).sort());
    expect(caps.runtime_capabilities.persistent).toBe(true);
  });
});
