/**
 * @mobkit/supervisor — MobKit's modules as supervised child processes: JSON-line and MCP modules,
 * the ready handshake, health transitions, restart budgets and backoff, monitoring after ready,
 * ordered shutdown of whole process groups, orphan accounting, and calls into modules.
 * @packageDocumentation
 */
export { startModuleRuntime } from './runtime.js';
export { SUPERVISOR_DEFAULTS, type StartModuleRuntimeOptions } from './options.js';
export type {
  ModuleRuntime,
  ModuleShutdownReport,
  RouteModuleCallRequest,
  RouteModuleCallResult,
  ModuleStatus,
  ModuleEventListener,
  ModuleToolsChangedListener,
} from './module-runtime.js';
export { CORE_MCP_MODULES } from './module-calls.js';
export { execaSpawner, type ProcessSpawner, type SpawnedProcess, type SpawnSpec, type ExitInfo } from './spawner.js';
export {
  parseToolJson,
  mcpToolErrorText,
  type McpToolResult,
  type McpOperation,
  type ModuleToolInfo,
  type McpCallToolOptions,
} from './mcp.js';
export { SupervisorError } from './errors.js';
export {
  superviseStart,
  crashRestartDelay,
  type StartPolicy,
  type StartDriver,
  type StartOutcome,
  type CrashBackoff,
} from './supervise.js';
export { isProcessAlive } from './proc.js';
export { StderrRing } from './stderr-ring.js';
