import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type MobEvent,
  type MobRuntime,
  SpawnMemberSpec,
  TestClient,
  createEmbeddedMob,
  createRkatRpcMob,
  sendMessageOnMob,
} from '../src/index.js';
import { FIXTURES, fixtureDefinition, rejection, until } from './helpers.js';

// One roster scenario, run unchanged against both implementations of the MobRuntime port.
const implementations: Array<[string, () => Promise<MobRuntime>]> = [
  ['embedded', () => createEmbeddedMob(fixtureDefinition('team.toml'), { llm: new TestClient() })],
  [
    'rkat-rpc',
    () =>
      createRkatRpcMob(fixtureDefinition('team.toml'), {
        command: process.execPath,
        args: [join(FIXTURES, 'fake-rkat-rpc.mjs')],
        pollIntervalMs: 20,
      }),
  ],
];

const started: MobRuntime[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.close()));
});

describe.each(implementations)('roster scenario on the %s mob', (_name, create) => {
  it('spawns, wires, ensures, reconciles, messages, retires and respawns the same way', async () => {
    const mob = await create();
    started.push(mob);
    expect(await mob.status()).toBe('Running');
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));

    // orchestrator first, so auto_wire_orchestrator finds it
    await mob.spawn(SpawnMemberSpec.fromWire('lead', 'lead-1', null, { app: 'ctx' }, { tier: 'core' }));
    await mob.spawnMany([
      SpawnMemberSpec.fromWire('worker', 'worker-1', null, null, { tier: 'edge' }),
      SpawnMemberSpec.fromWire('critic', 'critic-1', null, null, { tier: 'edge' }),
    ]);
    let members = await mob.listMembers();
    expect(members.map((m) => [m.meerkatId, m.profile, m.state, m.wiredTo])).toEqual([
      ['critic-1', 'critic', 'active', ['lead-1']],
      ['lead-1', 'lead', 'active', ['critic-1', 'worker-1']],
      ['worker-1', 'worker', 'active', ['lead-1']],
    ]);
    expect((await mob.findMembers('tier', 'edge')).map((m) => m.meerkatId)).toEqual(['critic-1', 'worker-1']);

    // ensure twice: one member, same session
    const first = await mob.ensureMember({ profile: 'worker', meerkatId: 'worker-2' });
    const second = await mob.ensureMember({ profile: 'worker', meerkatId: 'worker-2' });
    expect(first.sessionId).toBeDefined();
    expect(second.sessionId).toBe(first.sessionId);
    expect((await mob.listMembers()).filter((m) => m.meerkatId === 'worker-2')).toHaveLength(1);

    // explicit wiring
    await mob.wire('worker-1', 'critic-1');
    expect((await mob.getMember('critic-1'))?.wiredTo).toEqual(['lead-1', 'worker-1']);
    await mob.unwire('worker-1', 'critic-1');
    expect((await mob.getMember('critic-1'))?.wiredTo).toEqual(['lead-1']);

    // host sends
    const session = await sendMessageOnMob(mob, 'worker-1', 'phase5 happy path interaction');
    expect(session).toBe((await mob.getMember('worker-1'))?.sessionId);
    await until(() =>
      events.some((e) => e.kind === 'agent' && e.memberId === 'worker-1' && e.event.type === 'run_completed'),
    );
    const done = events.find(
      (e) => e.kind === 'agent' && e.memberId === 'worker-1' && e.event.type === 'run_completed',
    );
    expect(done?.kind === 'agent' && done.event.type === 'run_completed' && done.event.result).toBe('ok');
    expect((await rejection(mob.sendMessage('critic-1', 'hi'))).code).toBe('NotExternallyAddressable');
    expect((await rejection(mob.sendMessage('ghost', 'hi'))).code).toBe('MemberNotFound');
    expect((await rejection(mob.sendMessage('', 'hi'))).code).toBe('InvalidInput');
    expect((await rejection(mob.sendMessage('worker-1', ' '))).code).toBe('InvalidInput');
    const noComms = await rejection(mob.spawn({ profile: 'silent', meerkatId: 's' }));
    expect(noComms.code).toBe('WiringError');
    expect(noComms.message).toContain('tools.comms=false');

    // reconcile with stale retirement, in input order
    const report = await mob.reconcile([
      { profile: 'worker', meerkatId: 'worker-3' },
      { profile: 'lead', meerkatId: 'lead-1' },
      { profile: 'worker', meerkatId: 'worker-1' },
    ]);
    expect(report).toEqual({
      desired: ['worker-3', 'lead-1', 'worker-1'],
      retained: ['lead-1', 'worker-1'],
      spawned: ['worker-3'],
      retired: ['critic-1', 'worker-2'],
    });
    members = await mob.listMembers();
    expect(members.map((m) => m.meerkatId)).toEqual(['lead-1', 'worker-1', 'worker-3']);
    expect(members.find((m) => m.meerkatId === 'lead-1')?.wiredTo).toEqual(['worker-1', 'worker-3']);
    expect(members.find((m) => m.meerkatId === 'lead-1')?.labels).toEqual({ tier: 'core' });

    // respawn keeps profile, labels and wiring, with a new session
    const before = await mob.getMember('worker-1');
    const after = await mob.respawn('worker-1');
    expect(after).toMatchObject({
      meerkatId: 'worker-1',
      profile: 'worker',
      labels: { tier: 'edge' },
      wiredTo: ['lead-1'],
    });
    expect(after.sessionId).not.toBe(before?.sessionId);
    await mob.retire('worker-3');
    expect((await mob.listMembers()).map((m) => m.meerkatId)).toEqual(['lead-1', 'worker-1']);
    expect((await rejection(mob.retire('worker-3'))).code).toBe('MemberNotFound');

    // the mob log saw the roster changes
    await until(() =>
      events.some((e) => e.kind === 'mob' && e.event.type === 'member_retired' && e.event.memberId === 'worker-3'),
    );
    const log = events.filter((e) => e.kind === 'mob').map((e) => (e.kind === 'mob' ? e.event.type : ''));
    expect(log).toContain('member_spawned');
    expect(log).toContain('members_wired');
    expect(log).toContain('members_unwired');

    await mob.stop();
    expect(await mob.status()).toBe('Stopped');
    expect((await rejection(mob.spawn({ profile: 'worker', meerkatId: 'late' }))).code).toBe('InvalidTransition');
  });
});
