import { type AgentEventPayload, type Clock, isMobKitError, systemClock } from '@mobkit/core';
import { MobRuntimeError } from '../errors.js';
import type { Budget } from '../definition.js';
import {
  type LlmRequest,
  type ProviderParams,
  type StopReason,
  type ToolCall,
  type ToolResult,
  type Usage,
  zeroUsage,
} from '../llm/types.js';
import type { RunResult } from '../types.js';
import { truncateUtf8 } from '../message-size.js';
import type { PeerEffect, RunJournal } from './journal.js';
import { type Inbound, type Member, type OpenRun, cancelled } from './member.js';
import { compileSchema } from '../tools/schema.js';
import { type MemberTools, type ToolSet, originFields } from './tools.js';
import type { EmbeddedMobTuning } from './types.js';
import { abortable } from './abortable.js';

/** What the agent loop needs from its mob. */
export interface AgentLoopHost {
  readonly clock: Clock;
  readonly tuning: EmbeddedMobTuning;
  readonly tools: MemberTools;
  /** The bound of one message; a longer tool result is truncated to it. */
  readonly maxMessageBytes: number;
  /** Commits each step of a run (to the store, when there is one). */
  readonly journal: RunJournal;
  emit(member: Member, event: AgentEventPayload): void;
  /** Applies a committed peer delivery (queues the item, steers, wakes the peer). */
  deliver(effect: PeerEffect): void;
  /**
   * Runs before each LLM turn (history compaction); may replace older messages of the member's
   * model-visible history.
   */
  beforeTurn?(member: Member, run: OpenRun, signal: AbortSignal): Promise<void>;
  /** The limits of `member`'s runs and day (the profile's budget over the mob's). */
  budgetFor(member: Member): Budget;
}

/** Errors of a run that failed before it started (its trigger was not committed; the inbox items are back). */
const notStarted = new WeakSet<object>();

/** Whether `error` is a run that never started (its start could not be committed). */
export function runNotStarted(error: unknown): boolean {
  return typeof error === 'object' && error !== null && notStarted.has(error);
}

/** What one LLM turn produced. */
interface TurnOutput {
  text: string;
  calls: ToolCall[];
  stopReason: StopReason;
  usage: Usage;
}

function addUsage(a: Usage, b: Usage): Usage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

function isRetryableProviderFailure(error: unknown): boolean {
  return error instanceof MobRuntimeError && error.retryable && error.mobCode === 'PROVIDER_ERROR';
}

/**
 * Streams one LLM turn. A retryable provider failure that happens before any output is retried
 * (`llmRetries`, default 2) after `llmRetryBaseMs · 2^attempt` (default 250 ms), waited with the
 * mob's clock; each retry emits Meerkat's `retrying` event. An abort ends the wait at once.
 */
async function streamTurnWithRetry(
  host: AgentLoopHost,
  m: Member,
  request: LlmRequest,
  toolset: ToolSet,
  signal: AbortSignal,
): Promise<TurnOutput> {
  const maxRetries = host.tuning.llmRetries ?? 2;
  const baseMs = host.tuning.llmRetryBaseMs ?? 250;
  for (let attempt = 0; ; attempt++) {
    const turn: TurnOutput = { text: '', calls: [], stopReason: 'end_turn', usage: zeroUsage() };
    let produced = false;
    try {
      for await (const ev of abortable(m.llm.stream(request, signal), signal)) {
        produced = true;
        if (ev.type === 'text_delta') {
          turn.text += ev.delta;
          host.emit(m, { type: 'text_delta', delta: ev.delta });
        } else if (ev.type === 'tool_call_complete') {
          turn.calls.push({ id: ev.id, name: ev.name, args: ev.args });
          host.emit(m, {
            type: 'tool_call_requested',
            id: ev.id,
            toolCallId: ev.id,
            name: ev.name,
            args: ev.args,
            ...originFields(toolset.origin(ev.name)),
          });
        } else if (ev.type === 'usage') {
          turn.usage = addUsage(turn.usage, ev.usage);
        } else if (ev.type === 'done') {
          turn.stopReason = ev.stopReason;
        }
      }
      return turn;
    } catch (error) {
      if (produced || !isRetryableProviderFailure(error) || attempt >= maxRetries || signal.aborted) throw error;
      const delayMs = baseMs * 2 ** attempt;
      host.emit(m, { type: 'retrying', attempt: attempt + 1, delayMs, error: (error as Error).message });
      await host.clock.sleep(delayMs, signal);
    }
  }
}

