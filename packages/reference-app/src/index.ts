/**
 * @mobkit/reference-app — the HTTP edge of MobKit-TS: health, the live console (page, JSON
 * contracts, SSE streams), interaction streams and JSON-RPC over HTTP, behind console auth. It takes
 * a runtime surface and an RPC handler; it never builds a runtime.
 * @packageDocumentation
 */
export type {
  ReferenceAppRuntimeSurface,
  SurfaceAgentEvent,
  SurfaceAgentEventQuery,
  SurfaceEventLog,
  SurfaceMember,
  SurfaceProfile,
  SurfaceStoreInfo,
} from './surface.js';
export { buildReferenceAppRouter } from './router.js';
export {
  defaultConsoleAssetsDir,
  REFERENCE_APP_DEFAULTS,
  READ_ONLY_RPC_METHODS,
  type ReferenceAppRouterOptions,
  type ReferenceAppRpcHandler,
} from './options.js';
export {
  buildConsoleExperience,
  consoleModules,
  consoleStore,
  CONSOLE_CONTRACT_VERSION,
  TERMINAL_EVENT_TYPES,
  EXPERIENCE_REQUIRED_FIELDS,
  type ConsoleAgentWire,
  type ConsoleExperienceWire,
  type ConsoleModuleWire,
  type ConsoleStoreWire,
  type ConsoleExperienceInput,
} from './experience.js';
export {
  formatSseFrame,
  ReplayBuffer,
  SseConnection,
  type SseFrame,
  type SseDropInfo,
  type SseDropReason,
  type SseConnectionLimits,
} from './sse.js';
export { consoleHtml, CONSOLE_APP_ASSET } from './console-html.js';
export {
  httpErrorFor,
  jsonErrorHandler,
  sendError,
  snakeCode,
  RouteError,
  type RouteErrorName,
  type HttpErrorBody,
} from './http-errors.js';
