/**
 * @mobkit/core — the types, wire formats, module protocol, JSON-RPC framing and errors that every
 * MobKit-TS package shares. Zod schemas are the single source of truth: each wire shape has one codec
 * (`…Schema`) that parses the snake_case wire form into a camelCase object and encodes it back; each
 * `…ToWire` is that codec's encoder ({@link wireEncoder}), never a hand-written twin.
 * @packageDocumentation
 */
export {
  ERROR_CODES,
  ERROR_CODE_SECTIONS,
  errorCodeInfo,
  type ErrorCodeInfo,
  type MobKitErrorCode,
} from './errors/codes.js';
export { MobKitError, isMobKitError, toMobKitError, type MobKitErrorOptions } from './errors/error.js';
export {
  parseWithSchema,
  parseJsonText,
  formatPath,
  describeType,
  cutLine,
  quoteLine,
  type ParseWithSchemaOptions,
} from './schema.js';
export { parseTomlText } from './toml.js';
export { wireCodec, wireEncoder } from './codec.js';
export { parseConfigArgv, type ConfigArgv } from './argv.js';
export {
  RestartPolicySchema,
  ModuleConfigWireSchema,
  ModuleConfigSchema,
  parseModuleConfig,
  moduleConfigToWire,
  DiscoverySpecSchema,
  parseDiscoverySpec,
  discoverySpecToWire,
  PreSpawnDataWireSchema,
  PreSpawnDataSchema,
  parsePreSpawnData,
  preSpawnDataToWire,
  MobKitConfigWireSchema,
  MobKitConfigSchema,
  parseMobKitConfig,
  mobKitConfigToWire,
  MemoryBackendSchema,
  RuntimeOptionsWireSchema,
  RuntimeOptionsSchema,
  parseRuntimeOptions,
  defaultRuntimeOptions,
  runtimeOptionsToWire,
  AgentDiscoverySpecWireSchema,
  AgentDiscoverySpecSchema,
  parseAgentDiscoverySpec,
  agentDiscoverySpecToWire,
  type RestartPolicy,
  type ModuleConfig,
  type ModuleConfigWire,
  type DiscoverySpec,
  type PreSpawnData,
  type PreSpawnDataWire,
  type MobKitConfig,
  type RuntimeOptions,
  type RuntimeOptionsWire,
  type AgentDiscoverySpec,
  type AgentDiscoverySpecWire,
} from './config.js';
export {
  EventSourceSchema,
  AgentEventWireSchema,
  ModuleEventWireSchema,
  UnifiedEventWireSchema,
  UnifiedEventSchema,
  unifiedEventToWire,
  EventEnvelopeWireSchema,
  EventEnvelopeSchema,
  parseEventEnvelope,
  eventEnvelopeToWire,
  ModuleHealthStateSchema,
  ModuleHealthTransitionWireSchema,
  ModuleHealthTransitionSchema,
  parseModuleHealthTransition,
  moduleHealthTransitionToWire,
  LifecycleStageSchema,
  LifecycleEventSchema,
  parseLifecycleEvent,
  type EventSource,
  type AgentEvent,
  type ModuleEvent,
  type UnifiedEvent,
  type UnifiedEventWire,
  type EventEnvelope,
  type EventEnvelopeWire,
  type ModuleHealthState,
  type ModuleHealthTransition,
  type LifecycleStage,
  type LifecycleEvent,
} from './events.js';
export {
  parseUnifiedEventLine,
  parseModuleEventLine,
  normalizeEventLine,
  compareEvents,
  insertEventSorted,
} from './protocol.js';
export { loadTrustedModulesFromToml } from './trust.js';
export {
  RouteResolutionWireSchema,
  RouteResolutionSchema,
  parseRouteResolution,
  routeResolutionToWire,
  type RouteResolution,
  type RouteResolutionWire,
  type TrustedResolutionLookup,
} from './resolution.js';
export {
  MOBKIT_CONTRACT_VERSION,
  MAX_SCHEDULES_PER_REQUEST,
  RpcCapabilitiesSchema,
  parseRpcCapabilities,
  rpcCapabilitiesToWire,
  type RpcCapabilities,
} from './capabilities.js';
export {
  RPC_ERROR,
  isNotification,
  rpcResult,
  rpcError,
  rpcErrorFromException,
  parseRpcMessage,
  parseRpcParams,
  methodNotFound,
  handleRpcText,
  type RpcId,
  type RpcRequest,
  type RpcErrorObject,
  type RpcSuccessResponse,
  type RpcErrorResponse,
  type RpcResponse,
  type RpcEntry,
  type RpcMessage,
  type RpcHandler,
} from './jsonrpc.js';
export { systemClock, ManualClock, sequenceId, SequenceIds, type Clock } from './clock.js';
export {
  AgentEventPayloadCodec,
  agentEventPayloadToWire,
  agentEventPayloadFromWire,
  type AgentEventPayload,
  type AgentEventPayloadWire,
  type AgentEventType,
  type TokenUsage,
  type StopReason,
} from './agent-event.js';
export {
  RuntimeModeSchema,
  ContentInputSchema,
  SpawnSpecWireSchema,
  SpawnSpecSchema,
  SpawnSpecCodec,
  parseSpawnSpec,
  normalizeSpawnSpec,
  spawnSpecToWire,
  type RuntimeMode,
  type ContentBlock,
  type ContentInput,
  type SpawnSpec,
  type SpawnSpecWire,
  type SpawnSpecParseOptions,
} from './spawn-spec.js';
