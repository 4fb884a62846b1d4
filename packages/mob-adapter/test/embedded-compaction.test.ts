import { describe, expect, it } from 'vitest';
import { SUMMARY_PREFIX, compactForTurn, estimateTokens } from '../src/embedded/compaction.js';
import {
  type LlmClient,
  type LlmEvent,
  type LlmMessage,
  type LlmRequest,
  MobRuntimeError,
  ScriptedLlmClient,
} from '../src/index.js';

const SYSTEM = 'You are worker-1 of the mob. Do the tasks you are given.';
const CALLER = { memberId: 'w1', profile: 'worker' };

/** The estimate's rule, computed independently: UTF-8 bytes of the two JSON texts, four to a token. */
function expectedTokens(system: string, messages: LlmMessage[]): number {
  return Math.ceil((Buffer.byteLength(JSON.stringify(system)) + Buffer.byteLength(JSON.stringify(messages))) / 4);
}

/** One whole exchange: a task, a tool call, its result, and the answer (4 messages), each tagged `t<i>`. */
function exchange(i: number, pad = 200): LlmMessage[] {
  return [
    { role: 'user', content: `task-${i}: ${'u'.repeat(pad)}` },
    {
      role: 'assistant',
      content: `looking up t${i}`,
      toolCalls: [{ id: `call-${i}`, name: 'lookup', args: { q: `q-${i}` } }],
    },
    {
      role: 'tool_results',
      results: [{ toolCallId: `call-${i}`, name: 'lookup', content: `result-${i}`, isError: false }],
    },
    { role: 'assistant', content: `answer-${i}: ${'a'.repeat(pad)}`, toolCalls: [] },
  ];
}

function exchanges(from: number, to: number, pad?: number): LlmMessage[] {
  const out: LlmMessage[] = [];
  for (let i = from; i < to; i++) out.push(...exchange(i, pad));
  return out;
}

function summaryMessage(summary: string): LlmMessage {
  return { role: 'user', content: `${SUMMARY_PREFIX}\n${summary}` };
}

/** The transcript the summarisation request carried (its single user message). */
function transcriptOf(request: LlmRequest | undefined): string {
  expect(request?.messages).toHaveLength(1);
  const only = request?.messages[0];
  if (only?.role !== 'user') throw new Error('expected one user message');
  return only.content;
}

/** Every tool result in `messages` answers a tool call of an earlier assistant message in `messages`. */
function noOrphans(messages: LlmMessage[]): boolean {
  const calls = new Set<string>();
  for (const m of messages) {
    if (m.role === 'assistant') for (const c of m.toolCalls) calls.add(c.id);
    if (m.role === 'tool_results' && m.results.some((r) => !calls.has(r.toolCallId))) return false;
  }
  return true;
}

function live(): AbortSignal {
  return new AbortController().signal;
}

async function caught(promise: Promise<unknown>): Promise<MobRuntimeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MobRuntimeError) return error;
    throw error;
  }
  throw new Error('expected a MobRuntimeError');
}

describe('estimateTokens', () => {
  it('is one token per 4 UTF-8 bytes of the JSON of system and messages, rounded up', () => {
    expect(estimateTokens('', [])).toBe(1); // '""' + '[]' = 4 bytes
    const messages = exchange(0);
    expect(estimateTokens(SYSTEM, messages)).toBe(expectedTokens(SYSTEM, messages));
    expect(estimateTokens('é', [])).toBe(Math.ceil((4 + 2) / 4)); // é is 2 bytes in UTF-8
    expect(estimateTokens('x'.repeat(7), [])).toBe(3); // 9 + 2 bytes
    expect(estimateTokens(SYSTEM, exchanges(0, 3))).toBeGreaterThan(estimateTokens(SYSTEM, exchanges(0, 2)));
  });
});

