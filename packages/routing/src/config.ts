import { MobKitError, closedObject, parseTomlText, parseWithSchema, readConfigFile } from '@mobkit/core';
import { z } from 'zod';
import {
  ClosedRoutingOverridesSchema,
  ClosedRuntimeRouteSchema,
  type RoutingOverrides,
  type RuntimeRoute,
} from './schema.js';
import { checkChannel, checkRateLimit, checkRetryMax, validateRoute } from './table.js';

/**
 * A routing file (TOML): `[defaults]` with the router-override fields (the overrides codec) and
 * `[[routes]]` of runtime routes (the route codec). Every table is closed: each unknown key is an
 * error at its own path listing the allowed ones (`defaults.retrymax: unknown key; allowed: channel, …`).
 * Parsing decodes both in one pass.
 */
export const RoutingConfigWireSchema = closedObject({
  defaults: ClosedRoutingOverridesSchema.optional(),
  routes: z.array(ClosedRuntimeRouteSchema).optional(),
});

/** A routing file: overrides the router applies to every request, and runtime routes. */
export interface RoutingConfig {
  /** Overrides applied to every resolution (before a matching route's). */
  defaults: RoutingOverrides;
  /** Runtime routes, validated, in file order. */
  routes: RuntimeRoute[];
}

/** The semantic checks of `[defaults]` (channel syntax, blank names, caps), trimming names. */
function checkDefaults(defaults: RoutingOverrides, source: string): RoutingOverrides {
  const out: RoutingOverrides = { ...defaults };
  if (out.channel !== undefined) out.channel = checkChannel(out.channel, 'defaults.channel');
  for (const [key, field] of [
    ['sink', 'sink'],
    ['targetModule', 'target_module'],
  ] as const) {
    const value = out[key];
    if (value === undefined) continue;
    if (value.trim() === '') throw new MobKitError('InvalidConfig', `${source}: defaults.${field} must not be blank`);
    out[key] = value.trim();
  }
  if (out.retryMax !== undefined) checkRetryMax(out.retryMax, 'defaults.retry_max');
  if (out.rateLimitPerMinute !== undefined) checkRateLimit(out.rateLimitPerMinute, 'defaults.rate_limit_per_minute');
  return out;
}

/**
 * Parses a routing TOML file:
 * ```toml
 * [defaults]              # optional: overrides for every resolution
 * retry_max = 2
 * [[routes]]              # optional: runtime routes (spec §7.1 fields)
 * route_key = "ops.pager"
 * recipient = "ops@example.com"
 * channel = "alerts"      # optional; "*" = any
 * sink = "webhook"
 * target_module = "delivery"
 * ```
 * Errors name the file and field (`InvalidToml`, `InvalidConfig`, or the route's validation code).
 */
export function parseRoutingConfig(text: string, source = 'routing config'): RoutingConfig {
  const raw = parseTomlText(text, source);
  const config = parseWithSchema(RoutingConfigWireSchema, raw, { what: source, code: 'InvalidConfig' });
  return {
    defaults: checkDefaults(config.defaults ?? {}, source),
    routes: (config.routes ?? []).map((route, i) => validateRoute(route, `routes[${i}].`)),
  };
}

/** Reads and parses a routing TOML file (see {@link parseRoutingConfig}); a missing file is `InvalidConfig`. */
export function loadRoutingConfig(path: string): RoutingConfig {
  const text = readConfigFile(path, 'routing config');
  return parseRoutingConfig(text, `routing config ${path}`);
}
