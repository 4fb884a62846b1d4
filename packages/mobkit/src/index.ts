/**
 * mobkit — MobKit-TS in one import. The {@link UnifiedRuntime} composes an embedded mob of LLM
 * agents with supervised module processes (router, delivery, scheduling, your own), keeps one
 * ordered event stream, manages roster routes, resolves and delivers with trust and idempotency,
 * dispatches schedules that inject work into members, and shuts down in order. `createRpcHandler`
 * serves it as JSON-RPC 2.0 from a registry of methods; `loadAppConfig` and `validateConfigFiles` read
 * an app's config directory. HTTP lives on `mobkit/http`, the CLI and stdio gateway on `mobkit/cli`:
 * this entry loads neither Express nor the reference app. The most used names of every `@mobkit/*`
 * package are re-exported.
 * @packageDocumentation
 */
export { UnifiedRuntime, type RuntimePurgeReport } from './runtime/unified-runtime.js';
export { UnifiedRuntimeBuilder, type RuntimeParts } from './runtime/builder.js';
export {
  DEFAULT_DRAIN_TIMEOUT_MS,
  CORE_MODULE_MCP_TIMEOUT_MS,
  type EventLogWriterBounds,
  type RuntimeErrorEvent,
  type RuntimeSettings,
} from './runtime/settings.js';
export { PERSISTENT_STATE_FILE, type StoreChoice, type OpenedStore } from './runtime/store-choice.js';
export {
  EVENT_LOG_KINDS,
  type EventLogKind,
  type LoggedEnvelope,
  type PersistedEvent,
  type PersistedEventWire,
  persistedEventToWire,
} from './event-log/entries.js';
export {
  type EventQuery,
  QueryEventsParams,
  MAX_QUERY_EVENTS_LIMIT,
  DEFAULT_QUERY_EVENTS_LIMIT,
} from './event-log/query.js';
export {
  type EventRetention,
  DEFAULT_EVENT_RETENTION_MAX_AGE_MS,
  DEFAULT_EVENT_RETENTION_MAX_ROWS,
  DEFAULT_MEMORY_EVENT_RETENTION_MAX_ROWS,
  EVENT_RETENTION_INTERVAL_MS,
} from './event-log/retention.js';
export {
  EVENT_LOG_BATCH_SIZE,
  EVENT_LOG_QUEUE_CAPACITY,
  EVENT_LOG_RETRY_INITIAL_MS,
  EVENT_LOG_RETRY_MAX_MS,
  type EventLogWriterStatus,
} from './event-log/writer.js';
export type { PersistedEventListener } from './event-log/runtime-log.js';
export { MANAGED_ROUTE_PREFIX } from './runtime/managed-routes.js';
export { createModuleToolHost, type ModuleToolSource } from './runtime/module-tools.js';
export type {
  RuntimeMobStatus,
  RuntimeMemberSnapshot,
  RuntimeMessageContent,
  RuntimeToolResult,
  RuntimeModuleCallRequest,
  RuntimeModuleCallResult,
  RuntimeScheduleEvaluation,
  RuntimeSchedulerOptions,
  RuntimeScheduler,
} from './runtime/types.js';
export { MobBootstrapSpec, MobStorage, type MobBootstrapOptions, type LlmClientFactory } from './spec.js';
export {
  discoverySpecToSpawnSpec,
  type Discovery,
  type DiscoveredMember,
  type ErrorEvent,
  type MobHandle,
  type MobMemberSnapshot,
  type MobReconcileReport,
  type MobStopResult,
  type ReconcileRoutingReport,
  type ShutdownDrainReport,
  type SpawnSpecInput,
  type UnifiedRuntimeReconcileReport,
  type UnifiedRuntimeShutdownReport,
} from './mob.js';
export { EventHub, type EventHubOptions, type UnifiedEventListener } from './events.js';
export { payloadText, type DeliverySendInput, type DeliveryRecordView, type DeliveryHistoryQuery } from './delivery.js';
export type { ScheduleInput, RuntimeDispatchReport } from './scheduling.js';
export { createRpcHandler, defaultRpcMethodRegistry, type UnifiedRpcHandler } from './rpc/handler.js';
export {
  RpcMethodRegistry,
  rpcMethod,
  NO_PARAMS,
  type RpcMethod,
  type RpcMethodContext,
  type RpcParamsSpec,
  type RpcHandlerOptions,
} from './rpc/registry.js';
export { SUBSCRIBE_REPLAY_EVENT_CAP, KEEP_ALIVE_INTERVAL_MS, INTERACTION_SCAN_LIMIT } from './rpc/methods/events.js';
export { MemberSnapshotCodec, memberSnapshotToWire, type MemberSnapshotView } from './rpc/member-wire.js';
export { chooseLlm, PROVIDER_ENV_KEYS, type LlmChoice } from './llm.js';
export { loadAppConfig, checkMobkitToml, type AppConfig, type AppHttpSecurity } from './app-config/load.js';
export { MobkitTomlSchema, parseMobkitTomlSections, type MobkitTomlSections } from './app-config/sections.js';
export { resolveModuleCommand, MODULE_BINS } from './app-config/module-command.js';
export { appDecisionState, authOffDecisionState } from './app-config/decision-state.js';
export { displayPath } from './app-config/files.js';
export {
  chooseAppStore,
  redactUrl,
  StoreSection,
  DEFAULT_SQLITE_PATH,
  type AppStoreChoice,
  type AppStoreOverrides,
  type StoreSectionValue,
} from './app-config/store.js';
export {
  validateConfigText,
  validateConfigFiles,
  detectKind,
  locateKey,
  formatProblem,
  type ConfigFileKind,
  type ValidationProblem,
  type FileValidation,
} from './app-config/validate.js';

