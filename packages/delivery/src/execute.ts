import { MobKitError, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { attemptOnce } from './attempts.js';
import { DeliveryResolutionSchema, type DeliveryResolution } from './schema.js';
import type { SinkAdapter, SinkOutcome } from './sinks/types.js';

/**
 * One attempt of a delivery owned by another layer (the unified runtime's `DeliveryService`, which
 * keeps the ledger, the idempotency keys, the rate limits and the retries): the module only executes
 * it. `deliveryId` and `attempt` are the owner's, so every retry of one delivery reaches the sink
 * under the same id (a webhook's `webhook-id` and `Idempotency-Key`).
 */
export interface DeliveryAttemptRequest {
  deliveryId: string;
  resolution: DeliveryResolution;
  payload: unknown;
  idempotencyKey?: string;
  /** 1-based attempt number. */
  attempt: number;
}

/** Wire form of an attempt request (`delivery.attempt` arguments). */
export const DeliveryAttemptRequestWireSchema = z.object({
  delivery_id: z.string().trim().min(1),
  resolution: DeliveryResolutionSchema,
  payload: z.unknown().refine((p) => p !== undefined, { message: 'required (any JSON value)' }),
  idempotency_key: z.string().trim().min(1).nullish(),
  attempt: z.number().int().min(1).max(1_000_000),
});

/** Parses wire `delivery.attempt` arguments (`{delivery_id, resolution, payload, idempotency_key?, attempt}`). */
export function parseDeliveryAttemptRequest(input: unknown): DeliveryAttemptRequest {
  const w = parseWithSchema(DeliveryAttemptRequestWireSchema, input, { what: 'delivery attempt request' });
  const request: DeliveryAttemptRequest = {
    deliveryId: w.delivery_id,
    resolution: w.resolution,
    payload: w.payload,
    attempt: w.attempt,
  };
  if (w.idempotency_key !== undefined && w.idempotency_key !== null) request.idempotencyKey = w.idempotency_key;
  return request;
}

/** Wire answer of `delivery.attempt`: the sink's outcome for this one attempt. */
export interface DeliveryAttemptOutcomeWire {
  delivery_id: string;
  attempt: number;
  ok: boolean;
  /** For a failed attempt: whether another attempt may succeed. */
  retryable: boolean;
  error: string | null;
  /** The adapter that made the attempt (`webhook`, `smtp`, `memory`…). */
  adapter: string;
}

/**
 * Makes exactly one attempt through the adapter of the resolution's sink (no ledger, no idempotency,
 * no rate limit: the caller owns those) and answers its outcome. `UnknownSink` when no adapter has
 * that name.
 */
export async function executeDeliveryAttempt(
  sinks: ReadonlyMap<string, SinkAdapter>,
  request: DeliveryAttemptRequest,
): Promise<DeliveryAttemptOutcomeWire> {
  const { resolution } = request;
  const adapter = sinks.get(resolution.sink);
  if (adapter === undefined) {
    const configured = [...sinks.keys()].sort();
    throw new MobKitError(
      'UnknownSink',
      `no sink adapter named ${JSON.stringify(resolution.sink)} is configured (configured: ${configured.join(', ') || 'none'})`,
      { details: { sink: resolution.sink, configured } },
    );
  }
  const outcome: SinkOutcome = await attemptOnce(adapter, {
    deliveryId: request.deliveryId,
    routeId: resolution.routeId,
    recipient: resolution.recipient,
    channel: resolution.channel,
    sink: resolution.sink,
    payload: request.payload,
    ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
    attempt: request.attempt,
  });
  return {
    delivery_id: request.deliveryId,
    attempt: request.attempt,
    ok: outcome.ok,
    retryable: outcome.ok ? false : outcome.retryable,
    error: outcome.ok ? null : outcome.error,
    adapter: adapter.adapter,
  };
}
