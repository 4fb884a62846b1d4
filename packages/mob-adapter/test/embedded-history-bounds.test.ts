import { MobKitError } from '@mobkit/core';
import { describe, expect, it } from 'vitest';
import { type LlmMessage, type LlmRequest, ScriptedLlmClient, TestClient, createEmbeddedMob } from '../src/index.js';
import { fixtureDefinition, rejection } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The measure the caps use, computed independently here: UTF-8 bytes of each message as JSON. */
function historyBytes(history: LlmMessage[]): number {
  return history.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m), 'utf8'), 0);
}

/** A distinct text of exactly `bytes` UTF-8 bytes, starting with `tag`. */
function big(tag: string, bytes: number): string {
  return `${tag}:`.padEnd(bytes, 'x');
}

function userTexts(history: LlmMessage[]): string[] {
  return history.flatMap((m) => (m.role === 'user' ? [m.content.slice(0, 12)] : []));
}

describe('embedded member history is bounded by bytes and by count', () => {
  it('keeps the default 8 MiB per member over many 500 KB messages, evicting the oldest first', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm: new TestClient() });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    for (let i = 0; i < 40; i++) await mob.runTurn('lead-1', big(`msg-${String(i).padStart(3, '0')}`, 500 * KiB));

    const history = mob.history('lead-1');
    expect(historyBytes(history)).toBeLessThanOrEqual(8 * MiB);
    expect(historyBytes(history)).toBeGreaterThan(7 * MiB); // it keeps as much as fits, not a fraction
    expect(history[0]?.role).toBe('user'); // evicts whole exchanges: never starts with an orphan reply
    const users = userTexts(history);
    expect(users.at(-1)).toBe('msg-039:xxxx');
    expect(users).not.toContain('msg-000:xxxx');
    expect(history.at(-1)).toEqual({ role: 'assistant', content: 'ok', toolCalls: [] });
    await mob.close();
  });

  it('honours historyMaxBytes and historyMaxMessages, also after a burst drained into one run', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm: new TestClient(),
      options: { historyMaxBytes: 1 * MiB, historyMaxMessages: 6 },
    });
    await mob.spawnMany([
      { profile: 'lead', meerkatId: 'lead-1' },
      { profile: 'worker', meerkatId: 'worker-1' },
    ]);
    // a burst: all queued before the member's pump runs, so one run holds them all while it runs
    await Promise.all(Array.from({ length: 12 }, (_, i) => mob.sendMessage('lead-1', big(`burst-${i}`, 300 * KiB))));
    await mob.waitForIdle(5000);
    const lead = mob.history('lead-1');
    expect(historyBytes(lead)).toBeLessThanOrEqual(1 * MiB);
    expect(lead.length).toBeGreaterThan(0);
    expect(lead.at(-1)).toEqual({ role: 'assistant', content: 'ok', toolCalls: [] });

    for (let i = 0; i < 10; i++) await mob.runTurn('worker-1', `small ${i}`);
    const worker = mob.history('worker-1');
    expect(worker).toHaveLength(6);
    expect(userTexts(worker)).toEqual(['small 7', 'small 8', 'small 9']);
    await mob.close();
  });

  it("never evicts the current run's messages while it runs: the model still sees its trigger and tool results", async () => {
    const trigger = big('trigger', 400 * KiB);
    const llm = new ScriptedLlmClient();
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm,
      options: { historyMaxBytes: 300 * KiB },
    });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', big('earlier', 200 * KiB));
    llm.script(
      'lead-1',
      { toolCalls: [{ name: 'peers', args: {} }] },
      { toolCalls: [{ name: 'peers', args: {} }] },
      { text: 'done' },
    );
    await mob.runTurn('lead-1', trigger);

    const last: LlmRequest | undefined = llm.requests.at(-1)?.request;
    expect(last?.messages[0]).toEqual({ role: 'user', content: trigger });
    expect(last?.messages.map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool_results',
      'assistant',
      'tool_results',
    ]);
    expect(last?.system).toContain("You are a member of mob 'team'"); // the system prompt is never part of eviction
    expect(historyBytes(mob.history('lead-1'))).toBeLessThanOrEqual(300 * KiB); // bounded again once the run ended
    await mob.close();
  });
});

