import type { SinkAdapter, SinkMessage, SinkOutcome } from './types.js';

/** Options of {@link MemorySink}. */
export interface MemorySinkOptions {
  /**
   * Scripted outcomes for the next attempts, consumed in order (then every attempt succeeds);
   * useful in tests and demos.
   */
  script?: SinkOutcome[];
  /** How many messages (and attempts) to keep, oldest dropped first; default 10 000. */
  capacity?: number;
}

/**
 * Captures handed-over messages in memory (for tests and demos; the newest `capacity` are kept). A payload with
 * `force_fail: true` fails permanently, as the original's fixture did.
 */
export class MemorySink implements SinkAdapter {
  readonly adapter = 'memory';
  /** Messages handed over successfully, in order. */
  readonly messages: SinkMessage[] = [];
  /** Every attempt, successful or not, in order. */
  readonly attempts: SinkMessage[] = [];
  private readonly script: SinkOutcome[];
  private readonly capacity: number;

  constructor(options: MemorySinkOptions = {}) {
    this.script = [...(options.script ?? [])];
    this.capacity = options.capacity ?? 10_000;
  }

  async send(message: SinkMessage): Promise<SinkOutcome> {
    this.attempts.push(message);
    if (this.attempts.length > this.capacity) this.attempts.shift();
    const scripted = this.script.shift();
    if (scripted !== undefined && !scripted.ok) return scripted;
    const payload = message.payload as { force_fail?: unknown } | null;
    if (payload !== null && typeof payload === 'object' && payload.force_fail === true) {
      return { ok: false, retryable: false, error: 'payload.force_fail is true' };
    }
    this.messages.push(message);
    if (this.messages.length > this.capacity) this.messages.shift();
    return { ok: true };
  }

  /** Forgets captured messages. */
  clear(): void {
    this.messages.length = 0;
    this.attempts.length = 0;
  }
}
