import { MobKitError } from '@mobkit/core';
import { RESOLUTION_FIELDS } from './idempotency.js';
import { DELIVERY_TARGET_MODULE, type DeliveryResolution, type DeliverySendRequest } from './schema.js';

/** The route id and (trimmed) idempotency key of a send request, after its shape checks. */
interface RequestKeys {
  routeId: string;
  /** `undefined` when absent; `''` when blank (refused later, after the trust checks, as in the original). */
  key: string | undefined;
}

/** Checks a send request's shape: an object with a resolution carrying a non-blank route id, and a string key if any. */
export function readRequestKeys(request: DeliverySendRequest): RequestKeys {
  if (request === null || typeof request !== 'object')
    throw new MobKitError('InvalidInput', 'send: expected {resolution, payload, idempotencyKey?}');
  const resolution = request.resolution;
  if (resolution === null || typeof resolution !== 'object') {
    throw new MobKitError('InvalidInput', 'resolution: required; pass the resolution that routing issued', {
      details: { field: 'resolution' },
    });
  }
  const routeId = typeof resolution.routeId === 'string' ? resolution.routeId.trim() : '';
  if (routeId === '') {
    throw new MobKitError('InvalidRouteId', 'resolution.route_id: must be a non-blank route id issued by routing', {
      details: { field: 'resolution.route_id' },
    });
  }
  const rawKey = request.idempotencyKey;
  if (rawKey !== undefined && rawKey !== null && typeof rawKey !== 'string') {
    throw new MobKitError('InvalidIdempotencyKey', 'idempotency_key: expected a string', {
      details: { field: 'idempotency_key' },
    });
  }
  return { routeId, key: typeof rawKey === 'string' ? rawKey.trim() : undefined };
}

/**
 * The trust checks, in order: the route id was issued (`UnknownRouteId`), every field equals the
 * issued one (`ForgedResolution`), it targets `delivery` (`InvalidRouteTarget`). Returns the issued
 * resolution, which is what the send then uses.
 */
export function checkIssued(
  resolution: DeliveryResolution,
  routeId: string,
  issued: DeliveryResolution | undefined,
): DeliveryResolution {
  if (issued === undefined) {
    throw new MobKitError(
      'UnknownRouteId',
      `resolution.route_id ${JSON.stringify(routeId)} was not issued by routing (or was forgotten); resolve the recipient again`,
      { details: { route_id: routeId } },
    );
  }
  const forged = RESOLUTION_FIELDS.filter(
    ([camel]) => (resolution as unknown as Record<string, unknown>)[camel] !== issued[camel],
  ).map(([, wire]) => wire);
  if (forged.length > 0) {
    throw new MobKitError(
      'ForgedResolution',
      `resolution ${routeId} differs from the issued one in ${forged.join(', ')}; send the resolution exactly as routing issued it`,
      { details: { route_id: routeId, fields: forged } },
    );
  }
  if (issued.targetModule !== DELIVERY_TARGET_MODULE) {
    throw new MobKitError(
      'InvalidRouteTarget',
      `resolution ${routeId} targets module ${JSON.stringify(issued.targetModule)}, not "delivery"; send it through that module`,
      { details: { route_id: routeId, target_module: issued.targetModule } },
    );
  }
  return issued;
}

/** Refuses a blank idempotency key (`InvalidIdempotencyKey`); absent is fine. */
export function checkKey(key: string | undefined): void {
  if (key === '') {
    throw new MobKitError(
      'InvalidIdempotencyKey',
      'idempotency_key: must not be blank; omit it or give a non-blank key',
      {
        details: { field: 'idempotency_key' },
      },
    );
  }
}

/**
 * The record's own copy of a payload (JSON semantics, key order kept), so later edits by the caller
 * cannot change it. `InvalidInput` for a missing payload or one JSON cannot carry.
 */
export function copyPayload(payload: unknown): unknown {
  if (payload === undefined)
    throw new MobKitError('InvalidInput', 'payload: required (any JSON value)', { details: { field: 'payload' } });
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    throw new MobKitError('InvalidInput', `payload: must be JSON-serialisable (${(error as Error).message})`, {
      cause: error,
      details: { field: 'payload' },
    });
  }
  if (text === undefined)
    throw new MobKitError('InvalidInput', 'payload: must be a JSON value (not a function or symbol)', {
      details: { field: 'payload' },
    });
  return JSON.parse(text);
}
