import { MobKitError } from './errors/error.js';

/**
 * The one time seam of MobKit-TS: the current time and waiting. Inject a {@link ManualClock} in tests;
 * production code uses {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /**
   * Resolves after `ms` milliseconds (at once for `ms <= 0`). With a `signal`, rejects with an
   * `Aborted` {@link MobKitError} as soon as the signal aborts (at once if it already has), and the
   * timer is released.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortedError(signal: AbortSignal): MobKitError {
  return new MobKitError('Aborted', 'sleep aborted', { cause: signal.reason });
}

function systemSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The real clock (`Date.now()`, `setTimeout`). */
export const systemClock: Clock = Object.freeze({ nowMs: () => Date.now(), sleep: systemSleep });

interface PendingSleep {
  dueMs: number;
  order: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told to; for deterministic tests. `sleep(ms)` resolves when
 * {@link ManualClock.advance} (or {@link ManualClock.set}) moves the clock to or past its due time,
 * in due order (ties in the order the sleeps began).
 */
export class ManualClock implements Clock {
  private current: number;
  private pending: PendingSleep[] = [];
  private order = 0;
  constructor(startMs = 0) {
    this.current = startMs;
  }
  /** The clock's current time. */
  nowMs(): number {
    return this.current;
  }
  /** Resolves once the clock reaches `nowMs() + ms`; an abort rejects with `Aborted`. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (!(ms > 0)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = { dueMs: this.current + ms, order: this.order++, resolve: () => {} };
      const onAbort = () => {
        this.pending = this.pending.filter((p) => p !== entry);
        reject(abortedError(signal as AbortSignal));
      };
      entry.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.push(entry);
    });
  }
  /** How many sleeps are waiting on this clock. */
  get pendingSleeps(): number {
    return this.pending.length;
  }
  /** Moves the clock forward by `ms` (must be ≥ 0) and wakes the sleeps that are due. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.current += ms;
    this.wake();
    return this.current;
  }
  /** Sets the clock to `ms` and wakes the sleeps that are due. */
  set(ms: number): void {
    this.current = ms;
    this.wake();
  }
  private wake(): void {
    const due = this.pending.filter((p) => p.dueMs <= this.current);
    if (due.length === 0) return;
    this.pending = this.pending.filter((p) => p.dueMs > this.current);
    due.sort((a, b) => a.dueMs - b.dueMs || a.order - b.order);
    for (const p of due) p.resolve();
  }
}

/** Formats a sequence id the way the spec does: `sequenceId('route', 0)` → `route-000000`. */
export function sequenceId(prefix: string, n: number): string {
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

/** A counter that hands out `prefix-000000`, `prefix-000001`, …. */
export class SequenceIds {
  private next = 0;
  constructor(private readonly prefix: string) {}
  /** The next id. */
  take(): string {
    return sequenceId(this.prefix, this.next++);
  }
  /** How many ids were handed out. */
  get count(): number {
    return this.next;
  }
}