/** The reason a tool's timeout wait is cancelled with (one shared object: no error built per call). */
const TIMER_CANCELLED = Object.freeze({ reason: 'the tool call finished first' });

/**
 * Calls `fire` after `ms` on `clock`; resolves the function that cancels it. On the system clock this
 * is a plain timer; any other clock (a `ManualClock`) is waited through its `sleep`.
 */
function startTimer(clock: Clock, ms: number, fire: () => void): () => void {
  if (clock === systemClock) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  }
  const cancel = new AbortController();
  clock.sleep(ms, cancel.signal).then(fire, () => undefined);
  return () => cancel.abort(TIMER_CANCELLED);
}

/** Runs one tool call with the tool timeout; a failure, timeout or cancellation becomes an error result. */
async function runTool(
  host: AgentLoopHost,
  m: Member,
  toolset: ToolSet,
  call: ToolCall,
  runSignal: AbortSignal,
  effects: PeerEffect[],
): Promise<{ result: ToolResult; durationMs: number }> {
  const startedReal = performance.now();
  const timeoutMs = host.tuning.toolTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // One listener per call both aborts the tool and fails the race; the finally removes it.
  const onAbort = () => {
    controller.abort(runSignal.reason);
    fail(new Error('run cancelled'));
  };
  if (runSignal.aborted) onAbort();
  else runSignal.addEventListener('abort', onAbort, { once: true });
  const cancelTimer = startTimer(host.clock, timeoutMs, () => {
    fail(new Error(`tool ${call.name} timed out after ${timeoutMs} ms`));
    controller.abort(new Error('tool timed out'));
  });
  let content: string;
  let isError = false;
  try {
    // execute() reports every failure as a rejection (never a synchronous throw).
    const output = await Promise.race([toolset.execute(m, call, controller.signal, effects, timeoutMs), failed]);
    content = truncateUtf8(output.content, host.maxMessageBytes);
    if (output.isError) {
      isError = true;
      effects.length = 0;
    }
  } catch (error) {
    isError = true;
    content = (error as Error).message ?? String(error);
    effects.length = 0; // a failed or cancelled call delivers nothing
  } finally {
    cancelTimer();
    runSignal.removeEventListener('abort', onAbort);
  }
  return {
    result: { toolCallId: call.id, name: call.name, content, isError },
    durationMs: Math.round(performance.now() - startedReal),
  };
}

/** The tool phase of a turn: its calls, the results committed so far, and the message index they go to. */
interface ToolPhase {
  index: number;
  calls: ToolCall[];
  done: Map<string, ToolResult>;
}

/** The phase's results in call order (only the calls that have one). */
function resultsSoFar(phase: ToolPhase): ToolResult[] {
  const out: ToolResult[] = [];
  for (const c of phase.calls) {
    const r = phase.done.get(c.id);
    if (r) out.push(r);
  }
  return out;
}

/**
 * Runs a turn's calls concurrently. As each completes, its result is committed (the turn's
 * `tool_results` message as it stands, plus the peer deliveries it made) — one commit at a time,
 * in completion order — then the deliveries are applied and `tool_execution_completed` emitted.
 */
