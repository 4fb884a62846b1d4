import type { AgentEventType } from '@mobkit/core';

/**
 * What this adapter knows of its members' runs from its own sends and the event stream: a send
 * leaves the member pending until its run starts; a run is open from `run_started` until
 * `run_completed` or `run_failed`. `waitForIdle` falls back on it for servers that do not report
 * `progress` in `mob/member_status`.
 */
export class RunActivity {
  private readonly pending = new Set<string>();
  private readonly open = new Set<string>();

  /** A host send to `memberId` is being made (marked before its answer, which may come after its run starts). */
  sent(memberId: string): void {
    this.pending.add(memberId);
  }

  /** A host send to `memberId` was refused: it leaves no run to wait for. */
  unsent(memberId: string): void {
    this.pending.delete(memberId);
  }

  /** An agent event of `memberId` arrived on the stream. */
  observe(memberId: string, type: AgentEventType): void {
    if (type === 'run_started') {
      this.pending.delete(memberId);
      this.open.add(memberId);
    } else if (type === 'run_completed' || type === 'run_failed') {
      this.open.delete(memberId);
    }
  }

  /** Whether `memberId` has a send waiting for its run or a run open. */
  busy(memberId: string): boolean {
    return this.pending.has(memberId) || this.open.has(memberId);
  }

  /** Forgets a member that left the roster. */
  forget(memberId: string): void {
    this.pending.delete(memberId);
    this.open.delete(memberId);
  }
}
