import { MobKitError } from '@mobkit/core';
import { parseRoutingResolveRequest, routingResolutionToWire, runtimeRouteToWire } from '@mobkit/routing';
import { z } from 'zod';
import { nonBlank } from '../params.js';
import { NO_PARAMS, type RpcMethod, rpcMethod } from '../registry.js';

const RouteDeleteParams = z.strictObject({ route_key: nonBlank('route_key') });

/** `routes/add` takes `{route: {...}}` or the route itself; the route table validates its fields. */
const routeAddParams = {
  parseParams: (params: unknown): Record<string, unknown> => {
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw new MobKitError('RpcInvalidParams', 'Invalid params: route (object) required', {
        details: { field: 'route' },
      });
    }
    const raw = 'route' in params ? (params as { route: unknown }).route : params;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new MobKitError('RpcInvalidParams', 'Invalid params: route must be an object', {
        details: { field: 'route' },
      });
    }
    return raw as Record<string, unknown>;
  },
};

/** The routing methods: resolve a recipient, and list, add and delete runtime routes. */
export const routingMethods: readonly RpcMethod[] = [
  rpcMethod(
    'mobkit/routing/resolve',
    { parseParams: (params) => parseRoutingResolveRequest(params ?? {}) },
    async (request, { runtime }) => routingResolutionToWire(await runtime.resolveRouting(request)),
  ),
  rpcMethod('mobkit/routing/routes/list', NO_PARAMS, (_p, { runtime }) => ({
    routes: runtime.listRuntimeRoutes().map(runtimeRouteToWire),
  })),
  rpcMethod('mobkit/routing/routes/add', routeAddParams, (route, { runtime }) => ({
    route: runtimeRouteToWire(runtime.addRuntimeRoute(route)),
  })),
  rpcMethod('mobkit/routing/routes/delete', RouteDeleteParams, ({ route_key }, { runtime }) => ({
    deleted: runtimeRouteToWire(runtime.deleteRuntimeRoute(route_key)),
  })),
];