async function runTools(
  host: AgentLoopHost,
  m: Member,
  run: OpenRun,
  toolset: ToolSet,
  phase: ToolPhase,
  signal: AbortSignal,
): Promise<ToolResult[]> {
  let chain: Promise<void> = Promise.resolve();
  let commitError: unknown;
  await Promise.all(
    phase.calls.map(async (call) => {
      const effects: PeerEffect[] = [];
      const { result, durationMs } = await runTool(host, m, toolset, call, signal, effects);
      const step = chain.then(async () => {
        if (commitError !== undefined) return;
        phase.done.set(call.id, result);
        try {
          await host.journal.toolResults(m, run, phase.index, resultsSoFar(phase), effects);
        } catch (error) {
          phase.done.delete(call.id);
          commitError = error;
          return;
        }
        for (const e of effects) host.deliver(e);
        host.emit(m, {
          type: 'tool_execution_completed',
          id: call.id,
          toolCallId: call.id,
          name: call.name,
          result: result.content,
          isError: result.isError,
          durationMs,
          ...originFields(toolset.origin(call.name)),
        });
      });
      chain = step;
      await step;
    }),
  );
  if (commitError !== undefined) throw commitError;
  return resultsSoFar(phase);
}

/** The profile's `provider_params` in the clients' camelCase. */
function providerParams(raw: Record<string, unknown> | undefined): ProviderParams | undefined {
  if (!raw) return undefined;
  const out: ProviderParams = {};
  if (typeof raw.temperature === 'number') out.temperature = raw.temperature;
  if (typeof raw.top_p === 'number') out.topP = raw.top_p;
  if (typeof raw.max_output_tokens === 'number') out.maxOutputTokens = raw.max_output_tokens;
  if (raw.reasoning === 'emit' || raw.reasoning === 'silent' || raw.reasoning === 'off') out.reasoning = raw.reasoning;
  if (typeof raw.thinking_budget_tokens === 'number') out.thinkingBudgetTokens = raw.thinking_budget_tokens;
  if (typeof raw.provider_tag === 'string') out.providerTag = raw.provider_tag;
  return out;
}

function buildRequest(host: AgentLoopHost, m: Member, toolset: ToolSet): LlmRequest {
  const request: LlmRequest = {
    model: m.profile.model,
    system: m.system,
    messages: m.history.messages(),
    tools: toolset.definitions,
    maxTokens: m.profile.maxTokens ?? host.tuning.maxTokens ?? 4096,
    caller: { memberId: m.id, profile: m.profile.name },
  };
  const params = providerParams(m.profile.providerParams);
  if (params) request.providerParams = params;
  if (m.profile.outputSchema) request.outputSchema = m.profile.outputSchema;
  return request;
}

function budgetExceeded(m: Member, limit: string, value: number, used: number, message: string): MobRuntimeError {
  return new MobRuntimeError('INTERNAL', `member ${m.id}: budget exceeded: ${message}`, {
    code: 'BudgetExceeded',
    details: { memberId: m.id, limit, value, used },
  });
}

/** Fails before a turn when the run or the member's day has used its tokens up. */
function checkTokenBudget(host: AgentLoopHost, m: Member, budget: Budget, usage: Usage): void {
  const run = usage.inputTokens + usage.outputTokens;
  if (budget.maxTokensPerRun !== undefined && run >= budget.maxTokensPerRun)
    throw budgetExceeded(
      m,
      'max_tokens_per_run',
      budget.maxTokensPerRun,
      run,
      `the run used ${run} of its ${budget.maxTokensPerRun} tokens (max_tokens_per_run)`,
    );
  const day = dayTokens(host, m);
  if (budget.maxTokensPerDay !== undefined && day >= budget.maxTokensPerDay)
    throw budgetExceeded(
      m,
      'max_tokens_per_day',
      budget.maxTokensPerDay,
      day,
      `the member used ${day} of its ${budget.maxTokensPerDay} tokens today (max_tokens_per_day, UTC)`,
    );
}

