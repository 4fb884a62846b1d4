import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { jsonTool } from '@mobkit/module-kit';
import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import type { RoutingConfig } from '../config.js';
import { RoutingService, type RoutingResolvedEvent } from '../resolve.js';
import {
  parseRoutingResolveRequest,
  routingOverridesToWire,
  routingResolutionToWire,
  runtimeRouteToWire,
} from '../schema.js';

/** Options of {@link createRouterMcpServer}. */
export interface RouterMcpServerOptions {
  /** Defaults and runtime routes (from a routing TOML file); none when omitted. */
  config?: RoutingConfig;
  /** Receives the `router/resolved` event of each resolution. */
  emit?: (event: RoutingResolvedEvent) => void;
}

const anyField = (description: string) => z.unknown().optional().describe(description);

/**
 * Builds the `router` module as an MCP server (not yet connected), announced as `mobkit-router` with
 * this package's version: tool `routing.resolve` takes a `RoutingResolveRequest`
 * (`{recipient, channel?, retry_max?, backoff_ms?, rate_limit_per_minute?}`) and answers the whole
 * resolution in wire form — the config's `[defaults]` act as router overrides and its `[[routes]]` as
 * runtime routes. A MobKit runtime reads the answer as overrides. Tool `routing.routes.list` lists
 * the configured routes. Bad input answers `isError` with `{code, message}`.
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
  const server = new McpServer({ name: 'mobkit-router', version: pkg.version });
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
    jsonTool(async (args) => routingResolutionToWire(await routing.resolve(parseRoutingResolveRequest(args)))),
  );
  server.registerTool(
    'routing.routes.list',
    {
      description: 'List the runtime routes configured in this router, sorted by route_key.',
      inputSchema: z.looseObject({}),
    },
    jsonTool(() => ({ routes: routing.routes.list().map(runtimeRouteToWire) })),
  );
  return { server, routing };
}