describe('one message is bounded at ingress', () => {
  it('refuses an oversized host send with MessageTooLarge naming the limit and the size, and keeps nothing', async () => {
    const llm = new TestClient();
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const tooBig = big('huge', 1 * MiB + 1);
    const err = await rejection(mob.sendMessage('lead-1', tooBig));
    expect(err.code).toBe('MessageTooLarge');
    expect(err.message).toContain('1048577 bytes');
    expect(err.message).toContain('1048576 bytes');
    expect(err.message).toContain('max_message_bytes');
    expect(err.details).toMatchObject({ memberId: 'lead-1', sizeBytes: 1 * MiB + 1, limitBytes: 1 * MiB });
    await mob.waitForIdle(1000);
    expect(mob.history('lead-1')).toEqual([]);
    expect(llm.calls).toBe(0);

    // exactly at the limit is accepted; blocks are measured too
    await mob.runTurn('lead-1', big('fits', 1 * MiB));
    expect(mob.history('lead-1')).toHaveLength(2);
    const blocks = await rejection(mob.runTurn('lead-1', [{ type: 'text', text: tooBig }]));
    expect(blocks.code).toBe('MessageTooLarge');
    expect(mob.history('lead-1')).toHaveLength(2);
    await mob.close();
  });

  it('maps MessageTooLarge to -32602 over JSON-RPC and 413 over HTTP', () => {
    const err = new MobKitError('MessageTooLarge', 'x');
    expect(err.rpcCode).toBe(-32602);
    expect(err.httpStatus).toBe(413);
  });

  it('refuses an oversized prompt and initial message under a configured maxMessageBytes', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm: new TestClient(),
      options: { maxMessageBytes: 10 * KiB },
    });
    const spawn = await rejection(
      mob.spawn({ profile: 'lead', meerkatId: 'lead-1', initialMessage: big('init', 10 * KiB + 1) }),
    );
    expect(spawn.code).toBe('MessageTooLarge');
    expect(spawn.message).toContain('10240 bytes');
    expect(await mob.getMember('lead-1')).toBeUndefined();

    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    const multiByte = 'é'.repeat(5 * KiB + 1); // 5121 characters, 10242 UTF-8 bytes
    const turn = await rejection(mob.runTurn('lead-1', multiByte));
    expect(turn.code).toBe('MessageTooLarge');
    expect(turn.details).toMatchObject({ sizeBytes: 10242, limitBytes: 10 * KiB });
    expect(mob.history('lead-1')).toEqual([]);
    await mob.close();
  });

  it("refuses an oversized peer message as the sender's tool error and queues nothing for the peer", async () => {
    const llm = new ScriptedLlmClient({
      'lead-1': [
        { toolCalls: [{ name: 'send_message', args: { peer_id: 'worker-1', body: big('peer', 10 * KiB + 1) } }] },
        { text: 'gave up' },
      ],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm,
      options: { maxMessageBytes: 10 * KiB },
    });
    await mob.spawnMany([
      { profile: 'lead', meerkatId: 'lead-1' },
      { profile: 'worker', meerkatId: 'worker-1' },
    ]);
    await mob.runTurn('lead-1', 'delegate');
    await mob.waitForIdle(5000);
    const results = mob.history('lead-1').find((m) => m.role === 'tool_results');
    expect(results?.role === 'tool_results' && results.results[0]).toMatchObject({ isError: true });
    expect(results?.role === 'tool_results' && results.results[0]?.content).toMatch(
      /10241 bytes.*over the limit of 10240 bytes/,
    );
    expect(mob.history('worker-1')).toEqual([]);
    expect(llm.requests.some((r) => r.key === 'worker-1' || r.request.caller?.memberId === 'worker-1')).toBe(false);
    await mob.close();
  });

  it('truncates a tool result past maxMessageBytes so one call cannot blow the history', async () => {
    const llm = new ScriptedLlmClient({
      'lead-1': [{ toolCalls: [{ name: 'dump', args: {} }] }, { text: 'read it' }],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), {
      llm,
      options: {
        maxMessageBytes: 10 * KiB,
        tools: [
          {
            definition: { name: 'dump', description: 'a huge result', inputSchema: { type: 'object' } },
            execute: () => 'é'.repeat(50 * KiB),
          },
        ],
      },
    });
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.runTurn('lead-1', 'dump it');
    const results = mob.history('lead-1').find((m) => m.role === 'tool_results');
    const content = results?.role === 'tool_results' ? (results.results[0]?.content ?? '') : '';
    expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(10 * KiB);
    expect(content).toMatch(/^é+/);
    expect(content).not.toContain('\uFFFD'); // cut on a character boundary
    expect(content).toContain('truncated: 102400 bytes, over the limit of 10240 bytes');
    await mob.close();
  });
});
