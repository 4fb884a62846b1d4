#!/usr/bin/env node
import { runStdioModule } from '@mobkit/module-kit';
import { loadDeliveryConfig } from '../config.js';
import { createDeliveryMcpServer } from '../module/server.js';

await runStdioModule({
  name: 'mobkit-delivery',
  usage:
    'usage: mobkit-delivery [--config] <delivery.toml>   (MCP server on stdio exposing delivery.send and delivery.history)',
  load(path, { usage }) {
    if (path === undefined) throw new Error(`a delivery TOML naming the sinks is required\n${usage}`);
    return loadDeliveryConfig(path);
  },
  create: createDeliveryMcpServer,
  close: ({ delivery }) => delivery.close(),
});
