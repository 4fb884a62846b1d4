import { MobKitError } from '@mobkit/core';
import { RETRY_MAX_CAP, WILDCARD_ROUTE, parseRuntimeRoute, type RuntimeRoute } from './schema.js';

function requireNonBlank(
  value: unknown,
  field: string,
  code: 'EmptyRouteKey' | 'EmptyRecipient' | 'EmptySink' | 'EmptyTargetModule',
  prefix: string,
): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') {
    throw new MobKitError(code, `${prefix}${field}: must be a non-blank string, got ${JSON.stringify(value ?? null)}`, {
      details: { field: `${prefix}${field}` },
    });
  }
  return text;
}

/** Throws `RetryMaxExceedsCap` when `retryMax` is above {@link RETRY_MAX_CAP}. */
export function checkRetryMax(retryMax: number, field = 'retry_max'): void {
  if (retryMax > RETRY_MAX_CAP) {
    throw new MobKitError(
      'RetryMaxExceedsCap',
      `${field}: ${retryMax} exceeds the cap of ${RETRY_MAX_CAP}; use at most ${RETRY_MAX_CAP} retries`,
      {
        details: { field, provided: retryMax, cap: RETRY_MAX_CAP },
      },
    );
  }
}

/** Throws `InvalidRateLimitPerMinute` unless `rate` is a positive integer. */
export function checkRateLimit(rate: number, field = 'rate_limit_per_minute'): void {
  if (!Number.isInteger(rate) || rate <= 0) {
    throw new MobKitError('InvalidRateLimitPerMinute', `${field}: must be a positive integer, got ${rate}`, {
      details: { field, provided: rate },
    });
  }
}

/** Throws `InvalidChannel` when a present channel is blank; returns it trimmed. */
export function checkChannel(channel: string, field = 'channel'): string {
  const text = channel.trim();
  if (text === '') {
    throw new MobKitError(
      'InvalidChannel',
      `${field}: must not be blank when present (omit it for the default "notification")`,
      {
        details: { field },
      },
    );
  }
  return text;
}

/**
 * Validates a runtime route the way `add_runtime_route` does (§7.1), trimming its strings:
 * `EmptyRouteKey`, `EmptyRecipient`, `InvalidChannel`, `EmptySink`, `EmptyTargetModule`,
 * `RetryMaxExceedsCap`, `InvalidRateLimitPerMinute`. `fieldPrefix` (e.g. `routes[2].`) names the place.
 */
export function validateRoute(route: RuntimeRoute, fieldPrefix = ''): RuntimeRoute {
  if (route === null || typeof route !== 'object') {
    throw new MobKitError(
      'InvalidInput',
      `${fieldPrefix || 'route'}: expected a route object, got ${route === null ? 'null' : typeof route}`,
    );
  }
  const out: RuntimeRoute = {
    routeKey: requireNonBlank(route.routeKey, 'route_key', 'EmptyRouteKey', fieldPrefix),
    recipient: requireNonBlank(route.recipient, 'recipient', 'EmptyRecipient', fieldPrefix),
    sink: '',
    targetModule: '',
  };
  if (route.channel !== undefined && route.channel !== null) {
    if (typeof route.channel !== 'string')
      throw new MobKitError('InvalidChannel', `${fieldPrefix}channel: expected a string`);
    out.channel = checkChannel(route.channel, `${fieldPrefix}channel`);
  }
  out.sink = requireNonBlank(route.sink, 'sink', 'EmptySink', fieldPrefix);
  out.targetModule = requireNonBlank(route.targetModule, 'target_module', 'EmptyTargetModule', fieldPrefix);
  for (const [key, field] of [
    ['retryMax', 'retry_max'],
    ['backoffMs', 'backoff_ms'],
    ['rateLimitPerMinute', 'rate_limit_per_minute'],
  ] as const) {
    const value = route[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new MobKitError(
        'InvalidInput',
        `${fieldPrefix}${field}: expected a non-negative integer, got ${JSON.stringify(value)}`,
        {
          details: { field: `${fieldPrefix}${field}` },
        },
      );
    }
    out[key] = value;
  }
  if (out.retryMax !== undefined) checkRetryMax(out.retryMax, `${fieldPrefix}retry_max`);
  if (out.rateLimitPerMinute !== undefined)
    checkRateLimit(out.rateLimitPerMinute, `${fieldPrefix}rate_limit_per_minute`);
  return out;
}

