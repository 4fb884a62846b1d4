import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import { type ReferenceAppRouterOptions, buildReferenceAppRouter } from '@mobkit/reference-app';
import type { Router } from 'express';
import type { AppHttpSecurity } from '../app-config/load.js';
import { createRpcHandler } from '../rpc/handler.js';
import type { RpcHandlerOptions } from '../rpc/registry.js';
import type { UnifiedRuntime } from '../runtime/unified-runtime.js';
import { referenceAppSurface } from './surface.js';

/**
 * Options of {@link createReferenceAppRouter}: the reference app router's, with `rpcHandler` optional
 * (default `createRpcHandler(runtime, rpc)`).
 */
export type CreateReferenceAppRouterOptions = Omit<ReferenceAppRouterOptions, 'rpcHandler'> &
  Partial<Pick<ReferenceAppRouterOptions, 'rpcHandler'>> & {
    /** Options of the default RPC handler (ignored when `rpcHandler` is given). */
    rpc?: RpcHandlerOptions;
  };

/**
 * The reference app's Express router over a runtime (`/healthz`, the console and its JSON, SSE
 * streams, interactions, `POST /rpc` with {@link createRpcHandler}), behind the console auth of
 * `decisionState`. Its streams close when `options.signal` aborts or the runtime shuts down
 * (`runtime.shutdownSignal`).
 */
export function createReferenceAppRouter(
  runtime: UnifiedRuntime,
  decisionState: RuntimeDecisionState,
  options: CreateReferenceAppRouterOptions = {},
): Router {
  const { rpc, rpcHandler, signal, ...rest } = options;
  return buildReferenceAppRouter(referenceAppSurface(runtime), decisionState, {
    ...rest,
    rpcHandler: rpcHandler ?? createRpcHandler(runtime, rpc),
    signal: signal ? AbortSignal.any([signal, runtime.shutdownSignal]) : runtime.shutdownSignal,
  });
}

/**
 * The router options of an app's `[http]` section (`AppConfig.http`): the Origin and Host allowlists,
 * and the console token expiry policy for the auth middleware. Spread them into
 * {@link createReferenceAppRouter}'s options (merge your own `auth` options over `auth`).
 */
export function httpSecurityOptions(
  http: AppHttpSecurity,
): Pick<CreateReferenceAppRouterOptions, 'allowedOrigins' | 'allowedHosts' | 'auth'> {
  return {
    allowedOrigins: http.allowedOrigins,
    allowedHosts: http.allowedHosts,
    auth: { requireExp: http.requireExp, maxTokenLifetimeSeconds: http.maxTokenLifetimeSeconds },
  };
}
