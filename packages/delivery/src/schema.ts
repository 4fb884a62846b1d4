import {
  MobKitError,
  RouteResolutionSchema,
  RouteResolutionWireSchema,
  type RouteResolution,
  type RouteResolutionWire,
  parseWithSchema,
  routeResolutionToWire,
  wireCodec,
} from '@mobkit/core';
import { z } from 'zod';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Default number of delivery records kept in the history. */
export const DEFAULT_HISTORY_LIMIT = 200;
/** Default number of finished idempotency keys honoured (independent of the history). */
export const DEFAULT_IDEMPOTENCY_KEY_LIMIT = 10_000;
/** Default time a finished idempotency key is honoured: 24 h. */
export const DEFAULT_IDEMPOTENCY_KEY_TTL_MS = 86_400_000;
/** Default number of records `history()` returns. */
export const DEFAULT_HISTORY_PAGE = 20;
/** The module a resolution must target to be delivered here. */
export const DELIVERY_TARGET_MODULE = 'delivery';
/** Length of a rate-limit window in ms. */
export const RATE_WINDOW_MS = 60_000;

/** Wire form of a routing resolution as delivery receives it (the one schema in `@mobkit/core`). */
export const DeliveryResolutionWireSchema = RouteResolutionWireSchema;
/** A resolution as written on the wire. */
export type DeliveryResolutionWire = RouteResolutionWire;

/** A routing resolution (the same type as `RoutingResolution` of `@mobkit/routing`). */
export type DeliveryResolution = RouteResolution;

/** Maps a wire resolution to {@link DeliveryResolution}. */
export const DeliveryResolutionSchema = RouteResolutionSchema;

/** Converts a resolution to its wire form (core's resolution codec's encoder). */
export const deliveryResolutionToWire: (r: DeliveryResolution) => DeliveryResolutionWire = routeResolutionToWire;

/** Status of one attempt: handed over, failed but worth retrying, or failed for good. */
export type DeliveryAttemptStatus = 'sent' | 'transient_failure' | 'failed';
/** Final status of a delivery. */
export type DeliveryStatus = 'sent' | 'failed';

/** One real attempt to hand a payload to a sink. */
export interface DeliveryAttempt {
  /** 1-based attempt number. */
  attempt: number;
  status: DeliveryAttemptStatus;
  /** When the attempt started (clock ms). */
  atMs: number;
  /** Wait before the next attempt (0 for the last one). */
  backoffMs: number;
  /** What went wrong, for failed attempts. */
  error?: string;
}

/** The outcome of one `send`. */
export interface DeliveryRecord {
  /** Time-ordered and unique across restarts: `delivery-<ms base36>-<counter><random>` (`DELIVERY_ID_PATTERN`). */
  deliveryId: string;
  routeId: string;
  recipient: string;
  sink: string;
  targetModule: string;
  payload: unknown;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  firstAttemptMs: number;
  finalAttemptMs: number;
  idempotencyKey?: string;
  /** Which adapter handled it (`memory`, `webhook`, `smtp`, `mob_member`…). */
  sinkAdapter?: string;
}

/** Wire form of an attempt. */
export const DeliveryAttemptWireSchema = z.object({
  attempt: z.number().int().min(1),
  status: z.enum(['sent', 'transient_failure', 'failed']),
  at_ms: count,
  backoff_ms: count,
  error: z.string().optional(),
});
/** An attempt as written on the wire. */
export type DeliveryAttemptWire = z.input<typeof DeliveryAttemptWireSchema>;

/** Wire form of a delivery record (spec §8 fields; attempts are real, with time and error). */
export const DeliveryRecordWireSchema = z.object({
  delivery_id: z.string(),
  route_id: z.string(),
  recipient: z.string(),
  sink: z.string(),
  target_module: z.string(),
  payload: z.unknown(),
  status: z.enum(['sent', 'failed']),
  attempts: z.array(DeliveryAttemptWireSchema),
  first_attempt_ms: count,
  final_attempt_ms: count,
  idempotency_key: z.string().optional(),
  sink_adapter: z.string().optional(),
});
/** A delivery record as written on the wire. */
export type DeliveryRecordWire = z.input<typeof DeliveryRecordWireSchema>;

