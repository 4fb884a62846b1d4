#!/usr/bin/env node
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseConfigArgv, toMobKitError } from '@mobkit/core';
import { loadDeliveryConfig, type DeliveryConfig } from '../config.js';
import { createDeliveryMcpServer } from '../mcp.js';

const USAGE =
  'usage: mobkit-delivery [--config] <delivery.toml>   (MCP server on stdio exposing delivery.send and delivery.history)';

function configPath(argv: string[]): string {
  const parsed = parseConfigArgv(argv, USAGE);
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (parsed.configPath === undefined) throw new Error(`a delivery TOML naming the sinks is required\n${USAGE}`);
  return parsed.configPath;
}

async function main(): Promise<void> {
  let config: DeliveryConfig;
  let started: Awaited<ReturnType<typeof createDeliveryMcpServer>>;
  try {
    config = loadDeliveryConfig(configPath(process.argv.slice(2)));
    started = await createDeliveryMcpServer(config);
  } catch (error) {
    process.stderr.write(`mobkit-delivery: ${toMobKitError(error, 'InvalidConfig').message}\n`);
    process.exit(2);
  }
  const { server, delivery } = started;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void delivery
      .close()
      .catch(() => undefined)
      .then(() => server.close())
      .finally(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await server.connect(new StdioServerTransport());
}

void main();
