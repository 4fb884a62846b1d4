import { z } from 'zod';
import { wireCodec } from './codec.js';
import { parseWithSchema } from './schema.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * Wire form of a route resolution: what routing issues under a `route_id` and delivery checks
 * against (spec §7.2). One schema for both, so an issued resolution and a delivered one can never
 * disagree on shape.
 */
export const RouteResolutionWireSchema = z.object({
  route_id: z.string(),
  recipient: z.string(),
  channel: z.string(),
  sink: z.string(),
  target_module: z.string(),
  retry_max: count,
  backoff_ms: count,
  rate_limit_per_minute: count,
});
/** A route resolution as written on the wire. */
export type RouteResolutionWire = z.input<typeof RouteResolutionWireSchema>;

/** Where a recipient goes and with which policy, under an issued `route_id`. */
export interface RouteResolution {
  /** `route-000000`, `route-000001`, … */
  routeId: string;
  recipient: string;
  channel: string;
  sink: string;
  targetModule: string;
  retryMax: number;
  backoffMs: number;
  rateLimitPerMinute: number;
}

/** The one mapping of a resolution to its wire form (wire field order as in the spec). */
function encodeResolution(r: RouteResolution): RouteResolutionWire {
  return {
    route_id: r.routeId,
    recipient: r.recipient,
    channel: r.channel,
    sink: r.sink,
    target_module: r.targetModule,
    retry_max: r.retryMax,
    backoff_ms: r.backoffMs,
    rate_limit_per_minute: r.rateLimitPerMinute,
  };
}

/** The codec between a wire resolution and {@link RouteResolution} (wire field order as in the spec). */
export const RouteResolutionSchema = wireCodec(RouteResolutionWireSchema, {
  decode: (w): RouteResolution => ({
    routeId: w.route_id,
    recipient: w.recipient,
    channel: w.channel,
    sink: w.sink,
    targetModule: w.target_module,
    retryMax: w.retry_max,
    backoffMs: w.backoff_ms,
    rateLimitPerMinute: w.rate_limit_per_minute,
  }),
  encode: encodeResolution,
});

/** Parses a wire resolution (`MobKitError` naming the field on bad input). */
export function parseRouteResolution(input: unknown, what = 'route resolution'): RouteResolution {
  return parseWithSchema(RouteResolutionSchema, input, { what });
}

/**
 * Converts a resolution to its wire form (field order as in the spec): what
 * `z.encode(RouteResolutionSchema, r)` does — the codec's mapping, then the wire schema's checks (it
 * has no transforms, so parsing is exactly the encode direction's check) — without the codec
 * machinery, which cost ~10× as much on the durable resolve + send path (it runs twice per send).
 */
export const routeResolutionToWire = (r: RouteResolution): RouteResolutionWire =>
  RouteResolutionWireSchema.parse(encodeResolution(r));

/**
 * Read access to issued route resolutions: what delivery needs to reject forged ones. Routing's
 * `TrustedResolutions` implements it; delivery and the umbrella only read through it.
 */
export interface TrustedResolutionLookup {
  /** The resolution issued under `routeId`, or `undefined` if never issued or forgotten. */
  get(routeId: string): RouteResolution | undefined;
}
