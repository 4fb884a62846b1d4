import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { MobKitError, toMobKitError } from '@mobkit/core';
import type { RoutingConfig } from './config.js';
import { RoutingService, type RoutingResolvedEvent } from './resolve.js';
import {
  parseRoutingOverrides,
  parseRoutingResolveRequest,
  routingOverridesToWire,
  routingResolutionToWire,
  runtimeRouteToWire,
  type RoutingOverrides,
} from './schema.js';

/** Package version reported as the MCP server version. */
export const ROUTING_PACKAGE_VERSION = '0.1.0';

/** Options of {@link createRouterMcpServer}. */
export interface RouterMcpServerOptions {
  /** Defaults and runtime routes (from a routing TOML file); none when omitted. */
  config?: RoutingConfig;
  /** Receives the `router/resolved` event of each resolution. */
  emit?: (event: RoutingResolvedEvent) => void;
}

/**
 * A tool result carrying JSON as one text block — what the original's modules answer and every MCP
 * client reads (no duplicate structured copy, which halves the bytes per call).
 */
export function jsonToolResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

/** A tool error result carrying `{code, message, details?}` of a MobKit error. */
export function errorToolResult(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(toMobKitError(error).toJSON()) }] };
}

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

const anyField = (description: string) => z.unknown().optional().describe(description);

/**
 * Builds the `router` module as an MCP server (not yet connected): tool `routing.resolve` takes a
 * `RoutingResolveRequest` (`{recipient, channel?, retry_max?, backoff_ms?, rate_limit_per_minute?}`)
 * and answers the whole resolution in wire form — the config's `[defaults]` act as router overrides
 * and its `[[routes]]` as runtime routes. A MobKit runtime reads the answer as overrides. Tool
 * `routing.routes.list` lists the configured routes. Bad input answers `isError` with `{code, message}`.
 */
export function createRouterMcpServer(options: RouterMcpServerOptions = {}): {
  server: McpServer;
  routing: RoutingService;
} {
  const config = options.config ?? { defaults: {}, routes: [] };
  const defaults = routingOverridesToWire(config.defaults);
  const routing = new RoutingService({
    routes: config.routes,
    router: Object.keys(defaults).length === 0 ? undefined : () => defaults,
    ...(options.emit === undefined ? {} : { emit: options.emit }),
  });
  const server = new McpServer({ name: 'mobkit-router', version: ROUTING_PACKAGE_VERSION });
  server.registerTool(
    'routing.resolve',
    {
      description:
        'Resolve where a recipient on a channel goes (sink, target module, retry and rate policy). Returns a RoutingResolution {route_id, recipient, channel, sink, target_module, retry_max, backoff_ms, rate_limit_per_minute}.',
      inputSchema: z.looseObject({
        recipient: anyField('who to reach (string, required)'),
        channel: anyField('channel (string, default "notification")'),
        retry_max: anyField('retries after the first attempt (integer 0..10, default 1)'),
        backoff_ms: anyField('base wait between attempts in ms (integer, default 250)'),
        rate_limit_per_minute: anyField('successful sends per minute (integer > 0, default 2)'),
      }),
    },
    async (args) => {
      try {
        const request = parseRoutingResolveRequest(args);
        const resolution = await routing.resolve(request);
        return jsonToolResult(routingResolutionToWire(resolution));
      } catch (error) {
        return errorToolResult(error);
      }
    },
  );
  server.registerTool(
    'routing.routes.list',
    {
      description: 'List the runtime routes configured in this router, sorted by route_key.',
      inputSchema: z.looseObject({}),
    },
    async () => jsonToolResult({ routes: routing.routes.list().map(runtimeRouteToWire) }),
  );
  return { server, routing };
}
