#!/usr/bin/env node
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseConfigArgv, toMobKitError } from '@mobkit/core';
import { loadSchedulingModuleConfig, type SchedulingModuleConfig } from '../config.js';
import { createSchedulingMcpServer } from '../mcp.js';

const USAGE =
  'usage: mobkit-scheduling [--config] <scheduling.toml>   (MCP server on stdio exposing scheduling.dispatch; MOBKIT_SCHEDULING_CONFIG also names the file)';

function configPath(argv: string[]): string | undefined {
  const parsed = parseConfigArgv(argv, USAGE);
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const fromEnv = process.env.MOBKIT_SCHEDULING_CONFIG;
  return parsed.configPath ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : undefined);
}

async function main(): Promise<void> {
  let config: SchedulingModuleConfig | undefined;
  try {
    const path = configPath(process.argv.slice(2));
    if (path === undefined)
      process.stderr.write('mobkit-scheduling: no config given; dispatches answer {} (no runtime injection)\n');
    else config = loadSchedulingModuleConfig(path);
  } catch (error) {
    process.stderr.write(`mobkit-scheduling: ${toMobKitError(error, 'InvalidConfig').message}\n`);
    process.exit(2);
  }
  const server = createSchedulingMcpServer(config === undefined ? {} : { config });
  const transport = new StdioServerTransport();
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.connect(transport);
}

void main();