/** The one mapping of an attempt, both ways (used by the attempt codec and inside the record codec). */
const attemptMapping = {
  decode: (w: z.output<typeof DeliveryAttemptWireSchema>): DeliveryAttempt => {
    const attempt: DeliveryAttempt = { attempt: w.attempt, status: w.status, atMs: w.at_ms, backoffMs: w.backoff_ms };
    if (w.error !== undefined) attempt.error = w.error;
    return attempt;
  },
  encode: (a: DeliveryAttempt): DeliveryAttemptWire => {
    const w: DeliveryAttemptWire = { attempt: a.attempt, status: a.status, at_ms: a.atMs, backoff_ms: a.backoffMs };
    if (a.error !== undefined) w.error = a.error;
    return w;
  },
};

/** The codec between a wire attempt and {@link DeliveryAttempt}. */
export const DeliveryAttemptSchema = wireCodec(DeliveryAttemptWireSchema, attemptMapping);

function encodeRecord(r: DeliveryRecord): DeliveryRecordWire {
  const wire: DeliveryRecordWire = {
    delivery_id: r.deliveryId,
    route_id: r.routeId,
    recipient: r.recipient,
    sink: r.sink,
    target_module: r.targetModule,
    payload: r.payload,
    status: r.status,
    attempts: r.attempts.map(attemptMapping.encode),
    first_attempt_ms: r.firstAttemptMs,
    final_attempt_ms: r.finalAttemptMs,
  };
  if (r.idempotencyKey !== undefined) wire.idempotency_key = r.idempotencyKey;
  if (r.sinkAdapter !== undefined) wire.sink_adapter = r.sinkAdapter;
  return wire;
}

/** The codec between a wire delivery record and {@link DeliveryRecord} (a missing payload decodes as `null`). */
export const DeliveryRecordSchema = wireCodec(DeliveryRecordWireSchema, {
  decode: (w): DeliveryRecord => {
    const record: DeliveryRecord = {
      deliveryId: w.delivery_id,
      routeId: w.route_id,
      recipient: w.recipient,
      sink: w.sink,
      targetModule: w.target_module,
      payload: w.payload === undefined ? null : w.payload,
      status: w.status,
      attempts: w.attempts.map(attemptMapping.decode),
      firstAttemptMs: w.first_attempt_ms,
      finalAttemptMs: w.final_attempt_ms,
    };
    if (w.idempotency_key !== undefined) record.idempotencyKey = w.idempotency_key;
    if (w.sink_adapter !== undefined) record.sinkAdapter = w.sink_adapter;
    return record;
  },
  encode: encodeRecord,
});

/** Parses a wire delivery record. */
export function parseDeliveryRecord(input: unknown): DeliveryRecord {
  return parseWithSchema(DeliveryRecordSchema, input, { what: 'delivery record' });
}

/**
 * The records a `DeliveryService` made, with their wire form once it is built (`undefined` until
 * something needs it: the event, the ledger or a caller).
 */
const serviceRecords = new WeakMap<DeliveryRecord, DeliveryRecordWire | undefined>();

/**
 * Registers a finished (frozen) record made by a delivery service, so its wire form is built at
 * most once, on first use, and then shared.
 * @internal
 */
export function registerRecord(record: DeliveryRecord): void {
  serviceRecords.set(record, undefined);
}

/**
 * The wire form of a registered record, built on first use with the record codec (frozen, like the
 * record) and shared afterwards by the `delivery/send` event, the ledger and every caller.
 * @internal
 */