/** After a turn: the budget error when the run or the day passed its token limit (the turn counted first). */
function tokenBudgetPassed(
  host: AgentLoopHost,
  m: Member,
  budget: Budget,
  usage: Usage,
  turn: Usage,
): MobRuntimeError | undefined {
  const run = usage.inputTokens + usage.outputTokens;
  if (budget.maxTokensPerRun !== undefined && run > budget.maxTokensPerRun)
    return budgetExceeded(
      m,
      'max_tokens_per_run',
      budget.maxTokensPerRun,
      run,
      `the run used ${run} tokens, over its ${budget.maxTokensPerRun} (max_tokens_per_run)`,
    );
  const day = dayTokens(host, m) + turn.inputTokens + turn.outputTokens;
  if (budget.maxTokensPerDay !== undefined && day > budget.maxTokensPerDay)
    return budgetExceeded(
      m,
      'max_tokens_per_day',
      budget.maxTokensPerDay,
      day,
      `the member used ${day} tokens today, over its ${budget.maxTokensPerDay} (max_tokens_per_day, UTC)`,
    );
  return undefined;
}

function toolCallBudgetExceeded(m: Member, limit: number, made: number, asked: number): MobRuntimeError {
  return budgetExceeded(
    m,
    'max_tool_calls_per_run',
    limit,
    made + asked,
    `the model asked for ${asked} more tool calls after ${made}; the run may make ${limit} (max_tool_calls_per_run)`,
  );
}

/** The member's tokens of the current UTC day (from its stats). */
function dayTokens(host: AgentLoopHost, m: Member): number {
  const today = utcDay(host.clock.nowMs());
  return m.stats.day?.date === today ? m.stats.day.tokens : 0;
}

/** `YYYY-MM-DD` (UTC) of `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The JSON of an answer: the text, or the body of one fenced code block. */
function answerJson(text: string): unknown {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/.exec(trimmed);
  return JSON.parse(fenced ? (fenced[1] as string) : trimmed);
}

/** Why `text` does not answer `schema` (undefined when it does). */
async function answerProblem(schema: Record<string, unknown>, text: string): Promise<string | undefined> {
  let value: unknown;
  try {
    value = answerJson(text);
  } catch (error) {
    return `the answer is not JSON (${(error as Error).message})`;
  }
  const check = await compileSchema(schema);
  if (check === null) return undefined;
  return check(value);
}

function correctionNote(schema: Record<string, unknown>, problem: string): string {
  return [
    `Your answer does not match the required output schema: ${problem}.`,
    'Answer again with only a JSON value that matches this JSON Schema (no prose, no code fence):',
    JSON.stringify(schema),
  ].join('\n');
}

function outputSchemaMismatch(m: Member, problem: string): MobRuntimeError {
  return new MobRuntimeError(
    'INTERNAL',
    `member ${m.id}: the answer does not match the profile's output_schema after one correction: ${problem}`,
    { code: 'OutputSchemaMismatch', details: { memberId: m.id, profile: m.profile.name, problem } },
  );
}

function maxTurnsExceeded(m: Member, maxTurns: number): MobRuntimeError {
  return new MobRuntimeError(
    'INTERNAL',
    `member ${m.id} hit the max-turns guard (${maxTurns} LLM turns) without ending its turn`,
    { code: 'MaxTurnsExceeded', details: { memberId: m.id, maxTurns } },
  );
}

/**
 * Commits the run's start, then pins its messages in the history, records the trigger and emits
 * `run_started` (and `peer_content_ingested` per peer message). When the start cannot be committed
 * the inbox items go back to the front of the inbox and the error is marked {@link runNotStarted}.
 */
