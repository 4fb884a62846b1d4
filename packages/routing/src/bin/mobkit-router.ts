#!/usr/bin/env node
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseConfigArgv, toMobKitError } from '@mobkit/core';
import { loadRoutingConfig, type RoutingConfig } from '../config.js';
import { createRouterMcpServer } from '../mcp.js';

const USAGE = 'usage: mobkit-router [--config] <routing.toml>   (MCP server on stdio exposing routing.resolve)';

function configPath(argv: string[]): string | undefined {
  const parsed = parseConfigArgv(argv, USAGE);
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return parsed.configPath;
}

async function main(): Promise<void> {
  let config: RoutingConfig | undefined;
  try {
    const path = configPath(process.argv.slice(2));
    if (path === undefined)
      process.stderr.write('mobkit-router: no routing TOML given; resolving with the built-in defaults only\n');
    else config = loadRoutingConfig(path);
  } catch (error) {
    process.stderr.write(`mobkit-router: ${toMobKitError(error, 'InvalidConfig').message}\n`);
    process.exit(2);
  }
  const { server } = createRouterMcpServer(config === undefined ? {} : { config });
  const transport = new StdioServerTransport();
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.connect(transport);
}

void main();