export function recordWire(record: DeliveryRecord): DeliveryRecordWire {
  let wire = serviceRecords.get(record);
  if (wire === undefined) {
    // What `z.encode(DeliveryRecordSchema, record)` does — the codec's mapping, then the wire schema's
    // checks — at a fraction of the codec machinery's cost (it was ~4% of a durable send's CPU).
    wire = DeliveryRecordWireSchema.parse(encodeRecord(record));
    for (const attempt of wire.attempts) Object.freeze(attempt);
    Object.freeze(wire.attempts);
    Object.freeze(wire);
    serviceRecords.set(record, wire);
  }
  return wire;
}

/**
 * Converts a record to its wire form. For a record a `DeliveryService` returned, this is the wire
 * form built once per send (the same frozen object its event and ledger line carry; no second
 * encoding); any other record is encoded by {@link DeliveryRecordSchema}.
 */
export function deliveryRecordToWire(r: DeliveryRecord): DeliveryRecordWire {
  return serviceRecords.has(r) ? recordWire(r) : z.encode(DeliveryRecordSchema, r);
}

/** A request to deliver `payload` along an issued resolution. */
export interface DeliverySendRequest {
  resolution: DeliveryResolution;
  /** Any JSON value (required). */
  payload: unknown;
  /** Makes the send idempotent within the route (`route_id:key`); must not be blank when given. */
  idempotencyKey?: string;
}

/** Wire form of a send request (`{resolution, payload, idempotency_key?}`). */
export const DeliverySendRequestWireSchema = z.object({
  resolution: DeliveryResolutionSchema,
  payload: z.unknown().refine((p) => p !== undefined, { message: 'required (any JSON value)' }),
  idempotency_key: z.string().nullish(),
});

/** Parses a wire send request (MCP tool arguments, JSON-RPC params). */
export function parseDeliverySendRequest(input: unknown): DeliverySendRequest {
  const w = parseWithSchema(DeliverySendRequestWireSchema, input, { what: 'delivery send request' });
  const request: DeliverySendRequest = { resolution: w.resolution, payload: w.payload };
  if (w.idempotency_key !== undefined && w.idempotency_key !== null) request.idempotencyKey = w.idempotency_key;
  return request;
}

/** Filter of `history()`. */
export interface DeliveryHistoryQuery {
  recipient?: string;
  sink?: string;
  /** Newest N (default 20). */
  limit?: number;
}

/** Wire form of a history query (`limit` 1..200, default 20). */
export const DeliveryHistoryQueryWireSchema = z
  .object({
    recipient: z.string().nullish(),
    sink: z.string().nullish(),
    limit: z.number().int().min(1).max(DEFAULT_HISTORY_LIMIT).nullish(),
  })
  .nullish();

/** Parses a wire history query. */
export function parseDeliveryHistoryQuery(input: unknown): DeliveryHistoryQuery {
  const w = parseWithSchema(DeliveryHistoryQueryWireSchema, input, { what: 'delivery history query' }) ?? {};
  const q: DeliveryHistoryQuery = {};
  if (w.recipient !== undefined && w.recipient !== null) q.recipient = w.recipient;
  if (w.sink !== undefined && w.sink !== null) q.sink = w.sink;
  if (w.limit !== undefined && w.limit !== null) q.limit = w.limit;
  return q;
}

/**
 * JSON text of `value` with object keys sorted, so two deep-equal payloads give the same text
 * (used for idempotency payload comparison). Throws `InvalidInput` for values JSON cannot carry.
 */
export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(sortKeys(value, 0));
  } catch (error) {
    throw new MobKitError('InvalidInput', `payload: must be JSON-serialisable (${(error as Error).message})`, {
      cause: error,
      details: { field: 'payload' },
    });
  }
}

function sortKeys(value: unknown, depth: number): unknown {
  if (depth > 256) throw new RangeError('payload nests deeper than 256 levels');
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return sortKeys((value as { toJSON: () => unknown }).toJSON(), depth + 1);
  }
  if (Array.isArray(value)) return value.map((v) => sortKeys(v === undefined ? null : v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v, depth + 1);
    }
    return out;
  }
  return value;
}
