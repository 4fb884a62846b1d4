import {
  MobKitError,
  closedObject,
  RouteResolutionSchema,
  RouteResolutionWireSchema,
  type RouteResolution,
  type RouteResolutionWire,
  parseRouteResolution,
  parseWithSchema,
  routeResolutionToWire,
  wireCodec,
  wireEncoder,
} from '@mobkit/core';
import { z } from 'zod';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Absent and `null` both mean "not set" on the wire; the decoded value leaves such fields out. */
const optionalCount = count.nullish();
const optionalString = z.string().nullish();

/** Copies the set (neither `undefined` nor `null`) values of `pairs` onto `target` under their keys. */
function setFields<T extends object>(target: T, pairs: readonly (readonly [string, unknown])[]): T {
  for (const [key, value] of pairs)
    if (value !== undefined && value !== null) (target as Record<string, unknown>)[key] = value;
  return target;
}

/** The recipient/channel value that matches anything in a runtime route. */
export const WILDCARD_ROUTE = '*';
/** Highest accepted `retry_max`. */
export const RETRY_MAX_CAP = 10;
/** Default channel of a resolution request. */
export const DEFAULT_CHANNEL = 'notification';
/** Default `retry_max` of a resolution request. */
export const DEFAULT_RETRY_MAX = 1;
/** Default `backoff_ms` of a resolution request. */
export const DEFAULT_BACKOFF_MS = 250;
/** Default `rate_limit_per_minute` of a resolution request. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 2;
/** Default number of trusted resolutions remembered (oldest forgotten first). */
export const DEFAULT_TRUSTED_CAPACITY = 512;
/** The module every resolution targets unless a router or route says otherwise. */
export const DEFAULT_TARGET_MODULE = 'delivery';

// ---------------------------------------------------------------------------------------------
// RuntimeRoute

/** The fields of a runtime route, in wire form. */
const routeFields = {
  route_key: z.string(),
  recipient: z.string(),
  channel: optionalString,
  sink: z.string(),
  target_module: z.string(),
  retry_max: optionalCount,
  backoff_ms: optionalCount,
  rate_limit_per_minute: optionalCount,
};

/** Wire form of a runtime route (`{route_key, recipient, channel?, sink, target_module, …}`); unknown keys are ignored. */
export const RuntimeRouteWireSchema = z.object(routeFields);
/** A runtime route as written on the wire. */
export type RuntimeRouteWire = z.input<typeof RuntimeRouteWireSchema>;

/** An operator-managed route: where `recipient` on `channel` goes and with which policy. */
export interface RuntimeRoute {
  /** Unique key; adding a route with an existing key replaces it. */
  routeKey: string;
  /** Exact recipient or `*`. */
  recipient: string;
  /** Exact channel, `*`, or absent (absent matches any channel at exact priority). */
  channel?: string;
  /** Sink adapter name (`email`, `webhook`, `mob_member`, …). */
  sink: string;
  /** Module that performs the delivery (normally `delivery`). */
  targetModule: string;
  /** Overrides the request's `retry_max` when set. */
  retryMax?: number;
  /** Overrides the request's `backoff_ms` when set. */
  backoffMs?: number;
  /** Overrides the request's `rate_limit_per_minute` when set. */
  rateLimitPerMinute?: number;
}

type RouteFields = z.output<z.ZodObject<typeof routeFields>>;

function routeCodec<W extends z.ZodType<RouteFields>>(wire: W) {
  return wireCodec(wire, {
    decode: (w): RuntimeRoute =>
      setFields({ routeKey: w.route_key, recipient: w.recipient, sink: w.sink, targetModule: w.target_module }, [
        ['channel', w.channel],
        ['retryMax', w.retry_max],
        ['backoffMs', w.backoff_ms],
        ['rateLimitPerMinute', w.rate_limit_per_minute],
      ]),
    encode: (route) =>
      setFields(
        { route_key: route.routeKey, recipient: route.recipient, sink: route.sink, target_module: route.targetModule },
        [
          ['channel', route.channel],
          ['retry_max', route.retryMax],
          ['backoff_ms', route.backoffMs],
          ['rate_limit_per_minute', route.rateLimitPerMinute],
        ],
      ) as z.output<W>,
  });
}

