import { SchedulingError } from './errors.js';

/** Arguments of one dispatch, as sent to the `scheduling.dispatch` MCP tool and to a {@link DispatchHook}. */
export interface SchedulingDispatchArgs {
  schedule_id: string;
  interval: string;
  timezone: string;
  due_tick_ms: number;
  tick_ms: number;
  claim_key: string;
}

/** A message to inject into a mob member because a schedule fired. */
export interface RuntimeInjection {
  memberId: string;
  message: string;
}

/**
 * Decides what a dispatched schedule does. It gets the dispatch in wire form and may answer, sync or
 * async: nothing / `null` / `{}` (no injection), `{ member_id, message }`, or the MCP tool form
 * `{ runtime_injection: { member_id, message } | null }` (also as JSON text). A throw, a timeout or
 * an invalid answer is recorded in the dispatch's `runtimeInjectionError`; it never fails the dispatch.
 */
export type DispatchHook = (args: SchedulingDispatchArgs, context: { signal: AbortSignal }) => unknown;

/**
 * Delivers an injection into the mob (the umbrella passes the mob's `sendMessage`). May return the
 * member's session id. A throw is recorded as `runtimeInjectionError: "mob injection failed: …"`.
 */
export type InjectionExecutor = (injection: InjectionRequest) => Promise<InjectionOutcome> | InjectionOutcome;

/** What an {@link InjectionExecutor} is asked to deliver. */
export type InjectionRequest = RuntimeInjection & { scheduleId: string; claimKey: string; injectionEventId: string };

/**
 * What an {@link InjectionExecutor} answers: the member's session id, or nothing (a function that
 * returns nothing is an executor too). Written as `void | …` because a `() => void` is assignable
 * to it, where `undefined` would refuse one.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: `void` is meant here: executors that return nothing must type-check.
export type InjectionOutcome = { sessionId?: string } | void;

function nonBlank(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/**
 * Reads a dispatch hook's answer (see {@link DispatchHook}) into a {@link RuntimeInjection} or
 * `null`. Throws `InvalidRuntimeInjection` when an injection lacks a non-blank `member_id` or
 * `message`, or the answer is not an object (or JSON text of one).
 */
export function parseRuntimeInjection(answer: unknown): RuntimeInjection | null {
  if (answer === undefined || answer === null) return null;
  if (typeof answer === 'string') {
    if (answer.trim() === '') return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer);
    } catch {
      throw new SchedulingError(
        'InvalidRuntimeInjection',
        `dispatch answer is not JSON: ${JSON.stringify(answer.slice(0, 200))}`,
      );
    }
    return parseRuntimeInjection(parsed);
  }
  if (typeof answer !== 'object' || Array.isArray(answer)) {
    throw new SchedulingError(
      'InvalidRuntimeInjection',
      `dispatch answer must be an object, got ${Array.isArray(answer) ? 'array' : typeof answer}`,
    );
  }
  const record = answer as Record<string, unknown>;
  let injection: Record<string, unknown>;
  if ('runtime_injection' in record) {
    const inner = record.runtime_injection;
    if (inner === null || inner === undefined) return null;
    if (typeof inner !== 'object' || Array.isArray(inner)) {
      throw new SchedulingError(
        'InvalidRuntimeInjection',
        'runtime_injection must be an object {member_id, message} or null',
      );
    }
    injection = inner as Record<string, unknown>;
  } else if ('member_id' in record || 'memberId' in record || 'message' in record) {
    injection = record;
  } else {
    return null;
  }
  const memberId = injection.member_id ?? injection.memberId;
  const message = injection.message;
  if (!nonBlank(memberId) || !nonBlank(message)) {
    throw new SchedulingError(
      'InvalidRuntimeInjection',
      `runtime injection needs a non-blank member_id and message, got member_id=${JSON.stringify(memberId) ?? 'undefined'}, message=${JSON.stringify(message) ?? 'undefined'}`,
    );
  }
  return { memberId, message };
}

/**
 * A {@link DispatchHook} that calls the `scheduling.dispatch` tool of a scheduling module through
 * `callTool` (e.g. the supervisor's MCP module call). `callTool` returns the tool's payload: parsed
 * JSON or its text content.
 */
export function toolDispatchHook(
  callTool: (tool: string, args: SchedulingDispatchArgs, signal: AbortSignal) => Promise<unknown>,
): DispatchHook {
  return (args, { signal }) => callTool('scheduling.dispatch', args, signal);
}
