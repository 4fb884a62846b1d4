import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type MobKitStore } from '@mobkit/core';
import { openStore } from '@mobkit/store';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedMob,
  type EmbeddedMobOptions,
  type EmbeddedTool,
  MobDefinition,
  type MobEvent,
  ScriptedLlmClient,
  type SessionMessage,
  createEmbeddedMob,
} from '../src/index.js';
import { rejection } from './helpers.js';

// Budgets of the embedded mob: `[budget]` for the mob, `[profiles.<name>.budget]` per profile (which
// wins field by field). A run that would pass a limit fails with run_failed{errorClass:
// "budget_exceeded"} and a BudgetExceeded error naming the limit, its value and what was used.

const DEFINITION = MobDefinition.fromToml(`
[mob]
id = "budgets"

[budget]
max_tokens_per_day = 100
max_tool_calls_per_run = 5

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }

[profiles.worker.budget]
max_tokens_per_run = 100
max_tool_calls_per_run = 2

[profiles.daily]
model = "gpt-5.2"
external_addressable = true
tools = { comms = true }
`);

const mobs: EmbeddedMob[] = [];
const stores: MobKitStore[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const m of mobs.splice(0)) await m.close();
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A host tool that counts its executions. */
function probe(): EmbeddedTool & { runs: number } {
  const tool = {
    runs: 0,
    definition: { name: 'probe', description: 'counts calls', inputSchema: { type: 'object' } },
    execute: () => {
      tool.runs++;
      return `probe ${tool.runs}`;
    },
  };
  return tool;
}

async function open(llm: ScriptedLlmClient, extra: Partial<EmbeddedMobOptions> = {}, tools: EmbeddedTool[] = []) {
  const { options, ...rest } = extra;
  const mob = await createEmbeddedMob(DEFINITION, { llm, ...rest, options: { tools, ...options } });
  mobs.push(mob);
  const events: MobEvent[] = [];
  mob.subscribe((e) => events.push(e));
  return { mob, events };
}

function runFailures(events: MobEvent[], memberId: string): Array<{ errorClass: string; error: string }> {
  return events.flatMap((e) =>
    e.kind === 'agent' && e.memberId === memberId && e.event.type === 'run_failed'
      ? [{ errorClass: e.event.errorClass, error: e.event.error }]
      : [],
  );
}

function toolResults(messages: SessionMessage[]) {
  return messages.flatMap((m) => (m.role === 'tool_results' ? m.results : []));
}

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens });

