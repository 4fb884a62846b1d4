import { isMobKitError } from '@mobkit/core';
import { MobRuntimeError, invalidInput } from '../errors.js';
import { type LlmClient, type LlmMessage, type LlmRequest, type Usage, zeroUsage } from '../llm/types.js';
import { abortable } from './abortable.js';

/**
 * The header of the user message that replaces the summarised turns: the model sees
 * `` `${SUMMARY_PREFIX}\n${summary}` `` followed by the kept messages. A history whose first message
 * starts with it already holds a summary; the next compaction summarises that summary again together
 * with the turns after it, so summaries roll up instead of piling up.
 */
export const SUMMARY_PREFIX = 'Summary of the earlier conversation:';

/** How many of the newest messages are kept by default, besides the whole run in progress. */
const DEFAULT_KEEP_RECENT_MESSAGES = 4;

/** The summary's output cap: a quarter of the threshold, at least 256 and at most 4,096 tokens. */
function summaryMaxTokens(threshold: number): number {
  return Math.min(4096, Math.max(256, Math.floor(threshold / 4)));
}

const SUMMARY_SYSTEM_PROMPT = [
  'You compact the history of an AI agent that works in a team of agents (a mob).',
  'You are given the older part of its conversation as a transcript; the agent will continue from your summary',
  'plus its most recent messages, without the transcript.',
  'Write a concise, factual summary that keeps everything the agent still needs: the tasks and goals it was given',
  'and by whom, decisions made, facts and results learned (including tool results that still matter), exact names,',
  'ids, paths, numbers and quotes that may be needed again, messages sent to or received from peers, commitments',
  'and open questions. Drop greetings, repetition and details that no longer matter.',
  'If the transcript begins with an earlier summary, fold it into the new one.',
  'Answer with the summary only: no preamble, no tool calls.',
].join(' ');

/**
 * Estimates the prompt tokens of `system` plus `messages`, deterministically (no tokenizer): one token
 * per 4 UTF-8 bytes of `JSON.stringify(system)` plus `JSON.stringify(messages)`, rounded up. JSON
 * quoting and keys make it err on the high side for prose, which is the safe side for a threshold.
 */
export function estimateTokens(system: string, messages: readonly LlmMessage[]): number {
  const bytes = Buffer.byteLength(JSON.stringify(system), 'utf8') + Buffer.byteLength(JSON.stringify(messages), 'utf8');
  return Math.ceil(bytes / 4);
}

/** What {@link compactForTurn} produced. */
export interface CompactionResult {
  /** The summary text (trimmed, not empty), without {@link SUMMARY_PREFIX}. */
  summary: string;
  /**
   * How many messages from the start of the history the summary replaces (an earlier summary at the
   * head counts as one of them). The model's next prompt is one user message
   * `` `${SUMMARY_PREFIX}\n${summary}` `` followed by `messages.slice(summarizedMessages)`.
   */
  summarizedMessages: number;
  /** {@link estimateTokens} of the system prompt and the whole history. */
  tokensBefore: number;
  /** {@link estimateTokens} of the system prompt, the summary message and the kept messages. */
  tokensAfter: number;
  /** Token usage of the summarisation call (add it to the run's usage). */
  usage: Usage;
}

/** What {@link compactForTurn} is given. */
export interface CompactionInput {
  /** The member's history as the model would see it next. */
  messages: readonly LlmMessage[];
  /** The member's system prompt (counted in the estimate, not summarised). */
  system: string;
  /** The profile's `auto_compact_threshold`: estimated prompt tokens past which older turns are summarised. */
  threshold: number;
  /** The member's own LLM client, which writes the summary. */
  llm: LlmClient;
  /** The member's model. */
  model: string;
  /** Aborts the summarisation call (the run's signal). */
  signal: AbortSignal;
  /** Newest messages always kept verbatim, besides the run in progress (default 4). */
  keepRecentMessages?: number;
  /** Who is asking, passed on to the LLM request (so a scripted client can answer per member). */
  caller?: LlmRequest['caller'];
}

