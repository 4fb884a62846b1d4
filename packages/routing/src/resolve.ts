import { MobKitError, sequenceId, systemClock, type Clock, type EventEnvelope, type ModuleEvent } from '@mobkit/core';
import {
  DEFAULT_BACKOFF_MS,
  DEFAULT_CHANNEL,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  DEFAULT_RETRY_MAX,
  DEFAULT_TARGET_MODULE,
  parseRoutingOverrides,
  routingResolutionToWire,
  type RoutingOverrides,
  type RoutingResolution,
  type RoutingResolutionWire,
  type RoutingResolveRequest,
  type RoutingResolveRequestWire,
} from './schema.js';
import { RouteTable, checkChannel, checkRateLimit, checkRetryMax } from './table.js';
import { TrustedResolutions } from './trusted.js';

/** The `router/resolved` event announcing an issued resolution (payload in wire form). */
export type RoutingResolvedEvent = EventEnvelope<ModuleEvent<RoutingResolutionWire>>;

/**
 * The router module's part of resolution: given the request (wire form, defaults filled in), answer
 * overrides. The unified runtime wires this to the `router` module's `routing.resolve` MCP tool; the
 * answer may be overrides, a whole resolution, its JSON text, or nothing.
 */
export type RouterOverridesProvider = (
  request: Required<
    Pick<RoutingResolveRequestWire, 'recipient' | 'channel' | 'retry_max' | 'backoff_ms' | 'rate_limit_per_minute'>
  >,
) => unknown;

/** What {@link resolveRouting} works with. */
export interface ResolveRoutingDeps {
  /** Issues route ids and remembers resolutions as trusted. */
  trusted: TrustedResolutions;
  /** Operator-managed routes, applied after the router module's overrides. */
  routes?: RouteTable;
  /** The router module's overrides (see {@link RouterOverridesProvider}). */
  router?: RouterOverridesProvider;
  /**
   * Loaded module ids. When given, `router` and `delivery` must both be present
   * (`RouterModuleNotLoaded` / `DeliveryModuleNotLoaded`); when omitted the check is skipped.
   */
  loadedModules?: Iterable<string> | (() => Iterable<string>);
  /** Receives the `router/resolved` event. */
  emit?: (event: RoutingResolvedEvent) => void;
  /** Time source for the event timestamp; default the system clock. */
  clock?: Clock;
  /** Latest timestamp in the merged event stream; the event is never stamped before it. */
  latestEventMs?: () => number;
}

/** Default sink for a recipient: contains `@` → `email`, starts with `+` → `sms`, else `webhook`. */
export function inferSink(recipient: string): string {
  if (recipient.includes('@')) return 'email';
  if (recipient.startsWith('+')) return 'sms';
  return 'webhook';
}

function checkCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new MobKitError('InvalidInput', `${field}: expected a non-negative integer, got ${JSON.stringify(value)}`, {
      details: { field },
    });
  }
  return value;
}

function nonBlank(value: string, field: string, code: 'EmptySink' | 'EmptyTargetModule', origin: string): string {
  const text = value.trim();
  if (text === '')
    throw new MobKitError(code, `${field}: ${origin} set it blank; give a non-blank ${field}`, { details: { field } });
  return text;
}

/**
 * Resolves where `request.recipient` goes (spec §7.2): checks the modules and the request, applies
 * the defaults (channel `notification`, retry 1, backoff 250 ms, rate 2/min), infers the sink,
 * applies the router module's overrides and then the matching runtime route, re-checks the caps,
 * issues `route-NNNNNN`, remembers the resolution as trusted and emits `router/resolved`.
 */
