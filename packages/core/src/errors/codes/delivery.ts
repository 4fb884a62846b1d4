import type { ErrorCodeInfo } from './types.js';

/** Codes raised by delivery: trust checks, idempotency, rate limits, sinks. Reuse a code from core.ts when the meaning is the same. */
export const deliveryErrorCodes = {
  DeliveryModuleNotLoaded: { rpc: -32000, http: 503, summary: 'the delivery module is not loaded' },
  InvalidRouteId: { rpc: -32602, http: 400, summary: 'a resolution has a missing or blank route_id' },
  UnknownRouteId: {
    rpc: -32602,
    http: 404,
    summary: 'the route_id was never issued by route resolution (or was forgotten)',
  },
  ForgedResolution: {
    rpc: -32602,
    http: 403,
    summary: 'a resolution field differs from the one route resolution issued',
  },
  InvalidRouteTarget: { rpc: -32602, http: 400, summary: 'a resolution targets another module than delivery' },
  InvalidIdempotencyKey: { rpc: -32602, http: 400, summary: 'an idempotency key is blank' },
  IdempotencyPayloadMismatch: { rpc: -32602, http: 409, summary: 'an idempotency key was reused with another payload' },
  IdempotencyInFlight: { rpc: -32000, http: 409, summary: 'a delivery with this idempotency key is still in flight' },
  RateLimited: {
    rpc: -32602,
    http: 429,
    summary: 'the per-minute rate limit of a route, recipient and sink is used up',
  },
  SinkFailed: { rpc: -32000, http: 502, summary: 'a sink adapter failed to hand over a delivery attempt' },
  UnknownSink: { rpc: -32602, http: 400, summary: 'no sink adapter is configured under the resolution sink name' },
  LedgerCorrupt: {
    rpc: -32603,
    http: 500,
    summary: 'the delivery ledger file has an unreadable line before its last line',
  },
  WebhookSignatureInvalid: {
    rpc: -32602,
    http: 401,
    summary: 'a webhook request has no valid Standard Webhooks signature, or its timestamp is outside the tolerance',
  },
  LedgerWriteFailed: { rpc: -32603, http: 500, summary: 'the delivery ledger could not be appended to or synced' },
} as const satisfies Record<string, ErrorCodeInfo>;