function isSummary(message: LlmMessage | undefined): boolean {
  return message?.role === 'user' && message.content.startsWith(SUMMARY_PREFIX);
}

/**
 * The index where the run in progress starts: the first of the trailing user messages that triggered
 * the last exchange (a run's trigger may be several inbound messages in a row). 0 when there is no user
 * message, so nothing is older than it.
 */
function lastExchangeStart(messages: readonly LlmMessage[]): number {
  let i = messages.length - 1;
  while (i >= 0 && messages[i]?.role !== 'user') i--;
  if (i < 0) return 0;
  while (i > 0 && messages[i - 1]?.role === 'user') i--;
  return i;
}

/**
 * Where to cut: the latest user message at or before both the run in progress and the newest
 * `keep` messages, so the prefix is made of whole exchanges (no assistant reply or tool result is
 * separated from what it answers). 0 when there is no such cut after the first message.
 */
function cutIndex(messages: readonly LlmMessage[], keep: number): number {
  const limit = Math.min(lastExchangeStart(messages), messages.length - keep);
  for (let i = limit; i > 0; i--) if (messages[i]?.role === 'user') return i;
  return 0;
}

/** The prefix as a plain-text transcript: user messages, assistant text and tool calls, tool results. */
function renderTranscript(prefix: readonly LlmMessage[]): string {
  const parts: string[] = [];
  for (const [index, message] of prefix.entries()) {
    if (message.role === 'user') {
      if (index === 0 && isSummary(message))
        parts.push(`[earlier summary]\n${message.content.slice(SUMMARY_PREFIX.length).trim()}`);
      else parts.push(`[user]\n${message.content}`);
    } else if (message.role === 'assistant') {
      const lines = message.content === '' ? [] : [message.content];
      for (const call of message.toolCalls)
        lines.push(`[tool call ${call.name} id=${call.id}] ${JSON.stringify(call.args ?? {})}`);
      parts.push(`[assistant]\n${lines.join('\n')}`);
    } else {
      const lines = message.results.map(
        (r) => `[tool result ${r.name} id=${r.toolCallId}${r.isError ? ' error' : ''}] ${r.content}`,
      );
      parts.push(`[tool results]\n${lines.join('\n')}`);
    }
  }
  return parts.join('\n\n');
}

function compactionCancelled(signal: AbortSignal, cause?: unknown): MobRuntimeError {
  const reason = signal.reason;
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new MobRuntimeError('CANCELLED', `history compaction was cancelled (${why})`, {
    cause,
    details: { phase: 'compaction' },
  });
}

function isCompactionCancel(error: unknown): boolean {
  return error instanceof MobRuntimeError && error.mobCode === 'CANCELLED' && error.details?.phase === 'compaction';
}

function compactionFailed(error: unknown): MobRuntimeError {
  const message = error instanceof Error ? error.message : String(error);
  const hint = "the history is unchanged; check the provider, or raise or unset the profile's auto_compact_threshold";
  if (error instanceof MobRuntimeError && error.mobCode === 'PROVIDER_ERROR')
    return new MobRuntimeError('PROVIDER_ERROR', `history compaction failed: ${message} (${hint})`, {
      cause: error,
      retryable: error.retryable,
      code: error.code,
      details: { phase: 'compaction' },
    });
  return new MobRuntimeError(
    isMobKitError(error) && error.code === 'ProviderError' ? 'PROVIDER_ERROR' : 'INTERNAL',
    `history compaction failed: ${message} (${hint})`,
    { cause: error, details: { phase: 'compaction' } },
  );
}

