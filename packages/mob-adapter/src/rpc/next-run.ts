import { MobRuntimeError } from '../errors.js';
import type { MobEvent, RunResult } from '../types.js';

/** An agent event as the rkat-rpc mob delivers it. */
export type AgentMobEvent = Extract<MobEvent, { kind: 'agent' }>;

/** What {@link watchNextRun} needs from the mob: the stream of agent events, and Meerkat's `mob/force_cancel`. */
export interface RunWatchHost {
  /** Adds a listener for agent events; returns the function that removes it. */
  listen(listener: (event: AgentMobEvent) => void): () => void;
  /** Asks the server to cancel the member's run (fire and forget). */
  forceCancel(): void;
}

/**
 * Watches the stream for `memberId`'s next run — start it (the send) only after calling this, so no
 * event is missed. Counts the run's turns and tool calls; `result` resolves on `run_completed`,
 * rejects on `run_failed` (`RunCancelled` for class `cancelled`), or on an abort of `signal` (which
 * also force-cancels the run). Call `dispose` when done.
 */
export function watchNextRun(
  memberId: string,
  signal: AbortSignal | undefined,
  host: RunWatchHost,
): { result: Promise<RunResult>; dispose(): void } {
  let turns = 0;
  let toolCalls = 0;
  let stopListening: () => void = () => undefined;
  let onAbort: (() => void) | undefined;
  const result = new Promise<RunResult>((resolve, reject) => {
    stopListening = host.listen((e) => {
      if (e.memberId !== memberId) return;
      const ev = e.event;
      if (ev.type === 'turn_started') turns++;
      else if (ev.type === 'tool_call_requested') toolCalls++;
      else if (ev.type === 'run_completed')
        resolve({ sessionId: ev.sessionId, text: ev.result, usage: ev.usage, turns: Math.max(turns, 1), toolCalls });
      else if (ev.type === 'run_failed')
        reject(
          ev.errorClass === 'cancelled'
            ? new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled (${ev.error})`)
            : new MobRuntimeError('INTERNAL', `run of member ${memberId} failed: ${ev.errorClass}: ${ev.error}`, {
                details: { errorClass: ev.errorClass },
              }),
        );
    });
    if (signal) {
      onAbort = () => {
        host.forceCancel();
        reject(new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled`, { details: { memberId } }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  result.catch(() => undefined); // it may settle (abort) while the send is still in flight; awaited by the caller
  return {
    result,
    dispose: () => {
      stopListening();
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}