export async function resolveRouting(
  request: RoutingResolveRequest,
  deps: ResolveRoutingDeps,
): Promise<RoutingResolution> {
  if (deps.loadedModules !== undefined) {
    const loaded = new Set(typeof deps.loadedModules === 'function' ? deps.loadedModules() : deps.loadedModules);
    if (!loaded.has('router')) {
      throw new MobKitError(
        'RouterModuleNotLoaded',
        'routing needs the "router" module loaded; add it to the runtime modules',
        {
          details: { module_id: 'router' },
        },
      );
    }
    if (!loaded.has('delivery')) {
      throw new MobKitError(
        'DeliveryModuleNotLoaded',
        'routing needs the "delivery" module loaded; add it to the runtime modules',
        {
          details: { module_id: 'delivery' },
        },
      );
    }
  }
  if (request === null || typeof request !== 'object') {
    throw new MobKitError('InvalidInput', 'routing resolve request: expected an object with a recipient');
  }
  const recipient = typeof request.recipient === 'string' ? request.recipient.trim() : '';
  if (recipient === '') {
    throw new MobKitError(
      'EmptyRecipient',
      `recipient: must be a non-blank string, got ${JSON.stringify(request.recipient ?? null)}`,
      {
        details: { field: 'recipient' },
      },
    );
  }
  let channel = DEFAULT_CHANNEL;
  if (request.channel !== undefined && request.channel !== null) {
    if (typeof request.channel !== 'string')
      throw new MobKitError('InvalidChannel', 'channel: expected a string', { details: { field: 'channel' } });
    channel = checkChannel(request.channel);
  }
  let retryMax =
    request.retryMax === undefined || request.retryMax === null
      ? DEFAULT_RETRY_MAX
      : checkCount(request.retryMax, 'retry_max');
  let backoffMs =
    request.backoffMs === undefined || request.backoffMs === null
      ? DEFAULT_BACKOFF_MS
      : checkCount(request.backoffMs, 'backoff_ms');
  let rate =
    request.rateLimitPerMinute === undefined || request.rateLimitPerMinute === null
      ? DEFAULT_RATE_LIMIT_PER_MINUTE
      : checkCount(request.rateLimitPerMinute, 'rate_limit_per_minute');
  checkRetryMax(retryMax);
  checkRateLimit(rate);
  let sink = inferSink(recipient);
  let targetModule = DEFAULT_TARGET_MODULE;

  if (deps.router !== undefined) {
    const answer = await deps.router({
      recipient,
      channel,
      retry_max: retryMax,
      backoff_ms: backoffMs,
      rate_limit_per_minute: rate,
    });
    const o: RoutingOverrides = parseRoutingOverrides(answer);
    if (o.channel !== undefined) channel = checkChannel(o.channel, 'channel (router override)');
    if (o.sink !== undefined) sink = nonBlank(o.sink, 'sink', 'EmptySink', 'the router module');
    if (o.targetModule !== undefined)
      targetModule = nonBlank(o.targetModule, 'target_module', 'EmptyTargetModule', 'the router module');
    if (o.retryMax !== undefined) retryMax = o.retryMax;
    if (o.backoffMs !== undefined) backoffMs = o.backoffMs;
    if (o.rateLimitPerMinute !== undefined) rate = o.rateLimitPerMinute;
  }

  const route = deps.routes?.match(recipient, channel);
  if (route !== undefined) {
    sink = route.sink;
    targetModule = route.targetModule;
    if (route.retryMax !== undefined) retryMax = route.retryMax;
    if (route.backoffMs !== undefined) backoffMs = route.backoffMs;
    if (route.rateLimitPerMinute !== undefined) rate = route.rateLimitPerMinute;
  }
  checkRetryMax(retryMax);
  checkRateLimit(rate);

  const resolution = deps.trusted.issue({
    recipient,
    channel,
    sink,
    targetModule,
    retryMax,
    backoffMs,
    rateLimitPerMinute: rate,
  });
  await deps.trusted.persist(resolution);
  if (deps.emit !== undefined) {
    const now = (deps.clock ?? systemClock).nowMs();
    const timestampMs = deps.trusted.nextEventTimestamp(
      Math.max(now, deps.latestEventMs?.() ?? Number.NEGATIVE_INFINITY),
    );
    deps.emit({
      eventId: sequenceId('evt-routing', deps.trusted.issuedCount - 1),
      source: 'module',
      timestampMs,
      event: { kind: 'module', module: 'router', eventType: 'resolved', payload: routingResolutionToWire(resolution) },
    });
  }
  return resolution;
}

/** Options of {@link RoutingService}. */
export interface RoutingServiceOptions extends Omit<ResolveRoutingDeps, 'trusted' | 'routes'> {
  /** Initial runtime routes. */
  routes?: Iterable<import('./schema.js').RuntimeRoute> | RouteTable;
  /** How many trusted resolutions to remember (default 512). */
  trustedCapacity?: number;
  /** The trusted resolutions to use, e.g. durable ones from `TrustedResolutions.open(store.records)` (then `trustedCapacity` is theirs). */
  trusted?: TrustedResolutions;
}

/**
 * Routing state in one object: a {@link RouteTable}, the {@link TrustedResolutions} and the wiring
 * of {@link resolveRouting}. `service.trusted` is what delivery checks resolutions against.
 */
export class RoutingService {
  /** Operator-managed routes. */
  readonly routes: RouteTable;
  /** Issued resolutions (pass to delivery as its trusted lookup). */
  readonly trusted: TrustedResolutions;
  private readonly deps: Omit<ResolveRoutingDeps, 'trusted' | 'routes'>;

  constructor(options: RoutingServiceOptions = {}) {
    const { routes, trustedCapacity, trusted, ...deps } = options;
    this.routes = routes instanceof RouteTable ? routes : new RouteTable(routes ?? []);
    this.trusted = trusted ?? new TrustedResolutions(trustedCapacity);
    this.deps = deps;
  }

  /** Resolves `request` with this service's routes, router and trust store. */
  resolve(request: RoutingResolveRequest): Promise<RoutingResolution> {
    return resolveRouting(request, { ...this.deps, trusted: this.trusted, routes: this.routes });
  }
}
