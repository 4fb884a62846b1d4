#!/usr/bin/env node
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { toMobKitError } from '@mobkit/core';
import { loadSchedulingModuleConfig, type SchedulingModuleConfig } from '../config.js';
import { createSchedulingMcpServer } from '../mcp.js';

const USAGE =
  'usage: mobkit-scheduling [--config] <scheduling.toml>   (MCP server on stdio exposing scheduling.dispatch; MOBKIT_SCHEDULING_CONFIG also names the file)';

function configPath(argv: string[]): string | undefined {
  const args = [...argv];
  let path: string | undefined;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--config' || arg === '-c') {
      path = args.shift();
      if (path === undefined) throw new Error(`--config needs a path\n${USAGE}`);
    } else if (arg.startsWith('--config=')) {
      path = arg.slice('--config='.length);
    } else if (!arg.startsWith('-') && path === undefined) {
      path = arg;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  const fromEnv = process.env.MOBKIT_SCHEDULING_CONFIG;
  return path ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : undefined);
}

async function main(): Promise<void> {
  let config: SchedulingModuleConfig | undefined;
  try {
    const path = configPath(process.argv.slice(2));
    if (path === undefined) process.stderr.write('mobkit-scheduling: no config given; dispatches answer {} (no runtime injection)\n');
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
