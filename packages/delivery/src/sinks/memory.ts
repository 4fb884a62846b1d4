import type { SinkAdapter, SinkMessage, SinkOutcome } from './types.js';

/** Options of {@link MemorySink}. */
export interface MemorySinkOptions {
  /**
   * Scripted outcomes for the next attempts, consumed in order (then every attempt succeeds);
   * useful in tests and demos.
   */
  script?: SinkOutcome[];
}

/**
 * Captures every handed-over message in memory (for tests and demos). A payload with
 * `force_fail: true` fails permanently, as the original's fixture did.
 */
export class MemorySink implements SinkAdapter {
  readonly adapter = 'memory';
  /** Messages handed over successfully, in order. */
  readonly messages: SinkMessage[] = [];
  /** Every attempt, successful or not, in order. */
  readonly attempts: SinkMessage[] = [];
  private readonly script: SinkOutcome[];

  constructor(options: MemorySinkOptions = {}) {
    this.script = [...(options.script ?? [])];
  }

  async send(message: SinkMessage): Promise<SinkOutcome> {
    this.attempts.push(message);
    const scripted = this.script.shift();
    if (scripted !== undefined && !scripted.ok) return scripted;
    const payload = message.payload as { force_fail?: unknown } | null;
    if (payload !== null && typeof payload === 'object' && payload.force_fail === true) {
      return { ok: false, retryable: false, error: 'payload.force_fail is true' };
    }
    this.messages.push(message);
    return { ok: true };
  }

  /** Forgets captured messages. */
  clear(): void {
    this.messages.length = 0;
    this.attempts.length = 0;
  }
}
