import type { ErrorCodeInfo } from './types.js';

/** Codes raised by route tables and route resolution. Reuse a code from core.ts when the meaning is the same. */
export const routingErrorCodes = {
  EmptyRouteKey: { rpc: -32602, http: 400, summary: 'a route_key is missing or blank' },
  EmptyRecipient: { rpc: -32602, http: 400, summary: 'a recipient is missing or blank' },
  InvalidChannel: { rpc: -32602, http: 400, summary: 'a channel is present but blank' },
  EmptySink: { rpc: -32602, http: 400, summary: 'a sink is missing or blank' },
  EmptyTargetModule: { rpc: -32602, http: 400, summary: 'a target_module is missing or blank' },
  RetryMaxExceedsCap: { rpc: -32602, http: 400, summary: 'retry_max is above the cap of 10' },
  InvalidRateLimitPerMinute: { rpc: -32602, http: 400, summary: 'rate_limit_per_minute is not a positive integer' },
  RouteNotFound: { rpc: -32602, http: 404, summary: 'no runtime route has this route_key' },
  RouterModuleNotLoaded: { rpc: -32000, http: 503, summary: 'the router module is not loaded' },
  DeliveryModuleNotLoaded: { rpc: -32000, http: 503, summary: 'the delivery module is not loaded' },
  InvalidRouterOverrides: {
    rpc: -32000,
    http: 502,
    summary: 'the router module answered routing.resolve with invalid overrides',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
