// The member API over JSON-RPC on a runtime whose mob is rkat-rpc (the fake Meerkat): capabilities
// list what the connected build answers, the answered methods have the same wire shapes as on the
// embedded mob, and what Meerkat cannot back (mob labels, purge) is UnsupportedForMode (-32602).
import type { MobKitConfig } from '@mobkit/core';
import { MobDefinition, type RkatRpcMob, createRkatRpcMob, memberRef } from '@mobkit/mob-adapter';
import { FAKE_RKAT_RPC } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createRpcHandler } from '../src/rpc/handler.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';
import type { Answer } from './member-api-setup.js';

const MOB_TOML = `
[mob]
id = "member-api-rkat"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;
const NO_MODULES: MobKitConfig = { modules: [], discovery: { namespace: 'rkat', modules: [] }, preSpawn: [] };

let runtimes: UnifiedRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown()));
  runtimes = [];
});

async function start(env: Record<string, string> = {}) {
  const mob = await createRkatRpcMob(MobDefinition.fromToml(MOB_TOML), {
    command: process.execPath,
    args: [FAKE_RKAT_RPC],
    env: { ...process.env, ...env },
  });
  const runtime = await UnifiedRuntime.builder()
    .mobSpec(MobBootstrapSpec.fromMob(mob))
    .moduleConfig(NO_MODULES)
    .timeout(5_000)
    .build();
  runtimes.push(runtime);
  const rpc = createRpcHandler(runtime);
  let id = 0;
  const call = async (method: string, params?: unknown): Promise<Answer> => {
    id += 1;
    const request = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
    return (await rpc.handleText(JSON.stringify(request))) as Answer;
  };
  return { runtime, mob: mob as RkatRpcMob, call };
}

describe('the member API on the rkat-rpc mob', () => {
  it('capabilities: member_api is what the build answers (no labels, no purge); persistent is false', async () => {
    const { mob, call } = await start();
    const caps = (await call('mobkit/capabilities')).result;
    expect(caps.runtime_capabilities.member_api).toEqual(mob.capabilities.memberApi.map((m) => `mobkit/${m}`).sort());
    expect(caps.runtime_capabilities.member_api).toEqual(
      expect.arrayContaining(['mobkit/member_status', 'mobkit/read_session_history', 'mobkit/spawn_helper']),
    );
    for (const absent of ['mobkit/purge_member', 'mobkit/mob_labels/get', 'mobkit/mob_labels/set'])
      expect(caps.runtime_capabilities.member_api).not.toContain(absent);
    expect(caps.runtime_capabilities.persistent).toBe(false);
  });

  it('member_status, read_session_history and spawn_helper answer with the wire shapes', async () => {
    const { runtime, call } = await start({ FAKE_RKAT_USAGE: '4,6' });
    await runtime.spawn({ profile: 'worker', meerkatId: 'w-1' });
    await runtime.sendMessage('w-1', 'hello');
    const ready = await call('mobkit/wait_ready', { timeout_ms: 10_000, member_ids: ['w-1'] });
    expect(ready.result).toMatchObject({ timeout: false, ready: [{ member_id: 'w-1' }] });
    const status = (await call('mobkit/member_status', { member_id: 'w-1' })).result;
    expect(status).toMatchObject({
      member_id: 'w-1',
      profile: 'worker',
      status: 'active',
      is_final: false,
      current_session_id: expect.any(String),
      member_ref: memberRef(runtime.mobHandle().mobId, 'w-1'),
      progress: { run_state: 'idle', in_flight_work: 0 },
    });
    const history = (await call('mobkit/read_session_history', { session_id: status.current_session_id, limit: 10 }))
      .result;
    expect(history).toMatchObject({ session_id: status.current_session_id, offset: 0, limit: 10, has_more: false });
    expect(history.messages[0]).toMatchObject({ role: 'user', content: 'hello' });
    expect(history.messages.at(-1)).toMatchObject({ role: 'block_assistant', stop_reason: 'end_turn' });
    const helper = await call('mobkit/spawn_helper', { agent_identity: 'h-1', task: 'go', max_text_bytes: 1 });
    expect(helper.result).toMatchObject({ output: 'o', session_id: expect.any(String), member_id: 'h-1' });
    expect((await call('mobkit/member_status', { member_id: 'nobody' })).error).toMatchObject({
      code: -32602,
      data: { code: 'MemberNotFound' },
    });
  });

  it('mob labels and purge_member are UnsupportedForMode (-32602), and the purge redacts nothing', async () => {
    const { runtime, call } = await start();
    await runtime.spawn({ profile: 'worker', meerkatId: 'w-1' });
    for (const [method, params] of [
      ['mobkit/mob_labels/get', undefined],
      ['mobkit/mob_labels/set', { labels: { a: 'b' } }],
      ['mobkit/mob_labels/delete', undefined],
      ['mobkit/purge_member', { member_id: 'w-1' }],
    ] as const) {
      const answer = await call(method, params);
      expect(answer.error, method).toMatchObject({ code: -32602, data: { code: 'UnsupportedForMode' } });
      expect(answer.error?.message).toContain('rkat-rpc');
    }
    expect((await runtime.getMember('w-1'))?.state).toBe('active');
  });

  it('a build without session/history: read_session_history is UnsupportedForMode and absent from member_api', async () => {
    const { call } = await start({ FAKE_RKAT_WITHOUT: 'session/history' });
    const caps = (await call('mobkit/capabilities')).result;
    expect(caps.runtime_capabilities.member_api).not.toContain('mobkit/read_session_history');
    expect(caps.runtime_capabilities.member_api).toContain('mobkit/member_status');
    const answer = await call('mobkit/read_session_history', { session_id: '00000000-0000-4000-8000-000000000000' });
    expect(answer.error).toMatchObject({ code: -32602, data: { code: 'UnsupportedForMode' } });
  });
});
