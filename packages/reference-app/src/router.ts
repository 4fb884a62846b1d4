import type { RuntimeDecisionState } from '@mobkit/auth-policy';
import { requireConsoleAuth } from '@mobkit/auth-policy/express';
import express, { type RequestHandler, type Router } from 'express';
import { RouteError, jsonErrorHandler } from './http-errors.js';
import { type ReferenceAppRouterOptions, resolveRouterOptions } from './options.js';
import { mountConsoleJsonRoutes } from './routes/console-json.js';
import { mountConsolePageRoutes } from './routes/console-page.js';
import type { RouteContext } from './routes/context.js';
import { mountEventRoutes } from './routes/events.js';
import { mountHealthRoutes } from './routes/health.js';
import { mountInteractionRoutes } from './routes/interactions.js';
import { hostGuard, originGuard } from './request-guards.js';
import { mountRpcRoutes } from './routes/rpc.js';
import { StreamRegistry } from './streams.js';
import type { ReferenceAppRuntimeSurface } from './surface.js';

/** The path prefixes this router owns: a wrong method or unknown path under them is 404 `not_found`. */
const OWNED_PATHS = [
  '/console/{*rest}',
  '/agents/{*rest}',
  '/mob/{*rest}',
  '/interactions/{*rest}',
  '/rpc',
  '/healthz',
];

/** Every path but `/healthz` (which holds no data and is probed by load balancers by IP): Host and Origin are checked. */
const GUARDED_PREFIXES = ['/console', '/agents', '/mob', '/interactions', '/rpc'];

/**
 * The reference app's HTTP edge as an Express router (spec §15), over a runtime surface, the runtime
 * decision state and an RPC handler:
 *
 * - `GET /healthz` → `ok` (never behind auth);
 * - `GET /console`, `/console/`, `/console/assets/*` — the console page and its bundled script;
 * - `GET /console/experience`, `GET /console/modules` — the v0.2.0 JSON contracts;
 * - `GET /mob/events`, `GET /agents/:id/events` — SSE with ids `mob:<seq>` / `<agent>:<seq>`, `Last-Event-ID`
 *   resume from a bounded replay buffer, keep-alive comments, slow clients dropped;
 * - `POST /interactions/stream` `{member_id, message?}` — one member's events until a terminal event;
 * - `POST /rpc`, `POST /console/rpc` — JSON-RPC (batches too) through `rpcHandler`, body size limited.
 *
 * With `decisionState.console.requireAppAuth` every route but `/healthz` (and, unless `guardConsoleShell`,
 * the static page shell) goes through `requireConsoleAuth`: console JSON, SSE, interactions and RPC alike.
 * Before any route and before auth, every request but `/healthz` must carry a `Host` that is the bound
 * address, a localhost name or one of `allowedHosts` (403 `host_not_allowed`), and every state-changing
 * one an `Origin` that is absent, the server's own or one of `allowedOrigins` (403 `cross_origin_refused`);
 * JSON bodies must be `application/json` (415 `unsupported_media_type`). HEAD on an SSE route answers
 * its headers only. Handlers throw `MobKitError`s; one error handler answers them with their code's status from the one
 * code table and a JSON `{"error":"<code>"}` body, never a stack trace. Options are validated here
 * (a `TypeError` naming the option).
 */
export function buildReferenceAppRouter(
  surface: ReferenceAppRuntimeSurface,
  decisionState: RuntimeDecisionState,
  options: ReferenceAppRouterOptions,
): Router {
  const resolved = resolveRouterOptions(options);
  const guard: RequestHandler = requireConsoleAuth(decisionState, resolved.auth);
  const ctx: RouteContext = {
    surface,
    decisionState,
    options: resolved,
    streams: new StreamRegistry(surface, resolved),
    guard,
    shellGuard: resolved.guardConsoleShell ? guard : (_req, _res, next) => next(),
    trustedModules: decisionState.modules.map((m) => m.id),
  };

  const router: Router = express.Router();
  mountHealthRoutes(router);
  // Before any other route (and before auth): the Host of every request but /healthz, then the Origin of
  // every state-changing one.
  router.use(GUARDED_PREFIXES, hostGuard(resolved.allowedHosts), originGuard(resolved.allowedOrigins));
  mountConsolePageRoutes(router, ctx);
  mountConsoleJsonRoutes(router, ctx);
  mountEventRoutes(router, ctx);
  mountInteractionRoutes(router, ctx);
  mountRpcRoutes(router, ctx);
  router.all(OWNED_PATHS, () => {
    throw new RouteError('not_found');
  });
  router.use(jsonErrorHandler(resolved.onError));
  return router;
}