describe('compactForTurn', () => {
  it('does nothing (and calls no model) at or under the threshold', async () => {
    const llm = new ScriptedLlmClient();
    const messages = [...exchanges(0, 3), { role: 'user' as const, content: 'task-3' }];
    const tokens = estimateTokens(SYSTEM, messages);
    for (const threshold of [tokens, tokens + 1, 10 * tokens])
      expect(
        await compactForTurn({ messages, system: SYSTEM, threshold, llm, model: 'm', signal: live() }),
      ).toBeUndefined();
    expect(llm.requests).toHaveLength(0);
  });

  it('past the threshold, summarises the older exchanges in one call and keeps the run in progress and the newest messages', async () => {
    const llm = new ScriptedLlmClient({
      w1: [{ text: '  tasks 0-3 were looked up and answered  ', usage: { inputTokens: 900, outputTokens: 12 } }],
    });
    // five whole exchanges, then the trigger of the run in progress (21 messages)
    const messages = [...exchanges(0, 5), { role: 'user' as const, content: 'task-5: the new one' }];
    const tokensBefore = estimateTokens(SYSTEM, messages);
    const result = await compactForTurn({
      messages,
      system: SYSTEM,
      threshold: tokensBefore - 1,
      llm,
      model: 'claude-x',
      signal: live(),
      caller: CALLER,
    });
    // keeps 4 messages by default: the cut backs up to the start of that exchange (task-4) — 16 messages summarised
    expect(result).toMatchObject({
      summary: 'tasks 0-3 were looked up and answered',
      summarizedMessages: 16,
      tokensBefore,
      usage: { inputTokens: 900, outputTokens: 12 },
    });
    const kept = messages.slice(16);
    expect(kept[0]).toMatchObject({ role: 'user', content: expect.stringMatching(/^task-4:/) });
    expect(result?.tokensAfter).toBe(
      expectedTokens(SYSTEM, [summaryMessage('tasks 0-3 were looked up and answered'), ...kept]),
    );
    expect(result?.tokensAfter).toBeLessThan(tokensBefore);

    expect(llm.requests).toHaveLength(1);
    const request = llm.requests[0]?.request;
    expect(request).toMatchObject({ model: 'claude-x', tools: [], caller: CALLER });
    expect(request?.system).not.toBe(SYSTEM);
    expect(request?.system).toMatch(/summar/i);
    const transcript = transcriptOf(request);
    for (let i = 0; i < 4; i++) {
      expect(transcript).toContain(`task-${i}:`);
      expect(transcript).toContain(`answer-${i}:`);
      expect(transcript).toContain(`[tool call lookup id=call-${i}] {"q":"q-${i}"}`);
      expect(transcript).toContain(`[tool result lookup id=call-${i}] result-${i}`);
    }
    expect(transcript).not.toContain('task-4');
    expect(transcript).not.toContain('answer-4');
    expect(transcript).not.toContain('task-5');
  });

  it('honours keepRecentMessages, and never summarises the run in progress, even with keepRecentMessages = 0', async () => {
    const llm = new ScriptedLlmClient({}, { fallback: { text: 'sum' } });
    const base = { system: SYSTEM, threshold: 1, llm, model: 'm', signal: live() };
    const trigger: LlmMessage = { role: 'user', content: 'task-5' };
    const zero = await compactForTurn({ ...base, messages: [...exchanges(0, 5), trigger], keepRecentMessages: 0 });
    expect(zero?.summarizedMessages).toBe(20);
    // mid-run: the trigger, a tool call and its result are the run in progress; keep = 0 still keeps them whole
    const midRun: LlmMessage[] = [...exchanges(0, 5), ...exchange(5).slice(0, 3)];
    const mid = await compactForTurn({ ...base, messages: midRun, keepRecentMessages: 0 });
    expect(mid?.summarizedMessages).toBe(20);
    // a run triggered by several inbound messages at once keeps all of them
    const burst: LlmMessage[] = [
      ...exchanges(0, 2),
      { role: 'user', content: 'peer message 1' },
      { role: 'user', content: 'peer message 2' },
      { role: 'assistant', content: 'on it', toolCalls: [] },
    ];
    const b = await compactForTurn({ ...base, messages: burst, keepRecentMessages: 0 });
    expect(b?.summarizedMessages).toBe(8);
    const wide = await compactForTurn({ ...base, messages: [...exchanges(0, 5), trigger], keepRecentMessages: 9 });
    expect(wide?.summarizedMessages).toBe(12); // 21 - 9 = 12 is a user message
    const wider = await compactForTurn({ ...base, messages: [...exchanges(0, 5), trigger], keepRecentMessages: 10 });
    expect(wider?.summarizedMessages).toBe(8); // 21 - 10 = 11 is inside exchange 2: back to its start
  });

  it('never cuts inside an exchange: the kept messages start with a user message and no tool result loses its call', async () => {
    const llm = new ScriptedLlmClient({}, { fallback: { text: 'sum' } });
    // uneven exchanges: some with two tool rounds, some with none, some triggers in pairs
    const history: LlmMessage[] = [];
    for (let i = 0; i < 8; i++) {
      history.push({ role: 'user', content: `task-${i}` });
      if (i % 3 === 1) history.push({ role: 'user', content: `task-${i}b` });
      for (let round = 0; round < i % 3; round++) {
        const id = `c-${i}-${round}`;
        history.push({ role: 'assistant', content: '', toolCalls: [{ id, name: 'lookup', args: {} }] });
        history.push({
          role: 'tool_results',
          results: [{ toolCallId: id, name: 'lookup', content: 'r', isError: false }],
        });
      }
      history.push({ role: 'assistant', content: `answer-${i}`, toolCalls: [] });
    }
    let compactions = 0;
    for (let len = 1; len <= history.length; len++) {
      const messages = history.slice(0, len);
      for (let keep = 0; keep <= len; keep++) {
        const result = await compactForTurn({
          messages,
          system: SYSTEM,
          threshold: 1,
          llm,
          model: 'm',
          signal: live(),
          keepRecentMessages: keep,
        });
        if (!result) continue;
        compactions++;
        const kept = messages.slice(result.summarizedMessages);
        expect(kept[0]?.role).toBe('user');
        expect(kept.length).toBeGreaterThanOrEqual(keep);
        expect(noOrphans(kept)).toBe(true);
        expect(result.summarizedMessages).toBeGreaterThan(0);
      }
    }
    expect(compactions).toBeGreaterThan(20);
    expect(llm.requests).toHaveLength(compactions);
  });

  it('does nothing when nothing is older than what it keeps', async () => {
    const llm = new ScriptedLlmClient({}, { fallback: { text: 'sum' } });
    const base = { system: SYSTEM, threshold: 1, llm, model: 'm', signal: live() };
    expect(await compactForTurn({ ...base, messages: [] })).toBeUndefined();
    expect(await compactForTurn({ ...base, messages: exchange(0, 5000), keepRecentMessages: 0 })).toBeUndefined();
    // keeping 5 of 8 messages reaches back into exchange 0, the only one older than the run in progress
    expect(await compactForTurn({ ...base, messages: exchanges(0, 2), keepRecentMessages: 5 })).toBeUndefined();
    // only an earlier summary before the run in progress: summarising it again would gain nothing
    expect(
      await compactForTurn({ ...base, messages: [summaryMessage('old'), ...exchange(1, 5000)], keepRecentMessages: 0 }),
    ).toBeUndefined();
    expect(llm.requests).toHaveLength(0);
  });

  it('rolls an earlier summary into the next one', async () => {
    const llm = new ScriptedLlmClient({ w1: [{ text: 'FIRST: tasks 0-3 done' }, { text: 'SECOND: tasks 0-7 done' }] });
    const base = { system: SYSTEM, llm, model: 'm', signal: live(), caller: CALLER };
    const history = [...exchanges(0, 5), { role: 'user' as const, content: 'task-5' }];
    const first = await compactForTurn({ ...base, messages: history, threshold: 1 });
    if (!first) throw new Error('expected a compaction');
    // what the model sees now: the summary, then the kept messages, then more turns
    const visible: LlmMessage[] = [
      summaryMessage(first.summary),
      ...history.slice(first.summarizedMessages),
      ...exchange(5).slice(1),
      ...exchanges(6, 8),
      { role: 'user', content: 'task-8' },
    ];
    const second = await compactForTurn({ ...base, messages: visible, threshold: 1, keepRecentMessages: 9 });
    expect(second).toMatchObject({ summary: 'SECOND: tasks 0-7 done', summarizedMessages: 9 }); // summary + exchanges 4, 5
    const transcript = transcriptOf(llm.requests[1]?.request);
    expect(transcript.startsWith('Summarise')).toBe(true);
    expect(transcript).toContain('[earlier summary]\nFIRST: tasks 0-3 done');
    expect(transcript).toContain('task-4:');
    expect(transcript).toContain('task-5');
    expect(transcript).not.toContain('task-0:'); // the first summary stands for those
    expect(transcript).not.toContain('task-6:');
  });

  it('keeps the prompt bounded over a long conversation, each summary rolling up the last', async () => {
    const seen: string[] = [];
    const llm = new ScriptedLlmClient();
    for (let n = 0; n < 50; n++)
      llm.script('w1', (request) => {
        const transcript = transcriptOf(request);
        seen.push(transcript);
        const tasks = [...transcript.matchAll(/task-(\d+):/g)].map((m) => m[1]);
        const earlier = /\[earlier summary\]\n(.*)/.exec(transcript)?.[1] ?? '';
        return { text: earlier ? `${earlier},${tasks.join(',')}` : `tasks ${tasks.join(',')}` };
      });
    const threshold = 1200;
    let visible: LlmMessage[] = [];
    let compactions = 0;
    for (let i = 0; i < 40; i++) {
      const [trigger, ...rest] = exchange(i);
      if (!trigger) throw new Error('unreachable');
      visible.push(trigger);
      const result = await compactForTurn({
        messages: visible,
        system: SYSTEM,
        threshold,
        llm,
        model: 'm',
        signal: live(),
        caller: CALLER,
      });
      if (result) {
        compactions++;
        expect(result.tokensBefore).toBeGreaterThan(threshold);
        expect(result.tokensAfter).toBeLessThan(result.tokensBefore);
        visible = [summaryMessage(result.summary), ...visible.slice(result.summarizedMessages)];
        expect(estimateTokens(SYSTEM, visible)).toBe(result.tokensAfter);
      }
      expect(estimateTokens(SYSTEM, visible)).toBeLessThanOrEqual(threshold);
      visible.push(...rest);
    }
    expect(compactions).toBeGreaterThan(5);
    expect(seen.slice(1).every((t) => t.includes('[earlier summary]'))).toBe(true);
    // the rolled-up summary names every summarised task once, oldest first, up to the first kept one
    const firstKept = visible.slice(1).find((m) => m.role === 'user');
    const k = Number(/^task-(\d+):/.exec(firstKept?.role === 'user' ? firstKept.content : '')?.[1]);
    expect(k).toBeGreaterThan(30);
    expect(visible[0]).toEqual(summaryMessage(`tasks ${Array.from({ length: k }, (_, i) => i).join(',')}`));
  });

  it('fails with PROVIDER_ERROR naming the compaction when the model call fails or answers nothing', async () => {
    const base = {
      messages: [...exchanges(0, 5), { role: 'user' as const, content: 'task-5' }],
      system: SYSTEM,
      threshold: 1,
      model: 'm',
      signal: live(),
      caller: CALLER,
    };
    const failing = new ScriptedLlmClient({ w1: [{ error: 'overloaded', retryable: true }] });
    const err = await caught(compactForTurn({ ...base, llm: failing }));
    expect(err).toMatchObject({ code: 'ProviderError', mobCode: 'PROVIDER_ERROR', retryable: true });
    expect(err.message).toContain('history compaction failed: scripted LLM error: overloaded');
    expect(err.message).toContain('auto_compact_threshold');
    expect(err.details).toMatchObject({ phase: 'compaction' });

    const empty = new ScriptedLlmClient({ w1: [{ text: '  \n ' }] });
    const blank = await caught(compactForTurn({ ...base, llm: empty }));
    expect(blank).toMatchObject({ mobCode: 'PROVIDER_ERROR', retryable: false });
    expect(blank.message).toContain('history compaction failed: model m answered an empty summary');

    const broken: LlmClient = {
      provider: 'broken',
      // biome-ignore lint/correctness/useYield: it fails before its first event
      async *stream(): AsyncIterable<LlmEvent> {
        throw new TypeError('boom');
      },
    };
    const internal = await caught(compactForTurn({ ...base, llm: broken }));
    expect(internal).toMatchObject({ code: 'Internal', mobCode: 'INTERNAL' });
    expect(internal.message).toContain('history compaction failed: boom');
  });

  it('rejects with the cancellation when the signal aborts, before or during the call', async () => {
    const messages = [...exchanges(0, 5), { role: 'user' as const, content: 'task-5' }];
    const base = { messages, system: SYSTEM, threshold: 1, model: 'm', caller: CALLER };

    const before = new AbortController();
    before.abort(new Error('member retired'));
    const idle = new ScriptedLlmClient();
    const early = await caught(compactForTurn({ ...base, llm: idle, signal: before.signal }));
    expect(early).toMatchObject({ code: 'RunCancelled', mobCode: 'CANCELLED' });
    expect(early.message).toBe('history compaction was cancelled (member retired)');
    expect(idle.requests).toHaveLength(0);

    // a scripted reply held on a gate that never opens: the client honours the signal
    const during = new AbortController();
    const gated = new ScriptedLlmClient({ w1: [{ text: 'late', gate: new Promise(() => undefined) }] });
    const pending = compactForTurn({ ...base, llm: gated, signal: during.signal });
    await Promise.resolve();
    during.abort(new Error('cancel_member'));
    const mid = await caught(pending);
    expect(mid).toMatchObject({ mobCode: 'CANCELLED', details: { phase: 'compaction' } });
    expect(mid.message).toContain('cancel_member');

    // a client that ignores the signal and never answers: the compaction still stops waiting
    const deaf = new AbortController();
    let started!: () => void;
    const streaming = new Promise<void>((resolve) => {
      started = resolve;
    });
    const hanging: LlmClient = {
      provider: 'hanging',
      async *stream(): AsyncIterable<LlmEvent> {
        started();
        await new Promise(() => undefined);
        yield { type: 'done', stopReason: 'end_turn' };
      },
    };
    const stuck = compactForTurn({ ...base, llm: hanging, signal: deaf.signal });
    await streaming;
    deaf.abort('shutdown');
    const hung = await caught(stuck);
    expect(hung).toMatchObject({ mobCode: 'CANCELLED' });
    expect(hung.message).toBe('history compaction was cancelled (shutdown)');
  });

  it('refuses a non-positive threshold and a negative or fractional keepRecentMessages', async () => {
    const llm = new ScriptedLlmClient();
    const base = { messages: exchanges(0, 5), system: SYSTEM, llm, model: 'm', signal: live() };
    const zero = await caught(compactForTurn({ ...base, threshold: 0 }));
    expect(zero).toMatchObject({ mobCode: 'INVALID_INPUT', details: { field: 'auto_compact_threshold' } });
    for (const keep of [-1, 1.5]) {
      const bad = await caught(compactForTurn({ ...base, threshold: 1, keepRecentMessages: keep }));
      expect(bad).toMatchObject({ mobCode: 'INVALID_INPUT', details: { field: 'keepRecentMessages' } });
    }
    expect(llm.requests).toHaveLength(0);
  });
});
