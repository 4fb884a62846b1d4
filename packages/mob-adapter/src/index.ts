/**
 * @mobkit/mob-adapter — the `MobRuntime` port for MobKit-TS: mob definitions (TOML), an embedded
 * in-process mob (roster, wiring, comms tools, agent loop, events), LLM clients (TestClient,
 * ScriptedLlmClient, OpenAI-compatible and Anthropic streaming) and an adapter for an external
 * Meerkat `rkat-rpc` process.
 * @packageDocumentation
 */
export {
  MobDefinition,
  type Profile,
  type Budget,
  type ToolConfig,
  type SkillSource,
  type ProviderName,
  type RuntimeMode,
  type DefinitionDiagnostic,
  type MobDefinitionOptions,
} from './definition.js';
export {
  MobRuntimeError,
  MOB_CODE_BY_WIRE,
  type MobErrorWireCode,
  type MobRuntimeErrorOptions,
} from './errors.js';
export type {
  MobRuntime,
  MobStatus,
  MemberState,
  MemberSnapshot,
  ReconcileReport,
  ReconcileOptions,
  RunResult,
  RunTurnOptions,
  SendOptions,
  SubscribeOptions,
  MobEvent,
  AgentEventPayload,
  AgentEventType,
  MobLogPayload,
  ContentInput,
  ContentBlock,
  HandlingMode,
} from './types.js';
export {
  memberRef,
  type MobMemberApi,
  type MobCapabilities,
  type MemberApiMethod,
  type MemberStatus,
  type MemberStatusValue,
  type MemberRunState,
  type SessionRef,
  type SessionMessage,
  type SessionHistoryQuery,
  type SessionHistoryPage,
  type HelperOptions,
  type HelperResult,
  type ForkContext,
  type WaitReadyOptions,
  type WaitReadyResult,
  type CompletedMember,
  type PurgeOptions,
  type PurgeReport,
  type BudgetStatus,
} from './member-api.js';
export { SpawnMemberSpec, sendMessageOnMob, contentText, contentImages, type SpawnMemberSpecWire } from './spec.js';
export { DEFAULT_MAX_MESSAGE_BYTES, contentBytes } from './message-size.js';
export { DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_MESSAGES } from './embedded/history.js';
export { createEmbeddedMob } from './embedded/mob.js';
export type {
  EmbeddedMob,
  EmbeddedMobOptions,
  EmbeddedMobTuning,
  EmbeddedTool,
  ToolContext,
  HistoryRetention,
} from './embedded/types.js';
export type { MobLogEvent } from './shared/event-log.js';
export { MOB_COMMUNICATION_INSTRUCTION, COMMS_TOOLS } from './embedded/prompt.js';
export type {
  LlmClient,
  LlmEvent,
  LlmRequest,
  LlmMessage,
  ToolDef,
  ToolCall,
  ToolResult,
  Usage,
  StopReason,
  LlmImage,
  ProviderParams,
} from './llm/types.js';
export type {
  ToolOrigin,
  McpToolInfo,
  McpToolHost,
  McpCallOptions,
  ToolOutput,
  LocalTool,
  LocalToolContext,
} from './tools/types.js';
export type { McpServerConfig } from './tools/mcp/config.js';
export { McpHub, type McpHubOptions, type McpHubEvent, type McpTransportKind } from './tools/mcp/hub.js';
export { loadMcpHostFile } from './tools/mcp/host-file.js';
export { MCP_HOST_FILE, resolveMcpServers } from './embedded/tool-sources.js';
export type { ToolsUnavailableNotice } from './embedded/tools.js';
export { createShellTool, scrubShellEnv, type ShellToolOptions, type ShellResult } from './tools/shell.js';
export {
  createBuiltinTools,
  purgeMemberTasks,
  TASK_NAMESPACES,
  TASK_STATUSES,
  type BuiltinToolsOptions,
  type Task,
  type TaskStatus,
} from './tools/builtins.js';
export { TASK_WORKFLOW_SKILL } from './tools/task-workflow.js';
export { modelSupportsVision, VISION_MODELS, type VisionModelRule } from './llm/models.js';
export { TestClient, ScriptedLlmClient, type ScriptedReply, type ScriptStep } from './llm/test-client.js';
export { OpenAiCompatibleClient, openAiChatBody, type OpenAiCompatibleClientOptions } from './llm/openai.js';
export {
  AnthropicClient,
  anthropicBody,
  STRUCTURED_OUTPUT_TOOL,
  type AnthropicClientOptions,
  type AnthropicBodyOptions,
} from './llm/anthropic.js';
export { resolveLlmClient, providerForProfile, type ProviderEnv } from './llm/resolve.js';
export { parseSse, type SseEvent } from './llm/sse.js';
export { createRkatRpcMob, agentEventFromWire, type RkatRpcMob, type RkatRpcMobOptions } from './rpc/mob.js';
export { mapRkatRpcError, type RkatRpcErrorObject } from './rpc/errors.js';
export { RkatRpcClient, type RkatRpcProcessOptions, type RkatRpcNotification } from './rpc/client.js';