async function startRun(host: AgentLoopHost, m: Member, items: Inbound[]): Promise<OpenRun> {
  let started: Awaited<ReturnType<RunJournal['start']>>;
  try {
    started = await host.journal.start(m, items);
  } catch (error) {
    m.inbox.unshift(...items.filter((i) => i.seq !== undefined));
    if (typeof error === 'object' && error !== null) notStarted.add(error);
    throw error;
  }
  const { run, messages } = started;
  m.replyTo = run.replyTo;
  m.history.beginRun();
  for (const msg of messages)
    if (msg.role === 'user')
      m.history.push(
        msg.images
          ? { role: 'user', content: msg.content, images: msg.images }
          : { role: 'user', content: msg.content },
        msg.index,
      );
  host.emit(m, { type: 'run_started', sessionId: m.sessionId, prompt: run.prompt });
  for (const item of items) if (item.kind === 'peer') host.emit(m, { type: 'peer_content_ingested', peer: item.from });
  return run;
}

function errorClassOf(err: unknown): string {
  if (!isMobKitError(err)) return 'internal';
  if (err.code === 'MaxTurnsExceeded') return 'max_turns_exceeded';
  if (err.code === 'BudgetExceeded') return 'budget_exceeded';
  if (err.code === 'OutputSchemaMismatch') return 'output_schema';
  return err instanceof MobRuntimeError ? err.mobCode.toLowerCase() : err.code;
}

/** The error result of a call the run ended without (cancelled, or never run because of a budget). */
function closingText(error: unknown): string {
  if (isMobKitError(error) && error.code === 'BudgetExceeded') return `not run: ${error.message}`;
  return 'cancelled before the tool finished';
}

/**
 * Closes tool calls left open (an error result for each call without one, committed with the end
 * of the run), emits `run_failed` and returns the error the run fails with.
 */
async function failRun(
  host: AgentLoopHost,
  m: Member,
  run: OpenRun,
  phase: ToolPhase | undefined,
  signal: AbortSignal,
  error: unknown,
): Promise<unknown> {
  let closing: { index: number; results: ToolResult[] } | undefined;
  if (phase && phase.done.size < phase.calls.length) {
    const results = phase.calls.map(
      (c) =>
        phase.done.get(c.id) ?? {
          toolCallId: c.id,
          name: c.name,
          content: closingText(error),
          isError: true,
        },
    );
    closing = { index: phase.index, results };
  }
  const err = signal.aborted ? cancelled(m.id, signal.reason) : error;
  const message = (err as Error).message ?? String(err);
  try {
    await host.journal.fail(m, run, message, closing);
  } catch {
    // The store refused the close too: the run record stays open and is continued after a restart.
  }
  if (closing) m.history.push({ role: 'tool_results', results: closing.results }, closing.index);
  host.emit(m, { type: 'run_failed', sessionId: m.sessionId, errorClass: errorClassOf(err), error: message });
  return err;
}

/** What starts a run: trigger items, or an interrupted run to continue (its history already loaded and pinned). */
export type RunTrigger = { items: Inbound[] } | { resume: OpenRun };

/**
 * One agent run (Meerkat's loop): commit and render the trigger, then LLM turns — each streamed
 * with retry, its tool calls run concurrently, every step committed as it completes — until the
 * model ends its turn. Cancellation (the member's controller, or `externalSignal`) fails the run
 * with `RunCancelled`. `{resume}` continues a run interrupted by a crash from its last committed
 * step (a fresh turn budget).
 */