/** The codec between a wire route and {@link RuntimeRoute} (no semantic validation; see `validateRoute`). */
export const RuntimeRouteSchema = routeCodec(RuntimeRouteWireSchema);

/**
 * The same codec over a closed object (each unknown key is an error listing the allowed ones): a
 * routing file's `[[routes]]`, where a misspelt key must not pass silently.
 * @internal
 */
export const ClosedRuntimeRouteSchema = routeCodec(closedObject(routeFields));

/** Parses a wire route (type checks only; `RouteTable.add` validates it further). */
export function parseRuntimeRoute(input: unknown, what = 'runtime route'): RuntimeRoute {
  return parseWithSchema(RuntimeRouteSchema, input, { what });
}

/** Converts a {@link RuntimeRoute} to its wire form (its codec's encoder); absent optionals are omitted. */
export const runtimeRouteToWire: (route: RuntimeRoute) => RuntimeRouteWire = wireEncoder(RuntimeRouteSchema);

// ---------------------------------------------------------------------------------------------
// RoutingResolveRequest

/** Wire form of a resolution request; absent fields take the spec's defaults. */
export const RoutingResolveRequestWireSchema = z.object({
  recipient: z.string(),
  channel: optionalString,
  retry_max: optionalCount,
  backoff_ms: optionalCount,
  rate_limit_per_minute: optionalCount,
});
/** A resolution request as written on the wire. */
export type RoutingResolveRequestWire = z.input<typeof RoutingResolveRequestWireSchema>;

/** A request to resolve where `recipient` goes. */
export interface RoutingResolveRequest {
  /** Who to reach (`user@example.com`, `+15550100`, a member id, a URL…). */
  recipient: string;
  /** Channel; default `notification`. */
  channel?: string;
  /** Retries after the first attempt; default 1, at most 10. */
  retryMax?: number;
  /** Base wait between attempts in ms; default 250. */
  backoffMs?: number;
  /** Successful sends allowed per minute window; default 2, must be > 0. */
  rateLimitPerMinute?: number;
}

/** The codec between a wire request and {@link RoutingResolveRequest}. */
export const RoutingResolveRequestSchema = wireCodec(RoutingResolveRequestWireSchema, {
  decode: (w): RoutingResolveRequest =>
    setFields({ recipient: w.recipient }, [
      ['channel', w.channel],
      ['retryMax', w.retry_max],
      ['backoffMs', w.backoff_ms],
      ['rateLimitPerMinute', w.rate_limit_per_minute],
    ]),
  encode: (r) =>
    setFields({ recipient: r.recipient }, [
      ['channel', r.channel],
      ['retry_max', r.retryMax],
      ['backoff_ms', r.backoffMs],
      ['rate_limit_per_minute', r.rateLimitPerMinute],
    ]),
});

/** Parses a wire resolution request (e.g. MCP tool arguments or JSON-RPC params). */
export function parseRoutingResolveRequest(input: unknown): RoutingResolveRequest {
  return parseWithSchema(RoutingResolveRequestSchema, input, { what: 'routing resolve request' });
}

// ---------------------------------------------------------------------------------------------
// RoutingResolution

/** Wire form of an issued resolution (the one schema in `@mobkit/core`, shared with delivery). */
export const RoutingResolutionWireSchema = RouteResolutionWireSchema;
/** An issued resolution as written on the wire. */
export type RoutingResolutionWire = RouteResolutionWire;

/** Where a recipient goes and with which policy, under an issued `route_id`. */
export type RoutingResolution = RouteResolution;

/** Maps a wire resolution to {@link RoutingResolution}. */
export const RoutingResolutionSchema = RouteResolutionSchema;

/** Parses a wire resolution. */
export function parseRoutingResolution(input: unknown): RoutingResolution {
  return parseRouteResolution(input, 'routing resolution');
}

/** Converts a resolution to its wire form (field order as in the spec). */
export const routingResolutionToWire: (r: RoutingResolution) => RoutingResolutionWire = routeResolutionToWire;