/** Sorts by route key in code-unit order (the Rust BTreeMap's order). */
function byKey(a: RuntimeRoute, b: RuntimeRoute): number {
  return a.routeKey < b.routeKey ? -1 : a.routeKey > b.routeKey ? 1 : 0;
}

/**
 * The operator-managed route table (§7.1), keyed by `route_key`. Recipient and channel may be
 * {@link WILDCARD_ROUTE}. Matching picks, at the highest priority level that has any match, the
 * first route in key order: 1. exact recipient with the requested channel or no channel; 2. exact
 * recipient with channel `*`; 3. recipient `*` with the requested channel or no channel; 4. `*`/`*`.
 */
export class RouteTable {
  private readonly routes = new Map<string, RuntimeRoute>();
  private sorted: RuntimeRoute[] | undefined;

  /** Creates a table holding `routes` (each validated; later keys replace earlier ones). */
  constructor(routes: Iterable<RuntimeRoute> = []) {
    for (const route of routes) this.add(route);
  }

  /**
   * Validates and adds `route` (camelCase, or its wire form with `route_key`…), replacing any route
   * with the same key; returns the stored (trimmed) route.
   */
  add(route: RuntimeRoute | Record<string, unknown>): RuntimeRoute {
    const camel = isWireRoute(route) ? parseRuntimeRoute(route) : (route as RuntimeRoute);
    const valid = validateRoute(camel);
    this.routes.set(valid.routeKey, Object.freeze({ ...valid }) as RuntimeRoute);
    this.sorted = undefined;
    return { ...valid };
  }

  /** Deletes the route with `routeKey` and returns it; `EmptyRouteKey` / `RouteNotFound`. */
  delete(routeKey: string): RuntimeRoute {
    const key = typeof routeKey === 'string' ? routeKey.trim() : '';
    if (key === '')
      throw new MobKitError('EmptyRouteKey', 'route_key: must be a non-blank string', {
        details: { field: 'route_key' },
      });
    const route = this.routes.get(key);
    if (route === undefined) {
      throw new MobKitError(
        'RouteNotFound',
        `no runtime route with route_key ${JSON.stringify(key)}; list the routes to see the existing keys`,
        {
          details: { route_key: key },
        },
      );
    }
    this.routes.delete(key);
    this.sorted = undefined;
    return { ...route };
  }

  /** The route stored under `routeKey`, if any. */
  get(routeKey: string): RuntimeRoute | undefined {
    const route = this.routes.get(routeKey.trim());
    return route === undefined ? undefined : { ...route };
  }

  /** Every route, sorted by key. */
  list(): RuntimeRoute[] {
    return this.ordered().map((r) => ({ ...r }));
  }

  /** Number of routes. */
  get size(): number {
    return this.routes.size;
  }

  /** The route that applies to `recipient` on `channel` (see the class doc for priority), if any. */
  match(recipient: string, channel: string): RuntimeRoute | undefined {
    let best: RuntimeRoute | undefined;
    let bestLevel = 5;
    for (const route of this.ordered()) {
      const level = matchLevel(route, recipient, channel);
      if (level < bestLevel) {
        best = route;
        bestLevel = level;
        if (level === 1) break;
      }
    }
    return best === undefined ? undefined : { ...best };
  }

  private ordered(): RuntimeRoute[] {
    if (this.sorted === undefined) this.sorted = [...this.routes.values()].sort(byKey);
    return this.sorted;
  }
}

function isWireRoute(route: object): boolean {
  return 'route_key' in route || 'target_module' in route;
}

function matchLevel(route: RuntimeRoute, recipient: string, channel: string): number {
  const channelFits = route.channel === undefined || route.channel === channel;
  if (route.recipient === recipient) {
    if (channelFits) return 1;
    if (route.channel === WILDCARD_ROUTE) return 2;
    return 5;
  }
  if (route.recipient === WILDCARD_ROUTE) {
    if (channelFits) return 3;
    if (route.channel === WILDCARD_ROUTE) return 4;
  }
  return 5;
}
