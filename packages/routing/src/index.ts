/**
 * @mobkit/routing — trusted route resolution for MobKit-TS: the operator-managed route table with
 * wildcard priority, resolution defaults and caps, router-module overrides, the bounded store of
 * issued (trusted) resolutions, and reading a router module's answers. The `mobkit-router` MCP
 * module's server is on the `@mobkit/routing/module` subpath (this entry never loads the MCP SDK).
 * @packageDocumentation
 */
export {
  WILDCARD_ROUTE,
  RETRY_MAX_CAP,
  DEFAULT_CHANNEL,
  DEFAULT_RETRY_MAX,
  DEFAULT_BACKOFF_MS,
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  DEFAULT_TRUSTED_CAPACITY,
  DEFAULT_TARGET_MODULE,
  RuntimeRouteWireSchema,
  RuntimeRouteSchema,
  parseRuntimeRoute,
  runtimeRouteToWire,
  RoutingResolveRequestWireSchema,
  RoutingResolveRequestSchema,
  parseRoutingResolveRequest,
  RoutingResolutionWireSchema,
  RoutingResolutionSchema,
  parseRoutingResolution,
  routingResolutionToWire,
  RoutingOverridesWireSchema,
  RoutingOverridesSchema,
  parseRoutingOverrides,
  routingOverridesToWire,
  type RuntimeRoute,
  type RuntimeRouteWire,
  type RoutingResolveRequest,
  type RoutingResolveRequestWire,
  type RoutingResolution,
  type RoutingResolutionWire,
  type RoutingOverrides,
  type RoutingOverridesWire,
} from './schema.js';
export { RouteTable, validateRoute, checkRetryMax, checkRateLimit, checkChannel } from './table.js';
export { TrustedResolutions, TRUSTED_RESOLUTIONS_NAMESPACE } from './trusted.js';
/** Read access to issued resolutions (declared once, in `@mobkit/core`; re-exported for existing imports). */
export type { TrustedResolutionLookup } from '@mobkit/core';
export {
  resolveRouting,
  inferSink,
  RoutingService,
  type ResolveRoutingDeps,
  type RouterOverridesProvider,
  type RoutingResolvedEvent,
  type RoutingServiceOptions,
} from './resolve.js';
export { parseRoutingConfig, loadRoutingConfig, RoutingConfigWireSchema, type RoutingConfig } from './config.js';
export { overridesFromToolResult, type ToolResultLike } from './mcp.js';