describe('member budgets (embedded mob)', () => {
  it('the profile budget wins field by field over the mob budget, and status shows both', async () => {
    const { mob } = await open(new ScriptedLlmClient());
    await mob.spawn({ profile: 'worker', meerkatId: 'w-1' });
    await mob.spawn({ profile: 'daily', meerkatId: 'd-1' });
    const worker = DEFINITION.profiles.worker;
    if (!worker) throw new Error('the definition has no worker profile');
    expect(DEFINITION.budgetFor(worker)).toEqual({
      maxTokensPerRun: 100,
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 2,
    });
    expect((await mob.memberStatus('w-1')).budget).toEqual({
      maxTokensPerRun: 100,
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 2,
      tokensUsedToday: 0,
      tokensLeftToday: 100,
    });
    expect((await mob.memberStatus('d-1')).budget).toEqual({
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 5,
      tokensUsedToday: 0,
      tokensLeftToday: 100,
    });
  });

  it('stops a run whose turn passes max_tokens_per_run: the calls of that turn are not run', async () => {
    const tool = probe();
    const llm = new ScriptedLlmClient({
      'w-1': [
        { toolCalls: [{ id: 't1', name: 'probe' }], usage: usage(40, 20) },
        { toolCalls: [{ id: 't2', name: 'probe' }], usage: usage(30, 20) },
        { text: 'never asked' },
      ],
    });
    const { mob, events } = await open(llm, {}, [tool]);
    await mob.spawn({ profile: 'worker', meerkatId: 'w-1' });
    const error = await rejection(mob.runTurn('w-1', 'go'));
    expect(error).toEqual({
      code: 'BudgetExceeded',
      message: 'member w-1: budget exceeded: the run used 110 tokens, over its 100 (max_tokens_per_run)',
      details: { mobCode: 'INTERNAL', memberId: 'w-1', limit: 'max_tokens_per_run', value: 100, used: 110 },
    });
    expect(tool.runs).toBe(1);
    expect(llm.requests).toHaveLength(2);
    expect(llm.remaining('w-1')).toBe(1);
    expect(runFailures(events, 'w-1')).toEqual([{ errorClass: 'budget_exceeded', error: error.message }]);
    const sid = await mob.memberCurrentSessionId('w-1');
    const results = toolResults((await mob.readSessionHistory(sid)).messages);
    expect(results).toEqual([
      { toolCallId: 't1', name: 'probe', content: 'probe 1', isError: false },
      { toolCallId: 't2', name: 'probe', content: `not run: ${error.message}`, isError: true },
    ]);
    // The over-budget turn is counted: 60 + 50 tokens today.
    const status = await mob.memberStatus('w-1');
    expect(status.tokensUsed).toBe(110);
    expect(status.budget).toMatchObject({ tokensUsedToday: 110, tokensLeftToday: 0 });
    expect(status.usageByModel).toEqual({ 'gpt-5.2': { inputTokens: 70, outputTokens: 40 } });
    expect(status.error).toBe(error.message);
  });

  it('stops a run that reached max_tokens_per_run exactly before asking the model again', async () => {
    const tool = probe();
    const llm = new ScriptedLlmClient({
      'w-1': [{ toolCalls: [{ id: 't1', name: 'probe' }], usage: usage(60, 40) }, { text: 'never asked' }],
    });
    const { mob, events } = await open(llm, {}, [tool]);
    await mob.spawn({ profile: 'worker', meerkatId: 'w-1' });
    const error = await rejection(mob.runTurn('w-1', 'go'));
    expect(error).toEqual({
      code: 'BudgetExceeded',
      message: 'member w-1: budget exceeded: the run used 100 of its 100 tokens (max_tokens_per_run)',
      details: { mobCode: 'INTERNAL', memberId: 'w-1', limit: 'max_tokens_per_run', value: 100, used: 100 },
    });
    // 100 is not over 100: the turn's call ran; the next turn was refused before its request.
    expect(tool.runs).toBe(1);
    expect(llm.requests).toHaveLength(1);
    expect(runFailures(events, 'w-1').map((f) => f.errorClass)).toEqual(['budget_exceeded']);
  });

  it('refuses the tool calls past max_tool_calls_per_run: none of the turn runs, each gets an error result', async () => {
    const tool = probe();
    const llm = new ScriptedLlmClient({
      'w-1': [
        {
          toolCalls: [
            { id: 'a', name: 'probe' },
            { id: 'b', name: 'probe' },
            { id: 'c', name: 'probe' },
          ],
        },
        { text: 'never asked' },
      ],
    });
    const { mob, events } = await open(llm, {}, [tool]);
    await mob.spawn({ profile: 'worker', meerkatId: 'w-1' });
    const error = await rejection(mob.runTurn('w-1', 'go'));
    expect(error).toEqual({
      code: 'BudgetExceeded',
      message:
        'member w-1: budget exceeded: the model asked for 3 more tool calls after 0; the run may make 2 (max_tool_calls_per_run)',
      details: { mobCode: 'INTERNAL', memberId: 'w-1', limit: 'max_tool_calls_per_run', value: 2, used: 3 },
    });
    expect(tool.runs).toBe(0);
    expect(llm.requests).toHaveLength(1);
    const executed = events.filter((e) => e.kind === 'agent' && e.event.type === 'tool_execution_completed');
    expect(executed).toEqual([]);
    expect(runFailures(events, 'w-1')).toEqual([{ errorClass: 'budget_exceeded', error: error.message }]);
    const sid = await mob.memberCurrentSessionId('w-1');
    expect(toolResults((await mob.readSessionHistory(sid)).messages)).toEqual(
      ['a', 'b', 'c'].map((id) => ({
        toolCallId: id,
        name: 'probe',
        content: `not run: ${error.message}`,
        isError: true,
      })),
    );
    // The model's view of the failed run has the same closing results (its next run starts from them).
    const last = mob.history('w-1').at(-1);
    expect(last?.role === 'tool_results' && last.results.map((r) => r.content)).toEqual([
      `not run: ${error.message}`,
      `not run: ${error.message}`,
      `not run: ${error.message}`,
    ]);
  });

  it('counts tool calls across the turns of a run (two made, two more asked: refused)', async () => {
    const tool = probe();
    const llm = new ScriptedLlmClient({
      'w-1': [
        { toolCalls: [{ id: 'a', name: 'probe' }] },
        { toolCalls: [{ id: 'b', name: 'probe' }] },
        {
          toolCalls: [
            { id: 'c', name: 'probe' },
            { id: 'd', name: 'probe' },
          ],
        },
      ],
    });
    const { mob } = await open(llm, {}, [tool]);
    await mob.spawn({ profile: 'worker', meerkatId: 'w-1' });
    const error = await rejection(mob.runTurn('w-1', 'go'));
    expect(error.details).toEqual({
      mobCode: 'INTERNAL',
      memberId: 'w-1',
      limit: 'max_tool_calls_per_run',
      value: 2,
      used: 4,
    });
    expect(error.message).toContain('the model asked for 2 more tool calls after 2; the run may make 2');
    expect(tool.runs).toBe(2);
    // A fresh run has a fresh count.
    llm.script('w-1', { toolCalls: [{ id: 'e', name: 'probe' }] }, { text: 'done' });
    await expect(mob.runTurn('w-1', 'again')).resolves.toMatchObject({ text: 'done', toolCalls: 1 });
    expect(tool.runs).toBe(3);
  });

  it('enforces max_tokens_per_day across runs and resets it at UTC midnight (ManualClock)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 9, 23, 58, 0));
    const llm = new ScriptedLlmClient(
      {
        'd-1': [
          { text: 'one', usage: usage(30, 30) },
          { text: 'two', usage: usage(30, 20) },
        ],
      },
      { clock },
    );
    const { mob, events } = await open(llm, { options: { clock } });
    await mob.spawn({ profile: 'daily', meerkatId: 'd-1' });
    await expect(mob.runTurn('d-1', 'first')).resolves.toMatchObject({ text: 'one' });
    expect((await mob.memberStatus('d-1')).budget).toEqual({
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 5,
      tokensUsedToday: 60,
      tokensLeftToday: 40,
    });

    const over = await rejection(mob.runTurn('d-1', 'second'));
    expect(over).toEqual({
      code: 'BudgetExceeded',
      message: 'member d-1: budget exceeded: the member used 110 tokens today, over its 100 (max_tokens_per_day, UTC)',
      details: { mobCode: 'INTERNAL', memberId: 'd-1', limit: 'max_tokens_per_day', value: 100, used: 110 },
    });
    // An answer that passed the budget is not the run's answer.
    expect((await mob.memberStatus('d-1')).outputPreview).toBe('one');
    expect((await mob.memberStatus('d-1')).budget).toMatchObject({ tokensUsedToday: 110, tokensLeftToday: 0 });

    const spent = await rejection(mob.runTurn('d-1', 'third'));
    expect(spent).toEqual({
      code: 'BudgetExceeded',
      message: 'member d-1: budget exceeded: the member used 110 of its 100 tokens today (max_tokens_per_day, UTC)',
      details: { mobCode: 'INTERNAL', memberId: 'd-1', limit: 'max_tokens_per_day', value: 100, used: 110 },
    });
    expect(llm.requests).toHaveLength(2);
    expect(runFailures(events, 'd-1').map((f) => f.errorClass)).toEqual(['budget_exceeded', 'budget_exceeded']);

    clock.advance(60_000); // 23:59 — still the same UTC day
    expect((await mob.memberStatus('d-1')).budget?.tokensLeftToday).toBe(0);
    clock.advance(2 * 60_000); // 00:01 the next day
    expect((await mob.memberStatus('d-1')).budget).toEqual({
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 5,
      tokensUsedToday: 0,
      tokensLeftToday: 100,
    });
    llm.script('d-1', { text: 'new day', usage: usage(15, 10) });
    await expect(mob.runTurn('d-1', 'fourth')).resolves.toMatchObject({ text: 'new day' });
    const status = await mob.memberStatus('d-1');
    expect(status.budget).toMatchObject({ tokensUsedToday: 25, tokensLeftToday: 75 });
    // The total and the per-model usage are not reset by the day.
    expect(status.tokensUsed).toBe(135);
    expect(status.usageByModel).toEqual({ 'gpt-5.2': { inputTokens: 75, outputTokens: 60 } });
  });

  it('keeps the day usage across a store reopen (SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mob-budget-'));
    dirs.push(dir);
    const path = join(dir, 'store.db');
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12, 0, 0));

    const first = await openStore({ kind: 'sqlite', path });
    const llm1 = new ScriptedLlmClient({ 'd-1': [{ text: 'seventy', usage: usage(50, 20) }] }, { clock });
    const mob1 = await createEmbeddedMob(DEFINITION, { llm: llm1, store: first, options: { clock } });
    await mob1.spawn({ profile: 'daily', meerkatId: 'd-1' });
    await mob1.runTurn('d-1', 'go');
    expect((await mob1.memberStatus('d-1')).budget).toMatchObject({ tokensUsedToday: 70, tokensLeftToday: 30 });
    await mob1.close();
    await first.close();

    const second = await openStore({ kind: 'sqlite', path });
    stores.push(second);
    clock.advance(60 * 60_000); // 13:00, the same day
    const llm2 = new ScriptedLlmClient(
      { 'd-1': [{ text: 'forty', usage: usage(20, 20) }, { text: 'never asked' }] },
      { clock },
    );
    const mob2 = await createEmbeddedMob(DEFINITION, { llm: llm2, store: second, options: { clock } });
    mobs.push(mob2);
    const restored = await mob2.memberStatus('d-1');
    expect(restored.budget).toEqual({
      maxTokensPerDay: 100,
      maxToolCallsPerRun: 5,
      tokensUsedToday: 70,
      tokensLeftToday: 30,
    });
    expect(restored.usageByModel).toEqual({ 'gpt-5.2': { inputTokens: 50, outputTokens: 20 } });
    const error = await rejection(mob2.runTurn('d-1', 'more'));
    expect(error.details).toEqual({
      mobCode: 'INTERNAL',
      memberId: 'd-1',
      limit: 'max_tokens_per_day',
      value: 100,
      used: 110,
    });
    expect(llm2.requests).toHaveLength(1);
    clock.set(Date.UTC(2026, 5, 2, 0, 0, 0)); // midnight UTC: a new day
    expect((await mob2.memberStatus('d-1')).budget).toMatchObject({ tokensUsedToday: 0, tokensLeftToday: 100 });
  });

  it('refuses a budget limit that is not a positive integer, naming the field', () => {
    let caught: unknown;
    try {
      MobDefinition.fromToml(`
[mob]
id = "bad"
[profiles.worker]
model = "gpt-5.2"
tools = { comms = true }
[profiles.worker.budget]
max_tokens_per_run = 0
`);
    } catch (error) {
      caught = error;
    }
    expect(String((caught as Error)?.message)).toContain('profiles.worker.budget.max_tokens_per_run');
  });
});