// ---------------------------------------------------------------------------------------------
// Router overrides (answer of the router module's `routing.resolve` tool)

/** The six fields a router (or a routing file's `[defaults]`) may override, in wire form. */
const overrideFields = {
  channel: optionalString,
  sink: optionalString,
  target_module: optionalString,
  retry_max: optionalCount,
  backoff_ms: optionalCount,
  rate_limit_per_minute: optionalCount,
};

/**
 * Wire form of router-module overrides. Unknown keys are ignored, so a router may answer with a
 * whole resolution (as `mobkit-router` does); `null` means "not overridden".
 */
export const RoutingOverridesWireSchema = z.looseObject(overrideFields);
/** Router overrides as written on the wire. */
export type RoutingOverridesWire = z.input<typeof RoutingOverridesWireSchema>;

/** Fields a router module may override in a resolution. */
export interface RoutingOverrides {
  channel?: string;
  sink?: string;
  targetModule?: string;
  retryMax?: number;
  backoffMs?: number;
  rateLimitPerMinute?: number;
}

type OverridesFields = z.output<z.ZodObject<typeof overrideFields>>;

function overridesCodec<W extends z.ZodType<OverridesFields>>(wire: W) {
  return wireCodec(wire, {
    decode: (w): RoutingOverrides =>
      setFields({}, [
        ['channel', w.channel],
        ['sink', w.sink],
        ['targetModule', w.target_module],
        ['retryMax', w.retry_max],
        ['backoffMs', w.backoff_ms],
        ['rateLimitPerMinute', w.rate_limit_per_minute],
      ]),
    encode: (o) =>
      setFields({} as z.output<W>, [
        ['channel', o.channel],
        ['sink', o.sink],
        ['target_module', o.targetModule],
        ['retry_max', o.retryMax],
        ['backoff_ms', o.backoffMs],
        ['rate_limit_per_minute', o.rateLimitPerMinute],
      ]),
  });
}

/** The codec between wire overrides (unknown keys ignored) and {@link RoutingOverrides}. */
export const RoutingOverridesSchema = overridesCodec(RoutingOverridesWireSchema);

/**
 * The same codec over a closed object (each unknown key is an error listing the allowed ones): a
 * routing file's `[defaults]`, where a misspelt key must not pass silently.
 * @internal
 */
export const ClosedRoutingOverridesSchema = overridesCodec(closedObject(overrideFields));

/**
 * Parses what a router module answered to `routing.resolve` (a JSON object in wire or camelCase
 * form, or its JSON text) into overrides; anything else is `InvalidRouterOverrides` naming the field.
 */
export function parseRoutingOverrides(input: unknown): RoutingOverrides {
  let value = input;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return {};
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new MobKitError(
        'InvalidRouterOverrides',
        `router overrides: not valid JSON (${(error as Error).message})`,
        {
          cause: error,
          details: { response: text.slice(0, 200) },
        },
      );
    }
  }
  if (value === null || value === undefined) return {};
  if (typeof value === 'object' && !Array.isArray(value)) {
    // Accept camelCase overrides too (what a TypeScript router function naturally returns).
    const object = value as Record<string, unknown>;
    const camel = [
      ['targetModule', 'target_module'],
      ['retryMax', 'retry_max'],
      ['backoffMs', 'backoff_ms'],
      ['rateLimitPerMinute', 'rate_limit_per_minute'],
    ] as const;
    if (camel.some(([c]) => c in object)) {
      const wire: Record<string, unknown> = { ...object };
      for (const [c, w] of camel) {
        if (c in object) {
          wire[w] = object[c];
          delete wire[c];
        }
      }
      value = wire;
    }
  }
  return parseWithSchema(RoutingOverridesSchema, value, { what: 'router overrides', code: 'InvalidRouterOverrides' });
}

/** Converts overrides to wire form (its codec's encoder; absent fields omitted). */
export const routingOverridesToWire: (o: RoutingOverrides) => RoutingOverridesWire =
  wireEncoder(RoutingOverridesSchema);
