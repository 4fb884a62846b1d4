import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { toMobKitError } from '@mobkit/core';

/**
 * A tool result carrying `value` as one JSON text block — what the original's modules answer and
 * every MCP client reads (no duplicate `structuredContent` copy, which would double the bytes per call).
 */
export function jsonToolResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

/**
 * A tool error result (`isError: true`) carrying the error as MobKit's `{code, message, details?}`
 * JSON; an error that is not a `MobKitError` answers code `Internal` with its message.
 */
export function errorToolResult(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(toMobKitError(error).toJSON()) }] };
}

/**
 * Wraps a tool handler that returns a JSON object: its value becomes {@link jsonToolResult}, and
 * whatever it throws (or rejects with) becomes {@link errorToolResult}, so a bad argument answers the
 * client instead of failing the call. Pass the result to `McpServer.registerTool` as the callback.
 */
export function jsonTool<Args extends unknown[]>(
  handler: (...args: Args) => Record<string, unknown> | Promise<Record<string, unknown>>,
): (...args: Args) => Promise<CallToolResult> {
  return async (...args) => {
    try {
      return jsonToolResult(await handler(...args));
    } catch (error) {
      return errorToolResult(error);
    }
  };
}
