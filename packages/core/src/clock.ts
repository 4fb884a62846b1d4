/** A source of the current time in epoch milliseconds; inject a fake one in tests. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
}

/** The real clock (`Date.now()`). */
export const systemClock: Clock = Object.freeze({ nowMs: () => Date.now() });

/** A clock that moves only when told to; for deterministic tests. */
export class ManualClock implements Clock {
  private current: number;
  constructor(startMs = 0) {
    this.current = startMs;
  }
  /** The clock's current time. */
  nowMs(): number {
    return this.current;
  }
  /** Moves the clock forward by `ms` (must be ≥ 0). */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.current += ms;
    return this.current;
  }
  /** Sets the clock to `ms`. */
  set(ms: number): void {
    this.current = ms;
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
