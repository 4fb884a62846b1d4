/**
 * mobkit/http — a {@link UnifiedRuntime} served over HTTP through the `@mobkit/reference-app`
 * router (Express): `/healthz`, the console page and JSON, SSE streams, interactions and JSON-RPC at
 * `POST /rpc`. The root entry (`mobkit`) never loads Express; this subpath does.
 * @packageDocumentation
 */
export { createReferenceAppRouter, httpSecurityOptions, type CreateReferenceAppRouterOptions } from './router.js';
export type { AppHttpSecurity } from '../app-config/load.js';
export { referenceAppSurface } from './surface.js';
export type { UnifiedRuntime } from '../runtime/unified-runtime.js';
