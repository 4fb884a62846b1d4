import { describe, expect, it } from 'vitest';
import {
  type LlmRequest,
  MOB_COMMUNICATION_INSTRUCTION,
  type MobEvent,
  ScriptedLlmClient,
  TestClient,
  createEmbeddedMob,
} from '../src/index.js';
import { fixtureDefinition, rejection, until } from './helpers.js';

function lastUser(request: LlmRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i];
    if (m?.role === 'user') return m.content;
  }
  return '';
}

function lastToolResult(request: LlmRequest): { content: string; isError: boolean } | undefined {
  const m = request.messages[request.messages.length - 1];
  return m?.role === 'tool_results' ? m.results[0] : undefined;
}

describe('embedded agent loop', () => {
  it('holds a three-member scripted conversation over wired comms', async () => {
    const llm = new ScriptedLlmClient({
      'lead-1': [
        (req) => ({
          toolCalls: [{ name: 'send_message', args: { peer_id: 'worker-1', body: `Task: ${lastUser(req)}` } }],
        }),
        { text: 'Asked the worker.' },
        (req) => ({
          toolCalls: [{ name: 'send_message', args: { peer_id: 'critic-1', body: `Check this. ${lastUser(req)}` } }],
        }),
        { text: 'Asked the critic.' },
        (req) => ({ text: `Final answer. ${lastUser(req)}` }),
      ],
      'worker-1': [
        (req) => ({ toolCalls: [{ name: 'reply_to_peer', args: { body: `Done: ${lastUser(req).split('\n')[1]}` } }] }),
        { text: 'replied' },
      ],
      'critic-1': [
        { toolCalls: [{ name: 'peers', args: {} }] },
        (req) => ({
          toolCalls: [{ name: 'reply_to_peer', args: { body: `Verified; my peers: ${lastToolResult(req)?.content}` } }],
        }),
        { text: 'checked' },
      ],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawnMany([
      { profile: 'lead', meerkatId: 'lead-1' },
      { profile: 'worker', meerkatId: 'worker-1' },
      { profile: 'critic', meerkatId: 'critic-1' },
    ]);
    await mob.sendMessage('lead-1', 'count the files');
    await mob.waitForIdle(5000);

    const workerHistory = mob.history('worker-1');
    expect(workerHistory[0]).toEqual({ role: 'user', content: 'Peer message from lead-1:\nTask: count the files' });
    const criticHistory = mob.history('critic-1');
    expect(criticHistory[0]).toEqual({
      role: 'user',
      content: 'Peer message from lead-1:\nCheck this. Peer message from worker-1:\nDone: Task: count the files',
    });
    const leadUsers = mob
      .history('lead-1')
      .filter((m) => m.role === 'user')
      .map((m) => (m.role === 'user' ? m.content : ''));
    expect(leadUsers[0]).toBe('count the files');
    expect(leadUsers[1]).toBe('Peer message from worker-1:\nDone: Task: count the files');
    expect(leadUsers[2]).toMatch(/^Peer message from critic-1:\nVerified; my peers: /);
    expect(leadUsers[2]).toContain('"peer_id":"lead-1"');
    expect(leadUsers[2]).toContain('"name":"team/lead/lead-1"');
    const finals = events.filter(
      (e) => e.kind === 'agent' && e.memberId === 'lead-1' && e.event.type === 'run_completed',
    );
    expect(finals).toHaveLength(3);
    const final = finals[2];
    expect(final?.kind === 'agent' && final.event.type === 'run_completed' && final.event.result).toMatch(
      /^Final answer\. Peer message from critic-1:/,
    );
    // every scripted reply was used, no fallbacks
    expect(llm.requests.filter((r) => r.key === 'fallback')).toEqual([]);
    const tools = events.filter((e) => e.kind === 'agent' && e.event.type === 'tool_execution_completed');
    expect(
      tools.every((e) => e.kind === 'agent' && e.event.type === 'tool_execution_completed' && !e.event.isError),
    ).toBe(true);
    expect(
      events.some(
        (e) =>
          e.kind === 'agent' &&
          e.memberId === 'worker-1' &&
          e.event.type === 'peer_content_ingested' &&
          e.event.peer === 'lead-1',
      ),
    ).toBe(true);
    await mob.stop();
  });

  it('rejects a send to an unwired peer with an error tool result, not a crash', async () => {
    const llm = new ScriptedLlmClient({
      'worker-1': [
        { toolCalls: [{ name: 'send_message', args: { peer_id: 'critic-1', body: 'psst' } }] },
        (req) => ({ text: `tool said: ${lastToolResult(req)?.content}` }),
      ],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e));
    await mob.spawn({ profile: 'lead', meerkatId: 'lead-1' });
    await mob.spawn({ profile: 'worker', meerkatId: 'worker-1' });
    await mob.spawn({ profile: 'critic', meerkatId: 'critic-1' });
    const result = await mob.runTurn('worker-1', 'go');
    expect(result.text).toContain(
      "tool said: peer_not_found_or_not_trusted: 'critic-1' is not a wired peer of 'worker-1'",
    );
    expect(result.toolCalls).toBe(1);
    expect(result.turns).toBe(2);
    const completed = events.find((e) => e.kind === 'agent' && e.event.type === 'tool_execution_completed');
    expect(
      completed?.kind === 'agent' && completed.event.type === 'tool_execution_completed' && completed.event.isError,
    ).toBe(true);
    await mob.waitForIdle();
    expect(mob.history('critic-1')).toEqual([]);
    // once wired, the same send arrives
    await mob.wire('worker-1', 'critic-1');
    llm.script(
      'worker-1',
      { toolCalls: [{ name: 'send_message', args: { peer_id: 'critic-1', body: 'psst' } }] },
      { text: 'sent' },
    );
    await mob.runTurn('worker-1', 'again');
    await mob.waitForIdle();
    expect(mob.history('critic-1')[0]).toEqual({ role: 'user', content: 'Peer message from worker-1:\npsst' });
    await mob.stop();
  });

  it('cancels a run with an AbortSignal and keeps the member usable', async () => {
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: TestClient.delayed(10_000) });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const events: MobEvent[] = [];
    mob.subscribe((e) => events.push(e), { member: 'w' });
    const controller = new AbortController();
    const run = mob.runTurn('w', 'take your time', { signal: controller.signal });
    await until(() => events.some((e) => e.kind === 'agent' && e.event.type === 'turn_started'));
    controller.abort();
    const err = await rejection(run);
    expect(err.code).toBe('RunCancelled');
    expect(err.details?.mobCode).toBe('CANCELLED');
    const failed = events.find((e) => e.kind === 'agent' && e.event.type === 'run_failed');
    expect(failed?.kind === 'agent' && failed.event.type === 'run_failed' && failed.event.errorClass).toBe('cancelled');
    expect(events.some((e) => e.kind === 'agent' && e.event.type === 'run_completed')).toBe(false);
    // host cancel() of an autonomous run
    const mob2 = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: TestClient.delayed(10_000) });
    const seen: string[] = [];
    mob2.subscribe((e) => {
      if (e.kind === 'agent') seen.push(e.event.type);
    });
    await mob2.spawn({ profile: 'worker', meerkatId: 'w', initialMessage: 'kickoff' });
    await until(() => seen.includes('turn_started'));
    await mob2.cancel('w');
    await mob2.waitForIdle();
    expect(seen).toContain('run_failed');
    await mob2.stop();
    await mob.stop();
  });

  it('queues messages that arrive mid-run for the next run', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const llm = new ScriptedLlmClient({
      w: [{ text: 'first', gate }, (req) => ({ text: `second saw: ${lastUser(req)}` })],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm });
    const runs: Array<{ prompt: string } | { result: string }> = [];
    mob.subscribe((e) => {
      if (e.kind !== 'agent') return;
      if (e.event.type === 'run_started') runs.push({ prompt: e.event.prompt });
      if (e.event.type === 'run_completed') runs.push({ result: e.event.result });
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    await mob.sendMessage('w', 'one');
    await until(() => runs.length === 1);
    await mob.sendMessage('w', 'two');
    await mob.sendMessage('w', 'three');
    open(); // the first run answers only now, with two and three waiting in the inbox
    await mob.waitForIdle();
    expect(runs).toEqual([
      { prompt: 'one' },
      { result: 'first' },
      { prompt: 'two\n\nthree' },
      { result: 'second saw: three' },
    ]);
    await mob.stop();
  });

  it('dispatches the tool calls of one turn concurrently', async () => {
    const started: string[] = [];
    let release!: () => void;
    const bothStarted = new Promise<void>((r) => (release = r));
    const barrierTool = (name: string) => ({
      definition: { name, description: 'waits for its sibling', inputSchema: { type: 'object' } },
      async execute() {
        started.push(name);
        if (started.length === 2) release();
        await bothStarted; // a sequential dispatcher would wait here forever (and time out)
        return `${name} done`;
      },
    });
    const llm = new ScriptedLlmClient({
      w: [
        {
          toolCalls: [
            { name: 'left', args: {} },
            { name: 'right', args: {} },
          ],
        },
        (req) => {
          const last = req.messages[req.messages.length - 1];
          return {
            text:
              last?.role === 'tool_results'
                ? last.results.map((r) => `${r.content}/${r.isError}`).join(',')
                : 'no results',
          };
        },
      ],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm,
      options: { tools: [barrierTool('left'), barrierTool('right')], toolTimeoutMs: 2000 },
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const result = await mob.runTurn('w', 'go');
    expect(result.text).toBe('left done/false,right done/false');
    expect(started.sort()).toEqual(['left', 'right']);
    await mob.stop();
  });

  it('turns a slow or failing tool into an error result', async () => {
    const llm = new ScriptedLlmClient({
      w: [
        {
          toolCalls: [
            { name: 'slow', args: {} },
            { name: 'boom', args: {} },
            { name: 'nope', args: {} },
          ],
        },
        (req) => {
          const last = req.messages[req.messages.length - 1];
          return {
            text:
              last?.role === 'tool_results'
                ? last.results.map((r) => `${r.name}:${r.isError}:${r.content}`).join('|')
                : '',
          };
        },
      ],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), {
      llm,
      options: {
        toolTimeoutMs: 50,
        tools: [
          {
            definition: { name: 'slow', description: '', inputSchema: {} },
            execute: () => new Promise(() => undefined),
          },
          {
            definition: { name: 'boom', description: '', inputSchema: {} },
            execute: () => {
              throw new Error('kaput');
            },
          },
        ],
      },
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const result = await mob.runTurn('w', 'go');
    expect(result.text).toBe(
      "slow:true:tool slow timed out after 50 ms|boom:true:kaput|nope:true:unknown tool: nope (this member's tools: peers, send_message, reply_to_peer, slow, boom)",
    );
    await mob.stop();
  });

  it('stops a looping model with the max-turns guard', async () => {
    const loop = { toolCalls: [{ name: 'peers', args: {} }] };
    const llm = new ScriptedLlmClient({}, { fallback: loop });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm, options: { maxTurns: 3 } });
    const types: string[] = [];
    mob.subscribe((e) => {
      if (e.kind === 'agent' && (e.event.type === 'turn_started' || e.event.type === 'run_failed'))
        types.push(e.event.type === 'run_failed' ? `failed:${e.event.errorClass}` : 'turn');
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const err = await rejection(mob.runTurn('w', 'loop forever'));
    expect(err.code).toBe('MaxTurnsExceeded');
    expect(err.message).toContain('max-turns guard (3 LLM turns)');
    expect(types).toEqual(['turn', 'turn', 'turn', 'failed:max_turns_exceeded']);
    await mob.stop();
  });

  it('builds the system prompt from skills, the comms instruction and additional instructions', async () => {
    const llm = new ScriptedLlmClient();
    const mob = await createEmbeddedMob(fixtureDefinition('team.toml'), { llm });
    await mob.spawn({ profile: 'worker', meerkatId: 'w', additionalInstructions: ['Answer in French.'] });
    await mob.runTurn('w', 'hello');
    const req = llm.requests[0]?.request;
    expect(req?.system).toContain('You are a worker. Do the task');
    expect(req?.system).toContain(MOB_COMMUNICATION_INSTRUCTION);
    expect(req?.system.endsWith('Answer in French.')).toBe(true);
    expect(req?.model).toBe('gpt-5.2');
    expect(req?.tools.map((t) => t.name)).toEqual(['peers', 'send_message', 'reply_to_peer']);
    expect(req?.caller).toEqual({ memberId: 'w', profile: 'worker' });
    await mob.stop();
  });

  it('runs turn_driven members only on runTurn, with queued peer messages first', async () => {
    const llm = new ScriptedLlmClient({
      t1: [{ toolCalls: [{ name: 'send_message', args: { peer_id: 'r1', body: 'please review' } }] }, { text: 'sent' }],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('roles.toml'), { llm });
    await mob.spawn({ profile: 'tester', meerkatId: 't1' });
    await mob.spawn({ profile: 'reviewer', meerkatId: 'r1' });
    await mob.runTurn('t1', 'ask the reviewer');
    await mob.waitForIdle();
    expect(mob.history('r1')).toEqual([]); // queued, not run
    llm.script('r1', (req) => ({ text: req.messages.map((m) => (m.role === 'user' ? m.content : '')).join(' | ') }));
    const result = await mob.runTurn('r1', 'now go');
    expect(result.text).toBe('Peer message from t1:\nplease review | now go');
    await mob.stop();
  });

  it('steer interrupts the current run and starts one with the new message', async () => {
    const never = new Promise<void>(() => undefined);
    const llm = new ScriptedLlmClient({ w: [{ text: 'slow', gate: never }, { text: 'fast' }] });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm });
    const seen: string[] = [];
    mob.subscribe((e) => {
      if (e.kind === 'agent' && (e.event.type === 'run_failed' || e.event.type === 'run_started'))
        seen.push(e.event.type === 'run_started' ? `start:${e.event.prompt}` : 'failed');
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    await mob.sendMessage('w', 'slow');
    await until(() => seen.length === 1);
    await mob.sendMessage('w', 'urgent', { handlingMode: 'steer' });
    await mob.waitForIdle();
    expect(seen).toEqual(['start:slow', 'failed', 'start:urgent']);
    await mob.stop();
  });

  it('retries a transient provider failure before any output, and fails a permanent one', async () => {
    const llm = new ScriptedLlmClient({
      w: [{ error: 'overloaded', retryable: true }, { text: 'second try' }, { error: 'bad request' }],
    });
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm, options: { llmRetryBaseMs: 1 } });
    const seen: string[] = [];
    mob.subscribe((e) => {
      if (e.kind !== 'agent') return;
      if (e.event.type === 'retrying') seen.push(`retrying:${e.event.attempt}`);
      if (e.event.type === 'run_failed') seen.push(`failed:${e.event.errorClass}`);
    });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    expect((await mob.runTurn('w', 'go')).text).toBe('second try');
    const err = await rejection(mob.runTurn('w', 'again'));
    expect(err.code).toBe('ProviderError');
    expect(err.message).toContain('bad request');
    expect(seen).toEqual(['retrying:1', 'failed:provider_error']);
    await mob.stop();
  });

  it('cancels even when the LLM client ignores the AbortSignal', async () => {
    const stubborn = {
      provider: 'stubborn',
      async *stream() {
        await new Promise(() => undefined); // never yields, never looks at the signal
        yield { type: 'done' as const, stopReason: 'end_turn' as const };
      },
    };
    const mob = await createEmbeddedMob(fixtureDefinition('phase5.toml'), { llm: stubborn });
    await mob.spawn({ profile: 'worker', meerkatId: 'w' });
    const controller = new AbortController();
    const run = mob.runTurn('w', 'hang', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await rejection(run)).code).toBe('RunCancelled');
    await mob.retire('w'); // does not hang on the stuck stream
    expect(await mob.listMembers()).toEqual([]);
    await mob.stop();
  });
});
