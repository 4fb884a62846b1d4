import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type MobEvent, type RkatRpcMob, type RkatRpcMobOptions, createRkatRpcMob, memberRef } from '../src/index.js';
import { FIXTURES, fixtureDefinition, rejection, until } from './helpers.js';

const FAKE = join(FIXTURES, 'fake-rkat-rpc.mjs');
const open: RkatRpcMob[] = [];

async function startMob(env: Record<string, string> = {}, options: RkatRpcMobOptions = {}): Promise<RkatRpcMob> {
  const mob = await createRkatRpcMob(fixtureDefinition('team.toml'), {
    command: process.execPath,
    args: [FAKE],
    pollIntervalMs: 20,
    env,
    ...options,
  });
  open.push(mob);
  return mob;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe('the rkat-rpc member API against a fake rkat-rpc', () => {
  it('says what it answers: every mapped method, never mob labels or purge; not persistent', async () => {
    const mob = await startMob();
    expect(mob.capabilities.persistent).toBe(false);
    expect([...mob.capabilities.memberApi].sort()).toEqual(
      [
        'attach_existing_session',
        'collect_completed',
        'fork_helper',
        'force_cancel_member',
        'member_current_session_id',
        'member_session_ref',
        'member_status',
        'read_session_history',
        'spawn_helper',
        'wait_ready',
      ].sort(),
    );
  });

  it('memberStatus decodes mob/member_status (profile from the roster, tokens, preview, progress)', async () => {
    const mob = await startMob({ FAKE_RKAT_USAGE: '3,4', FAKE_RKAT_REPLY: 'status reply' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'hello');
    const status = await mob.memberStatus('lead-1');
    expect(status).toMatchObject({
      memberId: 'lead-1',
      profile: 'lead',
      status: 'active',
      isFinal: false,
      runState: 'idle',
      tokensUsed: 7,
      outputPreview: 'status reply',
      queuedMessages: 0,
      lastProgressEvent: 'became_idle',
      memberRef: memberRef('team', 'lead-1'),
    });
    expect(status.currentSessionId).toBe((await mob.getMember('lead-1'))?.sessionId);
    expect(status.lastProgressAtMs).toBeGreaterThan(0);
    expect(status.error).toBeUndefined();
    expect((await rejection(mob.memberStatus('ghost'))).code).toBe('MemberNotFound');
    expect((await rejection(mob.memberStatus(' '))).code).toBe('InvalidInput');
  });

  it('memberCurrentSessionId and memberSessionRef read the current session (session/read for its size)', async () => {
    const mob = await startMob();
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'hello');
    const sessionId = await mob.memberCurrentSessionId('lead-1');
    expect(sessionId).toBe((await mob.getMember('lead-1'))?.sessionId);
    const ref = await mob.memberSessionRef('lead-1');
    expect(ref).toMatchObject({
      memberId: 'lead-1',
      sessionId,
      memberRef: memberRef('team', 'lead-1'),
      messageCount: 2,
    });
    expect(ref?.createdAtMs).toBeGreaterThan(0);
    expect((ref?.createdAtMs ?? 1) % 1000).toBe(0);
    expect((await rejection(mob.memberCurrentSessionId('ghost'))).code).toBe('MemberNotFound');
    expect((await rejection(mob.memberSessionRef('ghost'))).code).toBe('MemberNotFound');
  });

  it("readSessionHistory decodes Meerkat's transcript (tool round trip), pages it and keeps a retired member's", async () => {
    const mob = await startMob({ FAKE_RKAT_TOOL_CALL: 'lookup' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'hello');
    const sessionId = await mob.memberCurrentSessionId('lead-1');
    const page = await mob.readSessionHistory(sessionId);
    expect(page).toMatchObject({ sessionId, memberId: 'lead-1', messageCount: 4, offset: 0, hasMore: false });
    expect(page.limit).toBeUndefined();
    const [user, call, results, answer] = page.messages;
    expect(user).toMatchObject({ index: 0, role: 'user', content: 'hello', source: 'host' });
    expect(call?.role === 'assistant' && call.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'lookup', args: { prompt: 'hello' } },
    ]);
    const callId = call?.role === 'assistant' ? call.toolCalls[0]?.id : undefined;
    expect(results).toMatchObject({
      index: 2,
      role: 'tool_results',
      results: [{ toolCallId: callId, name: 'lookup', content: 'lookup done', isError: false }],
    });
    expect(answer).toMatchObject({ index: 3, role: 'assistant', content: 'ok', toolCalls: [] });
    for (const m of page.messages) expect(m.createdAtMs).toBeGreaterThan(0);

    const middle = await mob.readSessionHistory(sessionId, { offset: 1, limit: 2 });
    expect(middle).toMatchObject({ offset: 1, limit: 2, hasMore: true, messageCount: 4 });
    expect(middle.messages.map((m) => [m.index, m.role])).toEqual([
      [1, 'assistant'],
      [2, 'tool_results'],
    ]);

    await mob.retire('lead-1');
    const retired = await mob.readSessionHistory(sessionId, { offset: 3 });
    expect(retired.memberId).toBeUndefined();
    expect(retired.messages.map((m) => m.index)).toEqual([3]);
  });

  it('readSessionHistory rejects unknown or malformed sessions (SessionNotFound) and bad paging (InvalidInput)', async () => {
    const mob = await startMob();
    const unknown = randomUUID();
    const missing = await rejection(mob.readSessionHistory(unknown));
    expect(missing.code).toBe('SessionNotFound');
    expect(missing.message).toContain(unknown);
    expect(missing.details).toMatchObject({ sessionId: unknown, rpcCode: -32001 });
    expect((await rejection(mob.readSessionHistory('not-a-uuid'))).code).toBe('SessionNotFound');
    expect((await rejection(mob.readSessionHistory(''))).code).toBe('InvalidInput');
    const limit = await rejection(mob.readSessionHistory(unknown, { limit: 0 }));
    expect(limit.code).toBe('InvalidInput');
    expect(limit.message).toContain('limit');
    expect((await rejection(mob.readSessionHistory(unknown, { offset: -1 }))).code).toBe('InvalidInput');
  });

  it('collectCompleted answers the final members (their session ended), again on a second call', async () => {
    const mob = await startMob({ FAKE_RKAT_ARCHIVE_AFTER_RUN: 'w1' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.spawn({ profile: 'worker', meerkatId: 'w1' });
    expect(await mob.collectCompleted()).toEqual([]);
    await mob.runTurn('w1', 'work');
    await mob.runTurn('lead-1', 'lead');
    const done = await mob.collectCompleted();
    expect(done.map((c) => c.memberId)).toEqual(['w1']);
    expect(done[0]?.status).toMatchObject({ memberId: 'w1', profile: 'worker', status: 'completed', isFinal: true });
    expect(await mob.collectCompleted()).toEqual(done);
  });

  it('waitReady answers the ready members, or timedOut when Meerkat times the wait out', async () => {
    const mob = await startMob({ FAKE_RKAT_RUN_DELAY_MS: '3000' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.spawn({ profile: 'worker', meerkatId: 'w1' });
    const all = await mob.waitReady();
    expect(all.timedOut).toBe(false);
    expect(all.ready.map((r) => r.memberId).sort()).toEqual(['lead-1', 'w1']);
    expect(all.ready.find((r) => r.memberId === 'w1')?.status).toMatchObject({ profile: 'worker', runState: 'idle' });
    const one = await mob.waitReady({ memberIds: ['w1'], timeoutMs: 60_000 });
    expect(one.ready.map((r) => r.memberId)).toEqual(['w1']);
    await mob.sendMessage('lead-1', 'slow');
    expect(await mob.waitReady({ memberIds: ['lead-1'], timeoutMs: 50 })).toEqual({ ready: [], timedOut: true });
    expect((await rejection(mob.waitReady({ memberIds: ['ghost'] }))).code).toBe('MemberNotFound');
    expect((await rejection(mob.waitReady({ timeoutMs: 0 }))).code).toBe('InvalidInput');
  });

  it('forceCancelMember cancels an open run (true) and answers false when nothing runs', async () => {
    const mob = await startMob({ FAKE_RKAT_RUN_DELAY_MS: '1000' });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e), { member: 'lead-1' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    expect(await mob.forceCancelMember('lead-1')).toBe(false);
    await mob.sendMessage('lead-1', 'slow');
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'turn_started'));
    expect(await mob.forceCancelMember('lead-1')).toBe(true);
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'run_failed'));
    expect(await mob.getMember('lead-1')).toBeDefined();
    expect((await rejection(mob.forceCancelMember('ghost'))).code).toBe('MemberNotFound');
  });

  it('spawnHelper runs the task on a retired-after helper and bounds its output (mob/spawn_helper)', async () => {
    const mob = await startMob({ FAKE_RKAT_REPLY: 'helper answer', FAKE_RKAT_USAGE: '2,5' });
    const result = await mob.spawnHelper('h1', 'summarise', { profile: 'worker', resultLabel: 'summary' });
    expect(result).toMatchObject({
      memberId: 'h1',
      output: 'helper answer',
      tokensUsed: 7,
      usage: { inputTokens: 2, outputTokens: 5 },
      turns: 1,
      toolCalls: 0,
    });
    expect(await mob.getMember('h1')).toBeUndefined();
    const history = await mob.readSessionHistory(result.sessionId);
    expect(history.messages.map((m) => [m.role, 'content' in m ? m.content : ''])).toEqual([
      ['user', 'summarise'],
      ['assistant', 'helper answer'],
    ]);
    expect((await mob.spawnHelper('h2', 'short', { maxTextBytes: 6 })).output).toBe('helper');

    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    expect((await rejection(mob.spawnHelper('lead-1', 'x'))).code).toBe('MemberAlreadyExists');
    expect((await rejection(mob.spawnHelper('h3', 'x', { profile: 'ghost' }))).code).toBe('ProfileNotFound');
    expect((await rejection(mob.spawnHelper('h3', ''))).code).toBe('InvalidInput');
    expect((await rejection(mob.spawnHelper('h3', 'x', { maxTextBytes: 0 }))).code).toBe('InvalidInput');
    const labels = await rejection(mob.spawnHelper('h3', 'x', { labels: { k: 'v' } }));
    expect(labels.code).toBe('UnsupportedForMode');
    expect(labels.message).toContain('labels');
  });

  it("forkHelper starts the helper from the source member's history (full or last messages)", async () => {
    const mob = await startMob();
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'context');
    const full = await mob.forkHelper('lead-1', 'f1', 'continue');
    const fullHistory = await mob.readSessionHistory(full.sessionId);
    expect(fullHistory.messages.map((m) => [m.role, 'content' in m ? m.content : ''])).toEqual([
      ['user', 'context'],
      ['assistant', 'ok'],
      ['user', 'continue'],
      ['assistant', 'ok'],
    ]);
    const last = await mob.forkHelper('lead-1', 'f2', 'again', { type: 'last_messages', count: 1 });
    expect((await mob.readSessionHistory(last.sessionId)).messageCount).toBe(3);
    expect((await rejection(mob.forkHelper('ghost', 'f3', 'x'))).code).toBe('MemberNotFound');
    expect((await rejection(mob.forkHelper('lead-1', 'f3', 'x', { type: 'last_messages', count: -1 }))).code).toBe(
      'InvalidInput',
    );
  });

  it('attachExistingSession spawns a member on a stored session (mob/spawn, launch_mode resume)', async () => {
    const mob = await startMob();
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'remember this');
    const sessionId = await mob.memberCurrentSessionId('lead-1');
    await mob.retire('lead-1');
    const attached = await mob.attachExistingSession('lead', 'lead-2', sessionId);
    expect(attached).toMatchObject({ meerkatId: 'lead-2', profile: 'lead', sessionId });
    await mob.runTurn('lead-2', 'and this');
    const history = await mob.readSessionHistory(sessionId);
    expect(history.memberId).toBe('lead-2');
    expect(history.messageCount).toBe(4);
    const missing = await rejection(mob.attachExistingSession('lead', 'lead-3', randomUUID()));
    expect(missing.code).toBe('SessionNotFound');
    expect(await mob.getMember('lead-3')).toBeUndefined();
    expect((await rejection(mob.attachExistingSession('lead', 'lead-2', sessionId))).code).toBe('MemberAlreadyExists');
    expect((await rejection(mob.attachExistingSession('ghost', 'lead-4', sessionId))).code).toBe('ProfileNotFound');
  });

  it('answers UnsupportedForMode for mob labels and purge (Meerkat has no such methods)', async () => {
    const mob = await startMob();
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const cases: Array<[string, Promise<unknown>]> = [
      ['mob_labels/get', mob.mobLabels()],
      ['mob_labels/set', mob.setMobLabels({ team: 'a' })],
      ['mob_labels/delete', mob.deleteMobLabels()],
      ['purge_member', mob.purgeMember('lead-1')],
    ];
    for (const [method, call] of cases) {
      const err = await rejection(call);
      expect(err.code).toBe('UnsupportedForMode');
      expect(err.message).toContain(`${method} is not supported on the rkat-rpc mob: `);
      expect(err.details).toMatchObject({ method, mode: 'rkat-rpc', mobCode: 'UNSUPPORTED_FOR_MODE' });
      expect(mob.capabilities.memberApi).not.toContain(method);
    }
    expect(await mob.getMember('lead-1')).toBeDefined();
  });

  it('a build without a method leaves it out of capabilities and answers UnsupportedForMode without calling', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'rkat-member-api-')), 'calls.log');
    const mob = await startMob({
      FAKE_RKAT_WITHOUT: 'mob/spawn_helper,session/history',
      FAKE_RKAT_CALL_LOG: log,
    });
    expect(mob.capabilities.memberApi).not.toContain('spawn_helper');
    expect(mob.capabilities.memberApi).not.toContain('read_session_history');
    expect(mob.capabilities.memberApi).toContain('fork_helper');
    const helper = await rejection(mob.spawnHelper('h1', 'x'));
    expect(helper.code).toBe('UnsupportedForMode');
    expect(helper.message).toContain('spawn_helper is not supported on the rkat-rpc mob');
    expect((await rejection(mob.readSessionHistory(randomUUID()))).code).toBe('UnsupportedForMode');
    const calls = readFileSync(log, 'utf8').split('\n');
    expect(calls).not.toContain('mob/spawn_helper');
    expect(calls).not.toContain('session/history');
  });

  it('a listed method the build answers -32601 for rejects with MobCapabilityMissing naming it', async () => {
    const mob = await startMob({ FAKE_RKAT_LACKS: 'mob/wait_ready' });
    expect(mob.capabilities.memberApi).toContain('wait_ready');
    const err = await rejection(mob.waitReady());
    expect(err.code).toBe('MobCapabilityMissing');
    expect(err.message).toContain('mob/wait_ready');
    expect(err.details).toMatchObject({ rpcCode: -32601, method: 'mob/wait_ready' });
  });
});
