import { ManualClock } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { type MobEvent, SpawnMemberSpec, TestClient, createEmbeddedMob, sendMessageOnMob } from '../src/index.js';
import { fixtureDefinition, rejection, until } from './helpers.js';

describe('embedded mob roster', () => {
  it('runs the seed flow: reconcile a worker, send_message_on_mob, TestClient answers ok', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: new TestClient() });
    expect(await mob.status()).toBe('Running');
    const spec = SpawnMemberSpec.fromWire('worker', 'worker-1', 'You are worker-1. Keep responses concise.');
    const report = await mob.reconcile([spec]);
    expect(report).toEqual({ desired: ['worker-1'], retained: [], spawned: ['worker-1'], retired: [] });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e), { member: 'worker-1' });
    const sessionId = await sendMessageOnMob(mob, 'worker-1', 'phase5 happy path interaction');
    const member = await mob.getMember('worker-1');
    expect(sessionId).toBe(member?.sessionId);
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await mob.waitForIdle();
    const completed = events.filter((e) => e.kind === 'agent' && e.event.type === 'run_completed');
    expect(completed.length).toBeGreaterThanOrEqual(1);
    const last = completed[completed.length - 1];
    expect(last?.kind === 'agent' && last.event.type === 'run_completed' && last.event.result).toBe('ok');
    // the kickoff and the host message both reached the member's history
    const history = mob.history('worker-1');
    expect(history.some((m) => m.role === 'user' && m.content.includes('You are worker-1'))).toBe(true);
    expect(history.some((m) => m.role === 'user' && m.content === 'phase5 happy path interaction')).toBe(true);
    await mob.stop();
    expect(await mob.status()).toBe('Stopped');
  });

  it('spawns with auto_wire_orchestrator and lists sorted snapshots', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm: new TestClient() });
    await mob.spawn({ profile: 'worker', meerkatId: 'w-2', labels: { team: 'blue' } });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.spawnMany([
      { profile: 'worker', meerkatId: 'w-1', labels: { team: 'red' } },
      { profile: 'critic', meerkatId: 'c-1', labels: { team: 'red' } },
    ]);
    const members = await mob.listMembers();
    expect(members.map((m) => m.meerkatId)).toEqual(['c-1', 'lead-1', 'w-1', 'w-2']);
    const lead = members.find((m) => m.meerkatId === 'lead-1');
    expect(lead).toMatchObject({
      profile: 'lead',
      state: 'active',
      runtimeMode: 'autonomous_host',
      wiredTo: ['c-1', 'w-1', 'w-2'],
      labels: {},
    });
    expect(members.find((m) => m.meerkatId === 'w-1')?.wiredTo).toEqual(['lead-1']);
    expect((await mob.findMembers('team', 'red')).map((m) => m.meerkatId)).toEqual(['c-1', 'w-1']);
    expect(await mob.getMember('nobody')).toBeUndefined();
    await mob.wire('w-1', 'w-2');
    await mob.wire('w-2', 'w-1'); // idempotent
    expect((await mob.getMember('w-1'))?.wiredTo).toEqual(['lead-1', 'w-2']);
    await mob.unwire('w-1', 'w-2');
    expect((await mob.getMember('w-2'))?.wiredTo).toEqual(['lead-1']);
    await mob.stop();
  });

  it('applies role_wiring at spawn between already-active members of the paired roles', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('roles.toml'), { llm: new TestClient() });
    await mob.spawnMany([
      { profile: 'lead', meerkatId: 'lead' },
      { profile: 'tester', meerkatId: 't1' },
      { profile: 'reviewer', meerkatId: 'r1' },
      { profile: 'tester', meerkatId: 't2' },
    ]);
    expect((await mob.getMember('r1'))?.wiredTo).toEqual(['t1', 't2']);
    expect((await mob.getMember('lead'))?.wiredTo).toEqual([]);
    expect((await mob.getMember('r1'))?.runtimeMode).toBe('turn_driven');
    await mob.stop();
  });

  it('ensureMember twice spawns once and returns the same member', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: new TestClient() });
    const spawned: string[] = [];
    mob.subscribe((e) => {
      if (e.kind === 'mob' && e.event.type === 'member_spawned') spawned.push(e.event.memberId);
    });
    const first = await mob.ensureMember({ profile: 'worker', meerkatId: 'w' });
    const second = await mob.ensureMember({ profile: 'worker', meerkatId: 'w' });
    expect(second.sessionId).toBe(first.sessionId);
    expect(spawned).toEqual(['w']);
    expect(await mob.listMembers()).toHaveLength(1);
    await mob.stop();
  });

  it('reconciles: keeps desired, spawns missing, retires stale, in input order', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: new TestClient() });
    await mob.spawnMany(['a', 'b', 'c'].map((id) => ({ profile: 'worker', meerkatId: id })));
    const keepSession = (await mob.getMember('b'))?.sessionId;
    const report = await mob.reconcile([
      { profile: 'worker', meerkatId: 'd' },
      { profile: 'worker', meerkatId: 'b' },
      { profile: 'lead', meerkatId: 'd' }, // duplicate id: first wins
      { profile: 'lead', meerkatId: 'e' },
    ]);
    expect(report).toEqual({ desired: ['d', 'b', 'e'], retained: ['b'], spawned: ['d', 'e'], retired: ['a', 'c'] });
    expect((await mob.listMembers()).map((m) => `${m.meerkatId}:${m.profile}`)).toEqual([
      'b:worker',
      'd:worker',
      'e:lead',
    ]);
    expect((await mob.getMember('b'))?.sessionId).toBe(keepSession);
    const keep = await mob.reconcile([{ profile: 'worker', meerkatId: 'x' }], { retireStale: false });
    expect(keep).toEqual({ desired: ['x'], retained: [], spawned: ['x'], retired: [] });
    expect(await mob.listMembers()).toHaveLength(4);
    await mob.stop();
  });

  it('retires and respawns with a new session, the same labels and the restored wiring', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: new TestClient() });
    await mob.spawn({ profile: 'lead', meerkatId: 'l', labels: { k: 'v' } });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    await mob.wire('l', 'w');
    const before = await mob.getMember('w');
    const after = await mob.respawn('w');
    expect(after.sessionId).not.toBe(before?.sessionId);
    expect(after.wiredTo).toEqual(['l']);
    expect((await mob.respawn('l')).labels).toEqual({ k: 'v' });
    await mob.retire('w');
    expect(await mob.getMember('w')).toBeUndefined();
    expect((await mob.getMember('l'))?.wiredTo).toEqual([]);
    expect((await rejection(mob.retire('w'))).code).toBe('MemberNotFound');
    const log = mob.events().map((e) => e.event.type);
    expect(log).toContain('member_retired');
    expect(log).toContain('members_unwired');
    await mob.stop();
  });

  it('rejects bad host input with NotExternallyAddressable, InvalidInput and MemberNotFound', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm: new TestClient() });
    await mob.spawn({ profile: 'critic', meerkatId: 'critic-1' });
    await mob.spawn({ profile: 'worker', meerkatId: 'worker-1' });
    const notAddressable = await rejection(mob.sendMessage('critic-1', 'hello'));
    expect(notAddressable.code).toBe('NotExternallyAddressable');
    expect(notAddressable.details).toMatchObject({
      mobCode: 'NOT_EXTERNALLY_ADDRESSABLE',
      memberId: 'critic-1',
      profile: 'critic',
    });
    expect(notAddressable.message).toContain('mob member is not externally addressable: critic-1');
    const blankId = await rejection(mob.sendMessage('  ', 'hello'));
    expect(blankId).toMatchObject({ code: 'InvalidInput', message: 'member_id must not be empty' });
    expect(blankId.details?.mobCode).toBe('INVALID_INPUT');
    expect((await rejection(mob.sendMessage('worker-1', ''))).message).toBe('content must not be empty');
    expect((await rejection(sendMessageOnMob(mob, 'worker-1', '   '))).code).toBe('InvalidInput');
    expect((await rejection(mob.sendMessage('worker-1', [{ type: 'text', text: '' }]))).code).toBe('InvalidInput');
    const missing = await rejection(mob.sendMessage('ghost', 'hello'));
    expect(missing).toMatchObject({ code: 'MemberNotFound', message: 'mob member not found: ghost' });
    expect(missing.details?.mobCode).toBe('MEMBER_NOT_FOUND');
    expect((await rejection(mob.retire(''))).code).toBe('InvalidInput');
    expect((await rejection(mob.respawn('ghost'))).code).toBe('MemberNotFound');
    await mob.stop();
  });

  it('rejects a spawn from a profile with tools.comms = false, naming the reason', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm: new TestClient() });
    const err = await rejection(mob.spawn({ profile: 'silent', meerkatId: 's' }));
    expect(err.code).toBe('WiringError');
    expect(err.message).toContain("profile 'silent' has tools.comms=false; mob meerkats require comms=true");
    expect(err.details).toMatchObject({ mobCode: 'WIRING_ERROR', field: 'profiles.silent.tools.comms' });
    expect(await mob.listMembers()).toEqual([]);
    expect((await rejection(mob.spawn({ profile: 'ghost', meerkatId: 'g' }))).code).toBe('ProfileNotFound');
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    expect((await rejection(mob.spawn({ profile: 'worker', meerkatId: 'w' }))).code).toBe('MemberAlreadyExists');
    expect((await rejection(mob.spawn({ profile: 'worker', meerkatId: '' }))).code).toBe('InvalidInput');
    await mob.stop();
  });

  it('refuses work after stop with InvalidTransition and accepts it again after resume', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: new TestClient() });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    await mob.stop();
    const err = await rejection(mob.spawn({ profile: 'worker', meerkatId: 'x' }));
    expect(err.code).toBe('InvalidTransition');
    expect(err.message).toContain('call resume()');
    expect((await rejection(mob.sendMessage('w', 'hi'))).code).toBe('InvalidTransition');
    await mob.resume();
    expect(await mob.status()).toBe('Running');
    const result = await mob.runTurn('w', 'hi');
    expect(result.text).toBe('ok');
    await mob.stop();
  });

  it('resolves a real provider client at spawn, or fails naming the env variable to set', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { options: { env: {} } });
    const lead = await rejection(mob.spawn({ profile: 'lead', meerkatId: 'lead' }));
    expect(lead.code).toBe('MissingProviderKey');
    expect(lead.message).toContain('ANTHROPIC_API_KEY');
    expect(lead.details).toMatchObject({
      mobCode: 'PROVIDER_ERROR',
      envVars: ['RKAT_ANTHROPIC_API_KEY', 'ANTHROPIC_API_KEY'],
    });
    const worker = await rejection(mob.spawn({ profile: 'worker', meerkatId: 'w' }));
    expect(worker.message).toContain('OPENAI_API_KEY');
    expect(await mob.listMembers()).toEqual([]);
    const withKeys = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      options: { env: { ANTHROPIC_API_KEY: 'k', OPENAI_API_KEY: 'k' } },
    });
    await withKeys.spawn({ profile: 'lead', meerkatId: 'lead' });
    await withKeys.spawn({ profile: 'worker', meerkatId: 'w' });
    expect(await withKeys.listMembers()).toHaveLength(2);
    await withKeys.stop();
    await mob.stop();
  });

  it('stamps every event with a member id, an increasing seq and a timestamp', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm: new TestClient(),
      options: { clock: new ManualClock(1_000) },
    });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'worker', meerkatId: 'w', initialMessage: 'start' });
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'run_completed'));
    // One unfiltered subscriber sees every event: seq goes up by exactly one per event.
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    const agent = events.filter((e) => e.kind === 'agent');
    expect(agent.map((e) => e.event.type)).toEqual([
      'run_started',
      'turn_started',
      'text_delta',
      'text_complete',
      'turn_completed',
      'run_completed',
    ]);
    for (const e of agent) {
      expect(e.kind === 'agent' && e.memberId).toBe('w');
      expect(e.timestampMs).toBe(1_000);
    }
    expect(events[0]).toMatchObject({
      kind: 'mob',
      event: { type: 'member_spawned', memberId: 'w', profile: 'worker' },
    });
    await mob.stop();
  });
});
