import { invalidInput } from '../errors.js';
import type { LlmMessage, ToolCall, ToolResult } from '../llm/types.js';
import type { ForkContext, SessionMessage } from '../member-api.js';
import { SUMMARY_PREFIX } from './compaction.js';
import type { Interrupted, Member, OpenRun } from './member.js';

/** The text a tool call gets when the process stopped while it was executing. */
const INTERRUPTED_TOOL_RESULT =
  'interrupted: the process stopped while this tool call was executing; it was not re-executed';

/** An interrupted result for `call`. */
export function interruptedResult(call: ToolCall): ToolResult {
  return { toolCallId: call.id, name: call.name, content: INTERRUPTED_TOOL_RESULT, isError: true };
}

/** What the model sees of a committed session message (a compaction summary reads as a user message). */
function visible(message: SessionMessage): LlmMessage {
  switch (message.role) {
    case 'user':
      return message.images
        ? { role: 'user', content: message.content, images: message.images }
        : { role: 'user', content: message.content };
    case 'assistant':
      return { role: 'assistant', content: message.content, toolCalls: message.toolCalls };
    case 'tool_results':
      return { role: 'tool_results', results: message.results };
    case 'system':
      return { role: 'user', content: `${SUMMARY_PREFIX}\n${message.content}` };
  }
}

/**
 * A committed compaction summary as stored: the session message plus `keptFrom`, the session index
 * of the first message the model kept after it (the kept messages precede the summary in the
 * session, since compaction happens inside a run).
 */
export type StoredSummary = Extract<SessionMessage, { role: 'system' }> & { keptFrom?: number };

/** The message as `readSessionHistory` answers it (without the stored `keptFrom`). */
export function publicMessage(message: SessionMessage): SessionMessage {
  if (message.role !== 'system' || !('keptFrom' in message)) return message;
  const { keptFrom: _kept, ...rest } = message as StoredSummary;
  return rest;
}

/**
 * The model-visible order of `tail`: from the newest compaction summary — the summary, then the
 * messages it kept, then what came after it — else from the first user message.
 */
function visibleOrder(tail: readonly SessionMessage[]): SessionMessage[] {
  for (let i = tail.length - 1; i >= 0; i--) {
    const s = tail[i] as StoredSummary;
    if (s.role !== 'system' || s.keptFrom === undefined) continue;
    const keptFrom = s.keptFrom;
    const kept = tail.filter((m) => m.index >= keptFrom && m.index < s.index && m.role !== 'system');
    return [s, ...kept, ...tail.slice(i + 1).filter((m) => m.role !== 'system')];
  }
  const first = tail.findIndex((m) => m.role === 'user');
  return first < 0 ? [] : tail.slice(first).filter((m) => m.role !== 'system');
}

/**
 * Loads a member's model-visible history from the newest committed messages of its session
 * (`tail`, oldest first, already cut to the history window): it starts at a user message (or the
 * newest compaction summary), the messages of `run` are pinned, and a tool phase left incomplete
 * is closed — for the open run, by an {@link Interrupted} the mob continues from; for a closed
 * run (a close whose write failed), with interrupted results in memory.
 */
export function loadHistory(
  m: Member,
  tail: readonly SessionMessage[],
  run: OpenRun | undefined,
): Interrupted | undefined {
  const msgs = visibleOrder(tail);
  let pinned = false;
  const pin = () => {
    if (run && !pinned) {
      m.history.beginRun();
      pinned = true;
    }
  };
  for (let i = 0; i < msgs.length; i++) {
    const msg = msgs[i] as SessionMessage;
    if (run && msg.role !== 'system' && msg.index >= run.firstIndex) pin();
    if (msg.role === 'tool_results') continue; // pushed with the assistant message it answers
    m.history.push(visible(msg), msg.index);
    if (msg.role !== 'assistant' || msg.toolCalls.length === 0) continue;
    const next = msgs[i + 1];
    const done = next?.role === 'tool_results' ? next.results : [];
    const complete = msg.toolCalls.every((c) => done.some((r) => r.toolCallId === c.id));
    const isLast = i + (next?.role === 'tool_results' ? 2 : 1) >= msgs.length;
    if (!complete && isLast && run && msg.index >= run.firstIndex) {
      return { run, tools: { index: msg.index + 1, calls: msg.toolCalls, done: [...done] } };
    }
    m.history.push(
      {
        role: 'tool_results',
        results: msg.toolCalls.map((c) => done.find((r) => r.toolCallId === c.id) ?? interruptedResult(c)),
      },
      next?.role === 'tool_results' ? next.index : undefined,
    );
  }
  if (!run) return undefined;
  pin();
  const last = msgs[msgs.length - 1];
  if (last?.role === 'assistant' && last.toolCalls.length === 0 && last.index >= run.firstIndex)
    return { run, finalText: last.content };
  return { run };
}

/** Drops trailing tool calls that have no results yet (a source member in the middle of a turn). */
function closedPrefix(messages: LlmMessage[]): LlmMessage[] {
  const out = messages.slice();
  const last = out[out.length - 1];
  if (last?.role === 'assistant' && last.toolCalls.length > 0) out.pop();
  return out;
}

/** Validates a fork context (`InvalidInput` naming `fork_context.*`). */
export function requireForkContext(ctx: ForkContext | undefined): ForkContext {
  if (ctx === undefined || ctx === null) return { type: 'full_history' };
  if (ctx.type === 'full_history') return ctx;
  if (ctx.type === 'last_messages') {
    if (!Number.isSafeInteger(ctx.count) || ctx.count < 1)
      throw invalidInput('fork_context.count', `must be a positive integer, got ${String(ctx.count)}`);
    return ctx;
  }
  throw invalidInput(
    'fork_context.type',
    `must be 'full_history' or 'last_messages', got ${String((ctx as { type?: unknown }).type)}`,
  );
}

/**
 * The copy a forked helper starts from: the source's model-visible history (whole, or its last
 * `count` messages), cut so it starts at a user message and no tool result is left without its call.
 */
export function forkCopy(messages: LlmMessage[], ctx: ForkContext): LlmMessage[] {
  let copy = closedPrefix(messages);
  if (ctx.type === 'last_messages') copy = copy.slice(Math.max(0, copy.length - ctx.count));
  const start = copy.findIndex((m) => m.role === 'user');
  return structuredClone(start < 0 ? [] : copy.slice(start));
}

/** `messages` as session messages from index `first` (a fork's seed). */
export function seedMessages(messages: readonly LlmMessage[], first: number, createdAtMs: number): SessionMessage[] {
  return messages.map((msg, i): SessionMessage => {
    const base = { index: first + i, createdAtMs };
    if (msg.role === 'user') return { ...base, role: 'user', content: msg.content, source: 'host' };
    if (msg.role === 'assistant') return { ...base, role: 'assistant', content: msg.content, toolCalls: msg.toolCalls };
    return { ...base, role: 'tool_results', results: msg.results };
  });
}
