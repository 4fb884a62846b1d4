import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MobKitError, parseTomlText, parseWithSchema } from '@mobkit/core';
import { RoutingOverridesSchema, RuntimeRouteSchema, type RoutingOverrides, type RuntimeRoute } from './schema.js';
import { checkChannel, checkRateLimit, checkRetryMax, validateRoute } from './table.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Wire (TOML) form of a routing file: `[defaults]` overrides and `[[routes]]`. */
export const RoutingConfigWireSchema = z.strictObject({
  defaults: z
    .strictObject({
      channel: z.string().optional(),
      sink: z.string().optional(),
      target_module: z.string().optional(),
      retry_max: count.optional(),
      backoff_ms: count.optional(),
      rate_limit_per_minute: count.optional(),
    })
    .optional(),
  routes: z.array(z.looseObject({})).optional(),
});

/** A routing file: overrides the router applies to every request, and runtime routes. */
export interface RoutingConfig {
  /** Overrides applied to every resolution (before a matching route's). */
  defaults: RoutingOverrides;
  /** Runtime routes, validated, in file order. */
  routes: RuntimeRoute[];
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
  const wire = parseWithSchema(RoutingConfigWireSchema, raw, { what: source, code: 'InvalidConfig' });
  const defaults =
    wire.defaults === undefined
      ? {}
      : parseWithSchema(RoutingOverridesSchema, wire.defaults, {
          what: source,
          pathPrefix: 'defaults',
          code: 'InvalidConfig',
        });
  if (defaults.channel !== undefined) defaults.channel = checkChannel(defaults.channel, 'defaults.channel');
  for (const key of ['sink', 'targetModule'] as const) {
    const value = defaults[key];
    if (value !== undefined && value.trim() === '') {
      throw new MobKitError(
        'InvalidConfig',
        `${source}: defaults.${key === 'sink' ? 'sink' : 'target_module'} must not be blank`,
      );
    }
    if (value !== undefined) defaults[key] = value.trim();
  }
  if (defaults.retryMax !== undefined) checkRetryMax(defaults.retryMax, 'defaults.retry_max');
  if (defaults.rateLimitPerMinute !== undefined)
    checkRateLimit(defaults.rateLimitPerMinute, 'defaults.rate_limit_per_minute');
  const routes = (wire.routes ?? []).map((entry, i) => {
    const route = parseWithSchema(RuntimeRouteSchema.pipe(z.custom<RuntimeRoute>()), entry, {
      what: source,
      pathPrefix: `routes[${i}]`,
      code: 'InvalidConfig',
    });
    return validateRoute(route, `routes[${i}].`);
  });
  return { defaults, routes };
}

/** Reads and parses a routing TOML file (see {@link parseRoutingConfig}); a missing file is `InvalidConfig`. */
export function loadRoutingConfig(path: string): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MobKitError(
      'InvalidConfig',
      `routing config ${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      {
        cause: error,
        details: { path },
      },
    );
  }
  return parseRoutingConfig(text, `routing config ${path}`);
}
