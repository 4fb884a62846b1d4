import { type AgentEventPayload, type Clock, isMobKitError } from '@mobkit/core';
import { MobRuntimeError } from '../errors.js';
import {
  type LlmRequest,
  type StopReason,
  type ToolCall,
  type ToolResult,
  type Usage,
  zeroUsage,
} from '../llm/types.js';
import type { RunResult } from '../types.js';
import { truncateUtf8 } from '../message-size.js';
import { type Inbound, type Member, cancelled, renderInbound } from './member.js';
import type { MemberTools } from './tools.js';
import type { EmbeddedMobTuning } from './types.js';

/** What the agent loop needs from its mob. */
export interface AgentLoopHost {
  readonly clock: Clock;
  readonly tuning: EmbeddedMobTuning;
  readonly tools: MemberTools;
  /** The bound of one message; a longer tool result is truncated to it. */
  readonly maxMessageBytes: number;
  emit(member: Member, event: AgentEventPayload): void;
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

/** Iterates `source`, but stops waiting as soon as `signal` aborts (even if the source ignores it). */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (signal.aborted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
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
          host.emit(m, { type: 'tool_call_requested', id: ev.id, name: ev.name, args: ev.args });
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

/** Runs one tool call with the tool timeout; a failure, timeout or cancellation becomes an error result. */
async function runTool(host: AgentLoopHost, m: Member, call: ToolCall, runSignal: AbortSignal): Promise<ToolResult> {
  const startedReal = performance.now();
  const timeoutMs = host.tuning.toolTimeoutMs ?? 60_000;
  const controller = new AbortController();
  const timer = new AbortController();
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
  host.clock.sleep(timeoutMs, timer.signal).then(
    () => {
      fail(new Error(`tool ${call.name} timed out after ${timeoutMs} ms`));
      controller.abort(new Error('tool timed out'));
    },
    () => undefined, // the call finished first
  );
  let content: string;
  let isError = false;
  try {
    const work = Promise.resolve().then(() => host.tools.execute(m, call, controller.signal));
    const value = await Promise.race([work, failed]);
    content = truncateUtf8(typeof value === 'string' ? value : JSON.stringify(value ?? null), host.maxMessageBytes);
  } catch (error) {
    isError = true;
    content = (error as Error).message ?? String(error);
  } finally {
    timer.abort();
    runSignal.removeEventListener('abort', onAbort);
  }
  host.emit(m, {
    type: 'tool_execution_completed',
    id: call.id,
    name: call.name,
    result: content,
    isError,
    durationMs: Math.round(performance.now() - startedReal),
  });
  return { toolCallId: call.id, name: call.name, content, isError };
}

function maxTurnsExceeded(m: Member, maxTurns: number): MobRuntimeError {
  return new MobRuntimeError(
    'INTERNAL',
    `member ${m.id} hit the max-turns guard (${maxTurns} LLM turns) without ending its turn`,
    { code: 'MaxTurnsExceeded', details: { memberId: m.id, maxTurns } },
  );
}

/**
 * Pins the run's messages in the history, records the trigger and emits `run_started` (and
 * `peer_content_ingested` per peer message).
 */
function startRun(host: AgentLoopHost, m: Member, items: Inbound[]): void {
  const prompt = items.map(renderInbound).join('\n\n');
  m.replyTo = undefined;
  m.history.beginRun();
  for (const item of items) {
    m.history.push({ role: 'user', content: renderInbound(item) });
    if (item.kind === 'peer') m.replyTo = item.from;
  }
  host.emit(m, { type: 'run_started', sessionId: m.sessionId, prompt });
  for (const item of items) if (item.kind === 'peer') host.emit(m, { type: 'peer_content_ingested', peer: item.from });
}

/** Closes tool calls left open in the history, emits `run_failed` and returns the error the run fails with. */
function failRun(host: AgentLoopHost, m: Member, signal: AbortSignal, error: unknown): unknown {
  const last = m.history.last();
  if (last?.role === 'assistant' && last.toolCalls.length > 0) {
    m.history.push({
      role: 'tool_results',
      results: last.toolCalls.map((c) => ({
        toolCallId: c.id,
        name: c.name,
        content: 'cancelled before the tool finished',
        isError: true,
      })),
    });
  }
  const err = signal.aborted ? cancelled(m.id, signal.reason) : error;
  let errorClass = 'internal';
  if (isMobKitError(err)) {
    if (err.code === 'MaxTurnsExceeded') errorClass = 'max_turns_exceeded';
    else errorClass = err instanceof MobRuntimeError ? err.mobCode.toLowerCase() : err.code;
  }
  host.emit(m, { type: 'run_failed', sessionId: m.sessionId, errorClass, error: (err as Error).message });
  return err;
}

/**
 * One agent run (Meerkat's loop): render the trigger, then LLM turns — each streamed with retry,
 * its tool calls run concurrently — until the model ends its turn. Cancellation (the member's
 * controller, or `externalSignal`) fails the run with `RunCancelled`.
 */
export async function runAgent(
  host: AgentLoopHost,
  m: Member,
  items: Inbound[],
  externalSignal?: AbortSignal,
): Promise<RunResult> {
  const controller = new AbortController();
  const onExternalAbort = () => controller.abort(externalSignal?.reason ?? new Error('aborted'));
  if (externalSignal?.aborted) controller.abort(externalSignal.reason);
  externalSignal?.addEventListener('abort', onExternalAbort, { once: true });
  m.running = controller;
  const signal = controller.signal;
  startRun(host, m, items);
  let usage: Usage = zeroUsage();
  let text = '';
  let turns = 0;
  let toolCalls = 0;
  const maxTurns = m.profile.maxTurns ?? host.tuning.maxTurns ?? 16;
  try {
    for (;;) {
      if (signal.aborted) throw cancelled(m.id, signal.reason);
      if (turns >= maxTurns) throw maxTurnsExceeded(m, maxTurns);
      turns++;
      host.emit(m, { type: 'turn_started', turnNumber: turns });
      const request: LlmRequest = {
        model: m.profile.model,
        system: m.system,
        messages: m.history.messages(),
        tools: host.tools.definitionsFor(m.profile),
        maxTokens: m.profile.maxTokens ?? host.tuning.maxTokens ?? 4096,
        caller: { memberId: m.id, profile: m.profile.name },
      };
      const turn = await streamTurnWithRetry(host, m, request, signal);
      if (signal.aborted) throw cancelled(m.id, signal.reason);
      usage = addUsage(usage, turn.usage);
      if (turn.text !== '') {
        host.emit(m, { type: 'text_complete', content: turn.text });
        text = turn.text;
      }
      m.history.push({ role: 'assistant', content: turn.text, toolCalls: turn.calls });
      host.emit(m, {
        type: 'turn_completed',
        stopReason: turn.calls.length > 0 ? 'tool_use' : turn.stopReason,
        usage: turn.usage,
      });
      if (turn.calls.length === 0) break;
      toolCalls += turn.calls.length;
      const results = await Promise.all(turn.calls.map((c) => runTool(host, m, c, signal)));
      m.history.push({ role: 'tool_results', results });
    }
    host.emit(m, { type: 'run_completed', sessionId: m.sessionId, result: text, usage });
    return { sessionId: m.sessionId, text, usage, turns, toolCalls };
  } catch (error) {
    throw failRun(host, m, signal, error);
  } finally {
    externalSignal?.removeEventListener('abort', onExternalAbort);
    m.running = undefined;
    m.history.endRun();
  }
}
