import { MobKitError, isMobKitError } from '@mobkit/core';
import type { McpCallOptions, McpToolHost, McpToolInfo, ToolOutput } from '@mobkit/mob-adapter';
import { type McpToolResult, type ModuleRuntime, mcpToolErrorText } from '@mobkit/supervisor';

/**
 * What {@link createModuleToolHost} needs of the supervisor: a running module runtime's tool
 * infos, its tool calls on the kept MCP sessions, and its tool-list change notifications.
 */
export type ModuleToolSource = Pick<ModuleRuntime, 'moduleTools' | 'callTool' | 'onModuleToolsChanged'>;

/** The error a failure becomes: a message that names the module (the supervisor's code and details are kept). */
function namingModule(moduleId: string, error: unknown): Error {
  const named = `"${moduleId}"`;
  if (isMobKitError(error)) {
    if (error.message.includes(named)) return error;
    return new MobKitError(error.code, `module ${named}: ${error.message}`, {
      details: { ...error.details, moduleId },
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new MobKitError('Internal', `module ${named}: ${message}`, { details: { moduleId }, cause: error });
}

/** The text the model sees for a successful call: the result text, else the structured result (or payload) as JSON. */
function outputText(result: McpToolResult): string {
  if (result.text !== '') return result.text;
  if (result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return result.payload === '' || result.payload === undefined ? '' : JSON.stringify(result.payload);
}

/**
 * The tools of a runtime's supervised MCP modules (`[profiles.x.tools] modules = ["crm"]`) as an
 * {@link McpToolHost} for the mob's members, over the supervisor's kept sessions (no second
 * process): `listTools(id)` is module `id`'s tool infos, `callTool` calls on its session (an aborted
 * `options.signal` sends MCP `notifications/cancelled`), `onToolsChanged` follows
 * `notifications/tools/list_changed` and restarts.
 *
 * A tool's MCP `isError` result resolves `{content: <its error text>, isError: true}`; a timeout, a
 * dead or unloaded module, a JSON-line module or an unknown tool rejects with an `Error` whose
 * message names the module.
 */
export function createModuleToolHost(modules: ModuleToolSource): McpToolHost {
  if (
    modules === null ||
    typeof modules !== 'object' ||
    typeof modules.moduleTools !== 'function' ||
    typeof modules.callTool !== 'function' ||
    typeof modules.onModuleToolsChanged !== 'function'
  ) {
    throw new MobKitError(
      'InvalidInput',
      'modules: expected the module runtime (moduleTools, callTool and onModuleToolsChanged), e.g. the one startModuleRuntime returned',
      { details: { field: 'modules' } },
    );
  }
  return {
    async listTools(id: string): Promise<McpToolInfo[]> {
      try {
        const tools = await modules.moduleTools(id);
        return tools.map((t) => ({
          name: t.name,
          description: t.description,
          inputSchema: t.inputSchema,
          readOnly: t.readOnly,
        }));
      } catch (error) {
        throw namingModule(id, error);
      }
    },

    async callTool(
      id: string,
      tool: string,
      args: Record<string, unknown>,
      options: McpCallOptions,
    ): Promise<ToolOutput> {
      if (options === null || typeof options !== 'object') {
        throw new MobKitError(
          'InvalidInput',
          `options: expected { signal, timeoutMs } for tool "${tool}" of module "${id}"`,
          { details: { field: 'options', moduleId: id, tool } },
        );
      }
      let result: McpToolResult;
      try {
        result = await modules.callTool(id, tool, args, options.timeoutMs, { signal: options.signal });
      } catch (error) {
        const toolError = mcpToolErrorText(error);
        if (toolError !== undefined) return { content: toolError, isError: true };
        throw namingModule(id, error);
      }
      return { content: outputText(result), isError: false };
    },

    onToolsChanged(listener: (id: string) => void): () => void {
      return modules.onModuleToolsChanged(listener);
    },
  };
}
