import { MobKitError } from '@mobkit/core';
import { parseRoutingOverrides, type RoutingOverrides } from './schema.js';

/** The parts of an MCP `tools/call` result that {@link overridesFromToolResult} reads. */
export interface ToolResultLike {
  isError?: boolean;
  content?: ReadonlyArray<{ type: string; text?: string }>;
  structuredContent?: unknown;
}

/**
 * Reads a router module's `routing.resolve` tool result as overrides: its structured content, else
 * its text blocks joined (the original fixture answers text). An `isError` result, or an answer that
 * is not overrides, is `InvalidRouterOverrides` quoting the module's text. Use it to wire a kept MCP
 * session into `resolveRouting`'s `router` dependency.
 */
export function overridesFromToolResult(result: ToolResultLike): RoutingOverrides {
  const text = (result.content ?? [])
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text as string)
    .join('');
  if (result.isError === true) {
    throw new MobKitError(
      'InvalidRouterOverrides',
      `the router module failed routing.resolve: ${text.slice(0, 300) || '(no text)'}`,
      {
        details: { response: text.slice(0, 300) },
      },
    );
  }
  if (result.structuredContent !== undefined && result.structuredContent !== null)
    return parseRoutingOverrides(result.structuredContent);
  return parseRoutingOverrides(text);
}
