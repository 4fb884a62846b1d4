import { MobKitError } from '@mobkit/core';

/** What a sink adapter gets for one attempt. */
export interface SinkMessage {
  deliveryId: string;
  routeId: string;
  recipient: string;
  channel: string;
  /** The sink name from the resolution. */
  sink: string;
  payload: unknown;
  idempotencyKey?: string;
  /** 1-based attempt number (retries repeat the same delivery id). */
  attempt: number;
}

/** The result of one attempt: handed over, or failed (retryable or not). */
export type SinkOutcome = { ok: true } | { ok: false; retryable: boolean; error: string };

/**
 * Hands payloads to one kind of destination. `send` resolves with the outcome; if it throws, a
 * {@link SinkError} says whether to retry, and anything else counts as a retryable failure.
 */
export interface SinkAdapter {
  /** Adapter name recorded as `sink_adapter` (`memory`, `webhook`, `smtp`, `mob_member`…). */
  readonly adapter: string;
  /** Makes one attempt. */
  send(message: SinkMessage): Promise<SinkOutcome>;
  /** Releases connections (optional). */
  close?(): Promise<void>;
}

/** Thrown by a sink (or a `mob_member` callback) to fail an attempt, saying whether a retry may help. */
export class SinkError extends MobKitError<'SinkFailed'> {
  /** True when a later attempt may succeed. */
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown; details?: Record<string, unknown> }) {
    super('SinkFailed', message, {
      cause: options.cause,
      details: { retryable: options.retryable, ...options.details },
    });
    this.retryable = options.retryable;
  }
}