// One-import re-exports of the packages underneath.
export {
  MobKitError,
  isMobKitError,
  ERROR_CODES,
  MOBKIT_CONTRACT_VERSION,
  loadTrustedModulesFromToml,
  parseMobKitConfig,
  parseRuntimeOptions,
  normalizeEventLine,
  handleRpcText,
  agentEventPayloadToWire,
  type MobKitErrorCode,
  type MobKitConfig,
  type ModuleConfig,
  type RestartPolicy,
  type DiscoverySpec,
  type PreSpawnData,
  type RuntimeOptions,
  type EventEnvelope,
  type UnifiedEvent,
  type ModuleHealthState,
  type ModuleHealthTransition,
  type LifecycleStage,
  type LifecycleEvent,
  type AgentDiscoverySpec,
} from '@mobkit/core';
export { startModuleRuntime, type ModuleRuntime, type ModuleShutdownReport } from '@mobkit/supervisor';
export {
  MobDefinition,
  SpawnMemberSpec,
  sendMessageOnMob,
  createEmbeddedMob,
  createRkatRpcMob,
  TestClient,
  ScriptedLlmClient,
  OpenAiCompatibleClient,
  AnthropicClient,
  resolveLlmClient,
  type LlmClient,
  type MemberSnapshot,
  type MobRuntime,
  type MobEvent,
  type Profile,
  type EmbeddedMob,
} from '@mobkit/mob-adapter';
export {
  RouteTable,
  RoutingService,
  resolveRouting,
  type RoutingResolution,
  type RoutingResolveRequest,
  type RuntimeRoute,
} from '@mobkit/routing';
export {
  DeliveryService,
  MemorySink,
  WebhookSink,
  EmailSink,
  MobMemberSink,
  FileLedger,
  type DeliveryRecord,
  type SinkAdapter,
} from '@mobkit/delivery';
export {
  Dispatcher,
  Scheduler,
  evaluateSchedulesAtTick,
  parseSchedulesToml,
  type ScheduleDefinition,
  type ScheduleDispatchReport,
} from '@mobkit/scheduling';
export {
  buildRuntimeDecisionState,
  enforceConsoleRouteAccess,
  verifyJwt,
  JwksCache,
  type RuntimeDecisionInputs,
  type RuntimeDecisionState,
  type AuthPolicy,
  type ConsolePolicy,
} from '@mobkit/auth-policy';
