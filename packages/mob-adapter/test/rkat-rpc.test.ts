import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MobDefinition,
  type MobEvent,
  type RkatRpcMob,
  type RkatRpcMobOptions,
  createRkatRpcMob,
} from '../src/index.js';
import { FIXTURES, fixtureDefinition, rejection, until } from './helpers.js';

const FAKE = join(FIXTURES, 'fake-rkat-rpc.mjs');
const open: RkatRpcMob[] = [];

async function startMob(
  definition = fixtureDefinition('team.toml'),
  options: RkatRpcMobOptions = {},
): Promise<RkatRpcMob> {
  const mob = await createRkatRpcMob(definition, {
    command: process.execPath,
    args: [FAKE],
    pollIntervalMs: 20,
    ...options,
  });
  open.push(mob);
  return mob;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe('createRkatRpcMob against a fake rkat-rpc', () => {
  it('handshakes, creates the mob and streams agent events of a host send', async () => {
    const mob = await startMob();
    expect(mob.kind).toBe('rkat-rpc');
    expect(mob.mobId).toBe('team');
    expect(mob.contractVersion).toBe('0.8.26');
    expect(await mob.status()).toBe('Running');
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const sessionId = await mob.sendMessage('lead-1', 'hello');
    expect(sessionId).toBe((await mob.getMember('lead-1'))?.sessionId);
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'run_completed'));
    await until(() => events.some((e) => e.kind === 'mob' && e.event.type === 'member_spawned'));
    const agent = events.filter((e): e is Extract<MobEvent, { kind: 'agent' }> => e.kind === 'agent');
    expect(agent.map((e) => e.event.type)).toEqual([
      'run_started',
      'turn_started',
      'text_delta',
      'text_complete',
      'turn_completed',
      'run_completed',
    ]);
    for (const e of agent) {
      expect(e.memberId).toBe('lead-1');
      expect(e.profile).toBe('lead');
      expect(e.sessionId).toBe(sessionId);
      expect(e.timestampMs).toBeGreaterThan(0);
    }
    const seqs = agent.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(agent[0]?.event).toEqual({ type: 'run_started', sessionId, prompt: 'hello' });
    const spawned = events.find((e) => e.kind === 'mob' && e.event.type === 'member_spawned');
    expect(spawned?.kind === 'mob' && spawned.event).toEqual({
      type: 'member_spawned',
      memberId: 'lead-1',
      profile: 'lead',
      runtimeMode: 'autonomous_host',
      labels: {},
    });
  });

  it('runs turns: member_send + stream for autonomous members, mob/turn_start for turn_driven ones', async () => {
    const mob = await startMob(fixtureDefinition('roles.toml'), { env: { FAKE_RKAT_REPLY: 'fake says hi' } });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead' });
    await mob.spawn({ profile: 'reviewer', meerkatId: 'r1' });
    const auto = await mob.runTurn('lead', 'go');
    expect(auto).toMatchObject({
      text: 'fake says hi',
      turns: 1,
      toolCalls: 0,
      usage: { inputTokens: 0, outputTokens: 0 },
    });
    expect(auto.sessionId).toBe((await mob.getMember('lead'))?.sessionId);
    const driven = await mob.runTurn('r1', 'review');
    expect(driven.text).toBe('fake says hi');
    expect(driven.sessionId).toBe((await mob.getMember('r1'))?.sessionId);
  });

  it('cancels an autonomous run through its AbortSignal (mob/force_cancel)', async () => {
    const mob = await startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_RUN_DELAY_MS: '1000' } });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e), { member: 'lead-1' });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const controller = new AbortController();
    const run = mob.runTurn('lead-1', 'slow', { signal: controller.signal });
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'turn_started'));
    controller.abort();
    expect((await rejection(run)).code).toBe('RunCancelled');
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'run_failed'));
    const failed = events.find((e) => e.kind === 'agent' && e.event.type === 'run_failed');
    expect(failed?.kind === 'agent' && failed.event.type === 'run_failed' && failed.event.errorClass).toBe('cancelled');
  });

  it('maps server errors to the same codes as the embedded mob', async () => {
    const mob = await startMob();
    expect((await rejection(mob.spawn({ profile: 'ghost', meerkatId: 'g' }))).code).toBe('ProfileNotFound');
    const notAddr = await rejection(
      (async () => {
        await mob.spawn({ profile: 'critic', meerkatId: 'c' });
        await mob.sendMessage('c', 'hi');
      })(),
    );
    expect(notAddr.code).toBe('NotExternallyAddressable');
    expect(notAddr.details).toMatchObject({
      mobCode: 'NOT_EXTERNALLY_ADDRESSABLE',
      rpcCode: -32602,
      method: 'mob/member_send',
    });
    expect((await rejection(mob.runTurn('c', 'x'))).code).toBe('NotExternallyAddressable');
    expect((await rejection(mob.spawn({ profile: 'lead', meerkatId: 'c' }))).code).toBe('MemberAlreadyExists');
    expect((await rejection(mob.retire('ghost'))).code).toBe('MemberNotFound');
    await mob.stop();
    expect(await mob.status()).toBe('Stopped');
    expect((await rejection(mob.spawn({ profile: 'lead', meerkatId: 'late' }))).code).toBe('InvalidTransition');
    await mob.resume();
    expect(await mob.status()).toBe('Running');
  });

  it('reports BUSY as retryable MobBusy', async () => {
    const mob = await startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_BUSY_ON: 'mob/retire' } });
    await mob.spawn({ profile: 'lead', meerkatId: 'l' });
    const busy = await rejection(mob.retire('l'));
    expect(busy.code).toBe('MobBusy');
    expect(busy.details).toMatchObject({ retryable: true, mobCode: 'BUSY' });
    await mob.retire('l'); // the retry succeeds
    expect(await mob.getMember('l')).toBeUndefined();
  });

  it('rejects a definition the server refuses (empty profiles) with DefinitionError', async () => {
    const err = await rejection(startMob(MobDefinition.fromToml('[mob]\nid = "empty"\n')));
    expect(err.code).toBe('DefinitionError');
    expect(err.message).toContain('empty_profiles');
  });

  it('fails with MobTransport when the process exits or sends a non-JSON line, and every later call fails too', async () => {
    const crash = await startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_CRASH_ON: 'mob/retire' } });
    await crash.spawn({ profile: 'lead', meerkatId: 'l' });
    const exited = await rejection(crash.retire('l'));
    expect(exited.code).toBe('MobTransport');
    expect(exited.message).toContain('exited with code 3');
    expect((await rejection(crash.listMembers())).code).toBe('MobTransport');
    const bad = await startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_BAD_FRAME_ON: 'mob/members' } });
    const frame = await rejection(bad.listMembers());
    expect(frame.code).toBe('MobTransport');
    expect(frame.message).toContain('not JSON-RPC: "this is not json"');
    await until(() => !alive(bad.pid));
  });

  it('refuses a server with another contract version or without mob methods, and a missing binary', async () => {
    const version = await rejection(startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_CONTRACT: '0.9.1' } }));
    expect(version.code).toBe('MobVersionMismatch');
    expect(version.message).toContain('contract 0.9.1');
    const noMob = await rejection(startMob(fixtureDefinition('team.toml'), { env: { FAKE_RKAT_NO_MOB: '1' } }));
    expect(noMob.code).toBe('MobCapabilityMissing');
    expect(noMob.message).toContain('mob/create');
    const missing = await rejection(
      createRkatRpcMob(fixtureDefinition('team.toml'), { command: '/nonexistent/rkat-rpc' }),
    );
    expect(missing.code).toBe('MobTransport');
  });

  it('refuses a message past maxMessageBytes with MessageTooLarge before it reaches the process', async () => {
    const mob = await startMob(fixtureDefinition('team.toml'), { maxMessageBytes: 1024 });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    const tooBig = 'x'.repeat(1025);
    const spawn = await rejection(mob.spawn({ profile: 'lead', meerkatId: 'lead-1', initialMessage: tooBig }));
    expect(spawn.code).toBe('MessageTooLarge');
    expect(spawn.details).toMatchObject({ memberId: 'lead-1', sizeBytes: 1025, limitBytes: 1024 });
    expect(await mob.getMember('lead-1')).toBeUndefined();

    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const send = await rejection(mob.sendMessage('lead-1', tooBig));
    expect(send.code).toBe('MessageTooLarge');
    expect(send.message).toContain('1025 bytes, over the limit of 1024 bytes');
    expect((await rejection(mob.runTurn('lead-1', tooBig))).code).toBe('MessageTooLarge');
    await mob.sendMessage('lead-1', 'x'.repeat(1024));
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'run_completed'));
    const started = events.filter((e) => e.kind === 'agent' && e.event.type === 'run_started');
    expect(started.map((e) => e.kind === 'agent' && e.event.type === 'run_started' && e.event.prompt.length)).toEqual([
      1024,
    ]);
  });

  it('ends the child process on close()', async () => {
    const mob = await startMob();
    const pid = mob.pid;
    expect(alive(pid)).toBe(true);
    await mob.close();
    expect(alive(pid)).toBe(false);
    expect((await rejection(mob.listMembers())).code).toBe('MobTransport');
  });
});
