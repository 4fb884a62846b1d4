import { type Clock, systemClock } from '@mobkit/core';
import { MobRuntimeError } from '../errors.js';
import type { LlmClient, LlmEvent, LlmRequest, StopReason, ToolCall } from './types.js';

function abortError(signal: AbortSignal): MobRuntimeError {
  return new MobRuntimeError(
    'CANCELLED',
    `LLM call cancelled${signal.reason instanceof Error ? `: ${signal.reason.message}` : ''}`,
  );
}

/** Sleeps on `clock`; an abort rejects with the LLM call's `RunCancelled`. */
async function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch (error) {
    throw signal.aborted ? abortError(signal) : error;
  }
}

function gated(gate: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    gate.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Meerkat's `TestClient`: every call answers `"ok"` and ends its turn (a zero usage before `done`).
 * Give `delayMs` for the seed's `DelayedTestClient` (the delay is slept before the text and before `done`).
 */
export class TestClient implements LlmClient {
  readonly provider: string;
  private readonly delayMs: number;
  private readonly text: string;
  /** Number of `stream` calls so far. */
  calls = 0;

  private readonly clock: Clock;

  /** `clock` (default `systemClock`) times `delayMs`. */
  constructor(options: { delayMs?: number; text?: string; provider?: string; clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
    this.delayMs = options.delayMs ?? 0;
    this.text = options.text ?? 'ok';
    this.provider = options.provider ?? (this.delayMs > 0 ? 'delayed-test' : 'test');
  }

  /** The seed's `DelayedTestClient`: sleeps `delayMs` before the text and again before `done`. */
  static delayed(delayMs: number): TestClient {
    return new TestClient({ delayMs });
  }

  async *stream(_request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
    this.calls++;
    if (this.delayMs > 0) await sleep(this.clock, this.delayMs, signal);
    else if (signal.aborted) throw abortError(signal);
    yield { type: 'text_delta', delta: this.text };
    if (this.delayMs > 0) await sleep(this.clock, this.delayMs, signal);
    yield { type: 'usage', usage: { inputTokens: 0, outputTokens: 0 } };
    yield { type: 'done', stopReason: 'end_turn' };
  }
}

/** One scripted model reply: text, tool calls, or both. */
export interface ScriptedReply {
  text?: string;
  toolCalls?: Array<{ id?: string; name: string; args?: unknown }>;
  /** Sleep this long before answering (cancellable). */
  delayMs?: number;
  /** Wait for this promise before answering (cancellable), so a test decides when the reply comes. */
  gate?: Promise<unknown>;
  /** Fail the call with this message (a `ProviderError`). */
  error?: string;
  /** Whether that failure is transient (retried by the agent loop). */
  retryable?: boolean;
  usage?: { inputTokens: number; outputTokens: number };
}

/** A reply, or a function of the request that makes one (for replies that depend on what arrived). */
export type ScriptStep = ScriptedReply | ((request: LlmRequest) => ScriptedReply);

/**
 * A deterministic client: replies scripted per member id (first) or per profile, consumed in order.
 * When a script runs out, it answers `fallback` (default: `"ok"`, end of turn). Tool calls in a reply
 * end the turn with `tool_use`, so a test can make `lead` message `worker` and `worker` reply.
 */
export class ScriptedLlmClient implements LlmClient {
  readonly provider = 'scripted';
  private readonly scripts = new Map<string, ScriptStep[]>();
  private readonly fallback: ScriptedReply;
  private callCounter = 0;
  /** Every request seen, in order, with the key it was answered from. */
  readonly requests: Array<{ key: string; request: LlmRequest }> = [];

  private readonly clock: Clock;

  /** `options.clock` (default `systemClock`) times replies' `delayMs`. */
  constructor(scripts: Record<string, ScriptStep[]> = {}, options: { fallback?: ScriptedReply; clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
    for (const [key, steps] of Object.entries(scripts)) this.scripts.set(key, [...steps]);
    this.fallback = options.fallback ?? { text: 'ok' };
  }

  /** Appends replies for a member id or profile name. */
  script(key: string, ...steps: ScriptStep[]): this {
    const list = this.scripts.get(key) ?? [];
    list.push(...steps);
    this.scripts.set(key, list);
    return this;
  }

  /** Replies still queued for `key`. */
  remaining(key: string): number {
    return this.scripts.get(key)?.length ?? 0;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncIterable<LlmEvent> {
    const memberKey = request.caller?.memberId;
    const profileKey = request.caller?.profile;
    let key = 'fallback';
    let step: ScriptStep | undefined;
    for (const candidate of [memberKey, profileKey]) {
      if (candidate === undefined) continue;
      const list = this.scripts.get(candidate);
      if (list && list.length > 0) {
        step = list.shift();
        key = candidate;
        break;
      }
    }
    this.requests.push({ key, request });
    const reply = typeof step === 'function' ? step(request) : (step ?? this.fallback);
    if (reply.delayMs) await sleep(this.clock, reply.delayMs, signal);
    if (reply.gate) await gated(reply.gate, signal);
    if (signal.aborted) throw abortError(signal);
    if (reply.error !== undefined)
      throw new MobRuntimeError('PROVIDER_ERROR', `scripted LLM error: ${reply.error}`, {
        retryable: reply.retryable ?? false,
      });
    if (reply.text) yield { type: 'text_delta', delta: reply.text };
    const calls: ToolCall[] = (reply.toolCalls ?? []).map((c) => ({
      id: c.id ?? `call_${++this.callCounter}`,
      name: c.name,
      args: c.args ?? {},
    }));
    for (const c of calls) yield { type: 'tool_call_complete', id: c.id, name: c.name, args: c.args };
    yield { type: 'usage', usage: reply.usage ?? { inputTokens: 0, outputTokens: 0 } };
    const stopReason: StopReason = calls.length > 0 ? 'tool_use' : 'end_turn';
    yield { type: 'done', stopReason };
  }
}
