// The embedded mob waits only through its clock: LLM retry backoff, tool timeouts and waitForIdle's
// timeout all move with a ManualClock, so their timing is asserted without real sleeps.
import { ManualClock } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { type MobEvent, ScriptedLlmClient, TestClient, createEmbeddedMob } from '../src/index.js';
import { fixtureDefinition, rejection, until } from './helpers.js';

function retryDelays(events: MobEvent[]): number[] {
  return events.flatMap((e) => (e.kind === 'agent' && e.event.type === 'retrying' ? [e.event.delayMs] : []));
}

describe('embedded mob timing on a ManualClock', () => {
  it('backs off 250 ms · 2^attempt between retries, and retries only when the clock reaches each delay', async () => {
    const clock = new ManualClock(0);
    const llm = new ScriptedLlmClient({
      w: [{ error: 'overloaded', retryable: true }, { error: 'overloaded', retryable: true }, { text: 'third try' }],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm, options: { clock } });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    let settled = false;
    const run = mob.runTurn('w', 'go').finally(() => {
      settled = true;
    });

    await until(() => clock.pendingSleeps === 1);
    expect(retryDelays(events)).toEqual([250]);
    expect(llm.requests).toHaveLength(1);
    clock.advance(249);
    await new Promise((r) => setTimeout(r, 20));
    expect(llm.requests).toHaveLength(1); // not yet due
    clock.advance(1);
    await until(() => retryDelays(events).length === 2);
    expect(retryDelays(events)).toEqual([250, 500]);
    expect(llm.requests).toHaveLength(2);
    expect(settled).toBe(false);
    await until(() => clock.pendingSleeps === 1);
    clock.advance(500);
    expect((await run).text).toBe('third try');
    expect(llm.requests).toHaveLength(3);
    expect(clock.pendingSleeps).toBe(0);
    await mob.stop();
  });

  it('uses llmRetryBaseMs and ends a backoff at once when the run is cancelled', async () => {
    const clock = new ManualClock(0);
    const llm = new ScriptedLlmClient({ w: [{ error: 'overloaded', retryable: true }, { text: 'never' }] });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm,
      options: { clock, llmRetryBaseMs: 10_000 },
    });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const controller = new AbortController();
    const run = mob.runTurn('w', 'go', { signal: controller.signal });
    await until(() => clock.pendingSleeps === 1);
    expect(retryDelays(events)).toEqual([10_000]);
    controller.abort();
    expect((await rejection(run)).code).toBe('RunCancelled');
    expect(clock.pendingSleeps).toBe(0); // the backoff's sleep was released
    expect(llm.requests).toHaveLength(1);
    const failed = events.find((e) => e.kind === 'agent' && e.event.type === 'run_failed');
    expect(failed?.kind === 'agent' && failed.event.type === 'run_failed' && failed.event.errorClass).toBe('cancelled');
    await mob.stop();
  });

  it('times a tool out when the clock passes toolTimeoutMs', async () => {
    const clock = new ManualClock(0);
    const llm = new ScriptedLlmClient({ w: [{ toolCalls: [{ name: 'hang' }] }, { text: 'gave up' }] });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm,
      options: {
        clock,
        toolTimeoutMs: 5_000,
        tools: [
          {
            definition: { name: 'hang', description: 'never answers', inputSchema: { type: 'object' } },
            execute: () => new Promise(() => undefined),
          },
        ],
      },
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const run = mob.runTurn('w', 'go');
    await until(() => clock.pendingSleeps === 1);
    clock.advance(5_000);
    expect((await run).text).toBe('gave up');
    const results = mob.history('w').find((m) => m.role === 'tool_results');
    expect(results?.role === 'tool_results' && results.results[0]).toMatchObject({
      isError: true,
      content: 'tool hang timed out after 5000 ms',
    });
    await mob.stop();
  });

  it('rejects waitForIdle with MobTimeout when the clock passes its timeout, and resolves once the work ends', async () => {
    const clock = new ManualClock(0);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const llm = new ScriptedLlmClient({ w: [{ text: 'late', gate }] });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm, options: { clock } });
    await mob.spawn({ profile: 'worker', meerkatId: 'w', initialMessage: 'start' });
    const idle = mob.waitForIdle(1_000);
    await until(() => clock.pendingSleeps === 1);
    clock.advance(1_000);
    const timeout = await rejection(idle);
    expect(timeout).toMatchObject({ code: 'MobTimeout', message: 'mob did not become idle within 1000 ms' });
    const again = mob.waitForIdle(1_000);
    release();
    await again;
    expect(clock.pendingSleeps).toBe(0); // the timeout's sleep was released when the mob went idle
    await mob.stop();
  });

  it("runs the seed's delayed TestClient on the same clock: the text after one delay, the end after two", async () => {
    const clock = new ManualClock(0);
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm: new TestClient({ delayMs: 350, clock }),
      options: { clock },
    });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'worker', meerkatId: 'w', initialMessage: 'start' });
    const types = () => events.flatMap((e) => (e.kind === 'agent' ? [e.event.type] : []));
    await until(() => clock.pendingSleeps === 1);
    expect(types()).toEqual(['run_started', 'turn_started']);
    clock.advance(350);
    await until(() => types().includes('text_delta') && clock.pendingSleeps === 1);
    expect(types()).not.toContain('run_completed');
    clock.advance(350);
    await mob.waitForIdle(1_000_000);
    expect(types().at(-1)).toBe('run_completed');
    await mob.stop();
  });

  it('slices events() from the cursor and names a pruned cursor', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm: new TestClient(),
      options: { eventLogLimit: 4 },
    });
    // mob_created (1), then spawned + wired per member
    await mob.spawn({ profile: 'lead', meerkatId: 'l' }); // 2
    await mob.spawn({ profile: 'worker', meerkatId: 'w1' }); // 3 spawned, 4 wired
    await mob.spawn({ profile: 'worker', meerkatId: 'w2' }); // 5 spawned, 6 wired
    expect(mob.events().map((e) => e.cursor)).toEqual([3, 4, 5, 6]);
    expect(mob.events(4).map((e) => e.cursor)).toEqual([5, 6]);
    expect(mob.events(2, 2).map((e) => e.cursor)).toEqual([3, 4]);
    expect(mob.events(6)).toEqual([]);
    expect(mob.events(4, 1).map((e) => e.event.type)).toEqual(['member_spawned']);
    const stale = await rejection(Promise.resolve().then(() => mob.events(1)));
    expect(stale).toMatchObject({ code: 'StaleCursor', details: { watermark: 2, requested: 1 } });
    await mob.stop();
  });
});
