import type { EventEnvelope } from '@mobkit/core';
import { SupervisorError, moduleError } from './errors.js';
import type { ModuleLauncher } from './launcher.js';
import type { McpCallToolOptions, McpSession, McpToolResult, ModuleToolInfo } from './mcp.js';
import type { RouteModuleCallRequest, RouteModuleCallResult } from './module-runtime.js';
import { type Instance, type ModuleTable, liveInstance } from './module-table.js';

/** Module ids whose core flows must go through MCP (spec §3.4). */
export const CORE_MCP_MODULES: readonly string[] = Object.freeze(['router', 'delivery', 'memory', 'scheduling']);

/** What module calls need from the runtime. */
export interface CallHost {
  table: ModuleTable;
  launcher: ModuleLauncher;
}

function mcpRequired(moduleId: string, flow: string, message: string): SupervisorError {
  return new SupervisorError('McpRequired', `${message} (set MOBKIT_MODULE_BOUNDARY=mcp in its pre_spawn env)`, {
    details: { moduleId, flow },
  });
}

/** The kept session of a loaded MCP module's live instance, else `ModuleNotConfigured`, `UnloadedModule`, `McpRequired` or `ModuleUnavailable`. */
function liveSession(
  host: CallHost,
  moduleId: string,
  flow: string,
  what: string,
): { session: McpSession; instance: Instance } {
  const slot = host.table.loadedSlot(moduleId);
  if (!slot.isMcp) {
    throw mcpRequired(moduleId, flow, `module "${moduleId}" is a JSON-line module; ${what} needs an MCP module`);
  }
  const instance = liveInstance(slot);
  return { session: instance.session as McpSession, instance }; // an MCP module's instance always holds its session
}

/**
 * The tool infos of a loaded MCP module's running instance (kept up to date by
 * `notifications/tools/list_changed`), sorted by name.
 */
export function moduleToolInfos(host: CallHost, moduleId: string): ModuleToolInfo[] {
  if (typeof moduleId !== 'string' || moduleId.trim() === '') {
    throw new SupervisorError(
      'InvalidInput',
      `module_id: expected a non-empty module id, got ${JSON.stringify(moduleId)}`,
      { details: { field: 'module_id' } },
    );
  }
  const { session } = liveSession(host, moduleId, 'list_tools', 'a tool list');
  return session.toolInfos.map((t) => ({ ...t }));
}

/**
 * Calls MCP tool `tool` of a loaded module on its kept session. The tool list is refreshed once
 * before a tool is declared missing (`ToolNotFound`, listing the tools there are). An aborted
 * `options.signal` fails the call with `Aborted` (the module is sent `notifications/cancelled`).
 */
export async function callModuleTool(
  host: CallHost,
  moduleId: string,
  tool: string,
  args: Record<string, unknown>,
  timeoutMs: number,
  options: McpCallToolOptions = {},
): Promise<McpToolResult> {
  if (typeof tool !== 'string' || tool.trim() === '') {
    throw new SupervisorError('InvalidInput', `tool: expected a non-empty tool name, got ${JSON.stringify(tool)}`, {
      details: { field: 'tool', moduleId },
    });
  }
  const argsValue: unknown = args ?? {};
  if (typeof argsValue !== 'object' || argsValue === null || Array.isArray(argsValue)) {
    throw new SupervisorError(
      'InvalidInput',
      `arguments: expected a JSON object for tool "${tool}" of module "${moduleId}", got ${Array.isArray(argsValue) ? 'array' : typeof argsValue}`,
      { details: { field: 'arguments', moduleId, tool } },
    );
  }
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new SupervisorError(
      'InvalidInput',
      `signal: expected an AbortSignal for tool "${tool}" of module "${moduleId}"`,
      {
        details: { field: 'signal', moduleId, tool },
      },
    );
  }
  const { session, instance } = liveSession(host, moduleId, `call_tool:${tool}`, `tool "${tool}"`);
  if (signal?.aborted) {
    throw moduleError(
      'Aborted',
      moduleId,
      `MCP module "${moduleId}" tool "${tool}" (operation call_tool:${tool}) was cancelled before it was called`,
      { tool, operation: `call_tool:${tool}` },
    );
  }
  if (!instance.tools.includes(tool)) {
    instance.tools = await session.listTools(timeoutMs);
    if (!instance.tools.includes(tool)) {
      throw new SupervisorError(
        'ToolNotFound',
        `MCP module "${moduleId}" has no tool "${tool}"; available tools: ${instance.tools.length === 0 ? '(none)' : instance.tools.join(', ')}`,
        { details: { moduleId, tool, availableTools: [...instance.tools] } },
      );
    }
  }
  return session.callTool(tool, argsValue as Record<string, unknown>, timeoutMs, signal ? { signal } : {});
}

/**
 * A generic call (spec §3.7): an MCP module answers with tool `method`; a JSON-line module that
 * is not a core module is started once and answers with its first event's payload (as in the
 * original, `params` are not delivered to it).
 */
export async function routeModuleCall(
  host: CallHost,
  request: RouteModuleCallRequest,
  timeoutMs: number,
): Promise<RouteModuleCallResult> {
  const { moduleId, method } = request ?? ({} as RouteModuleCallRequest);
  if (typeof moduleId !== 'string' || moduleId.trim() === '') {
    throw new SupervisorError(
      'InvalidInput',
      `module_id: expected a non-empty string, got ${JSON.stringify(moduleId)}`,
      {
        details: { field: 'module_id' },
      },
    );
  }
  if (typeof method !== 'string' || method.trim() === '') {
    throw new SupervisorError('InvalidInput', `method: expected a non-empty string, got ${JSON.stringify(method)}`, {
      details: { field: 'method', moduleId },
    });
  }
  const slot = host.table.loadedSlot(moduleId);
  if (slot.isMcp) {
    const params = request.params ?? {};
    const result = await callModuleTool(host, moduleId, method, params as Record<string, unknown>, timeoutMs);
    return { moduleId, method, payload: result.payload };
  }
  if (CORE_MCP_MODULES.includes(moduleId)) {
    throw mcpRequired(
      moduleId,
      method,
      `module "${moduleId}" is a core module and must be an MCP module for "${method}"`,
    );
  }
  const event: EventEnvelope = await host.launcher.firstEvent(slot, timeoutMs);
  if (event.event.kind !== 'module' || event.event.module !== moduleId) {
    const got = event.event.kind === 'module' ? `module "${event.event.module}"` : `agent "${event.event.agentId}"`;
    throw new SupervisorError(
      'UnexpectedRouteResponse',
      `module "${moduleId}" answered "${method}" with an event of ${got}`,
      { details: { moduleId, method, eventId: event.eventId } },
    );
  }
  return { moduleId, method, payload: event.event.payload };
}
