// What UnifiedRuntime does with its mob in the seed's lifecycle tests (e2e_003, e2e_004 in
// ../shared/seed/phase5_lifecycle_e2e.rs), run unchanged on both implementations of the MobRuntime
// port: reconcile members that kick off with an initial message, host sends while they work, drain
// with waitForIdle, and stop.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { FAKE_RKAT_RPC, fixtureDefinition, rejection } from './helpers.js';

const definition = fixtureDefinition('phase5.toml');

/** Each implementation, with runs that take `delayMs` (the seed's `DelayedTestClient`). */
const implementations: Array<[string, (delayMs: number, env?: Record<string, string>) => Promise<MobRuntime>]> = [
  [
    'embedded',
    (delayMs) => createEmbeddedMob(definition, { llm: delayMs > 0 ? TestClient.delayed(delayMs) : new TestClient() }),
  ],
  [
    'rkat-rpc',
    (delayMs, env = {}) =>
      createRkatRpcMob(definition, {
        command: process.execPath,
        args: [FAKE_RKAT_RPC],
        pollIntervalMs: 20,
        env: { FAKE_RKAT_RUN_DELAY_MS: String(delayMs), ...env },
      }),
  ],
];

const started: MobRuntime[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.close()));
});

function spawnSpec(profile: string, memberId: string) {
  return SpawnMemberSpec.fromWire(profile, memberId, `You are ${memberId}. Keep responses concise.`);
}

function runsOf(events: MobEvent[], type: 'run_started' | 'run_completed'): string[] {
  return events.flatMap((e) => (e.kind === 'agent' && e.event.type === type ? [e.memberId] : [])).sort();
}

describe.each(implementations)('the seed lifecycle on the %s mob', (_name, create) => {
  it('reconciles kickoff members, takes a host send, drains with waitForIdle and stops', async () => {
    const mob = await create(150);
    started.push(mob);
    expect(mob.definition).toBe(definition);
    expect(Object.keys(mob.definition.profiles)).toEqual(['lead', 'worker']);
    expect(await mob.status()).toBe('Running');
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));

    const report = await mob.reconcile([spawnSpec('lead', 'lead-1'), spawnSpec('worker', 'worker-1')]);
    expect([...report.spawned].sort()).toEqual(['lead-1', 'worker-1']);
    expect(report.retained).toEqual([]);
    const session = await sendMessageOnMob(mob, 'worker-1', 'phase5 happy path interaction');
    expect(session).toBe((await mob.getMember('worker-1'))?.sessionId);

    await mob.waitForIdle(5_000);
    // every run that was asked for (two kickoffs and the send) has ended by the time the mob is idle
    expect(runsOf(events, 'run_completed')).toEqual(['lead-1', 'worker-1', 'worker-1']);
    expect(runsOf(events, 'run_started')).toEqual(runsOf(events, 'run_completed'));
    expect((await mob.listMembers()).map((m) => m.meerkatId)).toEqual(['lead-1', 'worker-1']);

    await mob.stop();
    expect(await mob.status()).toBe('Stopped');
  });

  it('resolves waitForIdle at once when nothing runs, and rejects with MobTimeout while a run is still going', async () => {
    const mob = await create(300);
    started.push(mob);
    await mob.waitForIdle(100);
    await mob.spawn(SpawnMemberSpec.fromWire('worker', 'worker-1'));
    await mob.waitForIdle(100);
    await sendMessageOnMob(mob, 'worker-1', 'slow');
    const timeout = await rejection(mob.waitForIdle(100));
    expect(timeout).toMatchObject({ code: 'MobTimeout', message: 'mob did not become idle within 100 ms' });
    await mob.waitForIdle(5_000);
  });
});

describe('the rkat-rpc mob without server-reported progress', () => {
  // A child process start plus a 5 s idle wait: more than vitest's default 5 s on two loaded cores.
  it('drains by its own sends and the stream run events', { timeout: 20_000 }, async () => {
    const mob = await createRkatRpcMob(definition, {
      command: process.execPath,
      args: [FAKE_RKAT_RPC],
      pollIntervalMs: 20,
      env: { FAKE_RKAT_RUN_DELAY_MS: '300', FAKE_RKAT_NO_PROGRESS: '1' },
    });
    started.push(mob);
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn(SpawnMemberSpec.fromWire('worker', 'worker-1'));
    await sendMessageOnMob(mob, 'worker-1', 'slow');
    expect((await rejection(mob.waitForIdle(100))).code).toBe('MobTimeout');
    await mob.waitForIdle(5_000);
    expect(runsOf(events, 'run_completed')).toEqual(['worker-1']);
  });
});

describe('the rkat-rpc mob runTurn', () => {
  it('sends with mob/member_send and waits on the stream, without asking mob/member_status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mob-adapter-calls-'));
    try {
      const log = join(dir, 'calls.txt');
      const mob = await createRkatRpcMob(definition, {
        command: process.execPath,
        args: [FAKE_RKAT_RPC],
        env: { FAKE_RKAT_CALL_LOG: log },
      });
      started.push(mob);
      await mob.spawn(SpawnMemberSpec.fromWire('worker', 'worker-1'));
      const before = readFileSync(log, 'utf8').split('\n').length;
      const result = await mob.runTurn('worker-1', 'go');
      expect(result).toMatchObject({ text: 'ok', turns: 1, toolCalls: 0 });
      const calls = readFileSync(log, 'utf8')
        .split('\n')
        .slice(before - 1)
        .filter(Boolean);
      expect(calls).toEqual(['mob/members', 'mob/member_send']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