export async function runAgent(
  host: AgentLoopHost,
  m: Member,
  trigger: RunTrigger,
  externalSignal?: AbortSignal,
): Promise<RunResult> {
  const controller = new AbortController();
  const onExternalAbort = () => controller.abort(externalSignal?.reason ?? new Error('aborted'));
  if (externalSignal?.aborted) controller.abort(externalSignal.reason);
  externalSignal?.addEventListener('abort', onExternalAbort, { once: true });
  m.running = controller;
  const signal = controller.signal;
  let run: OpenRun;
  try {
    if ('items' in trigger) run = await startRun(host, m, trigger.items);
    else {
      run = trigger.resume;
      m.openRun = run;
      m.replyTo = run.replyTo;
      host.emit(m, { type: 'run_started', sessionId: m.sessionId, prompt: run.prompt });
    }
  } catch (error) {
    externalSignal?.removeEventListener('abort', onExternalAbort);
    m.running = undefined;
    throw error;
  }
  let usage: Usage = zeroUsage();
  let text = '';
  let turns = 0;
  let toolCalls = 0;
  let phase: ToolPhase | undefined;
  let corrected = false;
  const maxTurns = m.profile.maxTurns ?? host.tuning.maxTurns ?? 16;
  const budget = host.budgetFor(m);
  const outputSchema = m.profile.outputSchema;
  try {
    for (;;) {
      if (signal.aborted) throw cancelled(m.id, signal.reason);
      if (turns >= maxTurns) throw maxTurnsExceeded(m, maxTurns);
      checkTokenBudget(host, m, budget, usage);
      turns++;
      host.emit(m, { type: 'turn_started', turnNumber: turns });
      if (host.beforeTurn) await host.beforeTurn(m, run, signal);
      const toolset = await host.tools.forProfile(m.profile);
      const request = buildRequest(host, m, toolset);
      const turn = await streamTurnWithRetry(host, m, request, toolset, signal);
      if (signal.aborted) throw cancelled(m.id, signal.reason);
      usage = addUsage(usage, turn.usage);
      if (turn.text !== '') {
        host.emit(m, { type: 'text_complete', content: turn.text });
        text = turn.text;
      }
      let final = turn.calls.length === 0;
      const overBudget = tokenBudgetPassed(host, m, budget, usage, turn.usage);
      const toolBudget =
        budget.maxToolCallsPerRun !== undefined && toolCalls + turn.calls.length > budget.maxToolCallsPerRun;
      let schemaProblem: string | undefined;
      if (final && outputSchema && !overBudget) schemaProblem = await answerProblem(outputSchema, turn.text);
      if (overBudget || schemaProblem !== undefined) final = false;
      const index = await host.journal.assistant(
        m,
        run,
        { content: turn.text, toolCalls: turn.calls, usage: turn.usage },
        final ? { text } : undefined,
      );
      m.history.push({ role: 'assistant', content: turn.text, toolCalls: turn.calls }, index);
      host.emit(m, {
        type: 'turn_completed',
        stopReason: turn.calls.length > 0 ? 'tool_use' : turn.stopReason,
        usage: turn.usage,
      });
      if (final) break;
      if (overBudget) {
        if (turn.calls.length > 0) phase = { index: index + 1, calls: turn.calls, done: new Map() };
        throw overBudget;
      }
      if (schemaProblem !== undefined) {
        if (corrected) throw outputSchemaMismatch(m, schemaProblem);
        corrected = true;
        const note = correctionNote(outputSchema as Record<string, unknown>, schemaProblem);
        const noteIndex = await host.journal.note(m, run, note);
        m.history.push({ role: 'user', content: note }, noteIndex);
        continue;
      }
      phase = { index: index + 1, calls: turn.calls, done: new Map() };
      if (toolBudget)
        throw toolCallBudgetExceeded(m, budget.maxToolCallsPerRun as number, toolCalls, turn.calls.length);
      toolCalls += turn.calls.length;
      const results = await runTools(host, m, run, toolset, phase, signal);
      m.history.push({ role: 'tool_results', results }, phase.index);
      phase = undefined;
    }
    host.emit(m, { type: 'run_completed', sessionId: m.sessionId, result: text, usage });
    return { sessionId: m.sessionId, text, usage, turns, toolCalls };
  } catch (error) {
    throw await failRun(host, m, run, phase, signal, error);
  } finally {
    externalSignal?.removeEventListener('abort', onExternalAbort);
    m.running = undefined;
    m.openRun = undefined;
    m.history.endRun();
  }
}
