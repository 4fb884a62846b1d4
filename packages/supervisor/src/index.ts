/**
 * @mobkit/supervisor — MobKit's modules as supervised child processes: JSON-line and MCP modules,
 * the ready handshake, health transitions, restart budgets and backoff, monitoring after ready,
 * ordered shutdown of whole process groups, orphan accounting, and calls into modules.
 * @packageDocumentation
 */
export {
  startModuleRuntime,
  CORE_MCP_MODULES,
  SUPERVISOR_DEFAULTS,
  type ModuleRuntime,
  type StartModuleRuntimeOptions,
  type ModuleShutdownReport,
  type RouteModuleCallRequest,
  type RouteModuleCallResult,
  type ModuleStatus,
  type ModuleEventListener,
} from './runtime.js';
export { parseToolJson, type McpToolResult, type McpOperation } from './mcp.js';
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