/**
 * History compaction before one LLM call (a profile's `auto_compact_threshold`). When
 * {@link estimateTokens} of `system` plus `messages` is over `threshold`, the older turns are
 * summarised by the member's own model: a prefix of whole exchanges (cut at a user message; the run in
 * progress and the newest `keepRecentMessages` are kept) is rendered as a transcript and sent to
 * `llm.stream` with `model`, no tools and a summarisation system prompt. An earlier summary at the
 * head is part of the prefix, so summaries roll up. The history itself is not changed: the caller
 * replaces `messages.slice(0, summarizedMessages)` with one user message
 * `` `${SUMMARY_PREFIX}\n${summary}` `` in what the model sees (and keeps the full history in its store).
 *
 * Resolves `undefined` without an LLM call when the estimate is at or under the threshold, or when
 * nothing older than the kept messages is left to summarise (only an earlier summary, or nothing).
 * Rejects with `RunCancelled` when `signal` aborts, and with a `MobRuntimeError` naming the compaction
 * when the call fails (`PROVIDER_ERROR`, keeping the provider error's `retryable` and code; `INTERNAL`
 * for anything else) or answers an empty summary (`PROVIDER_ERROR`); `INVALID_INPUT` for a non-positive
 * threshold or a negative `keepRecentMessages`. The summary is capped at a quarter of the threshold
 * (256 to 4,096 output tokens); `tokensAfter` may still be over the threshold when the kept messages
 * alone are (the run in progress is never summarised).
 */
export async function compactForTurn(input: CompactionInput): Promise<CompactionResult | undefined> {
  const { messages, system, threshold, llm, model, signal } = input;
  const keep = input.keepRecentMessages ?? DEFAULT_KEEP_RECENT_MESSAGES;
  if (!Number.isFinite(threshold) || threshold <= 0)
    throw invalidInput('auto_compact_threshold', `must be a positive number of tokens, got ${threshold}`);
  if (!Number.isInteger(keep) || keep < 0)
    throw invalidInput('keepRecentMessages', `must be a non-negative integer, got ${keep}`);
  const tokensBefore = estimateTokens(system, messages);
  if (tokensBefore <= threshold) return undefined;
  const cut = cutIndex(messages, keep);
  if (cut === 0 || (cut === 1 && isSummary(messages[0]))) return undefined;
  if (signal.aborted) throw compactionCancelled(signal);

  const prefix = messages.slice(0, cut);
  const request: LlmRequest = {
    model,
    system: SUMMARY_SYSTEM_PROMPT,
    messages: [
      {
        role: 'user',
        content: `Summarise this earlier part of the conversation (${prefix.length} messages):\n\n${renderTranscript(prefix)}`,
      },
    ],
    tools: [],
    maxTokens: summaryMaxTokens(threshold),
    ...(input.caller ? { caller: input.caller } : {}),
  };
  let text = '';
  let usage = zeroUsage();
  try {
    for await (const event of abortable(llm.stream(request, signal), signal, () => compactionCancelled(signal))) {
      if (event.type === 'text_delta') text += event.delta;
      else if (event.type === 'usage')
        usage = {
          inputTokens: usage.inputTokens + event.usage.inputTokens,
          outputTokens: usage.outputTokens + event.usage.outputTokens,
        };
    }
  } catch (error) {
    if (signal.aborted) throw isCompactionCancel(error) ? error : compactionCancelled(signal, error);
    throw compactionFailed(error);
  }
  if (signal.aborted) throw compactionCancelled(signal);
  const summary = text.trim();
  if (summary === '')
    throw new MobRuntimeError(
      'PROVIDER_ERROR',
      `history compaction failed: model ${model} answered an empty summary (the history is unchanged; check the model, or raise or unset the profile's auto_compact_threshold)`,
      { details: { phase: 'compaction', model } },
    );
  const kept = messages.slice(cut);
  const tokensAfter = estimateTokens(system, [{ role: 'user', content: `${SUMMARY_PREFIX}\n${summary}` }, ...kept]);
  return { summary, summarizedMessages: cut, tokensBefore, tokensAfter, usage };
}
