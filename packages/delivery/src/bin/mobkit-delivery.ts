#!/usr/bin/env node
import { runStdioModule } from '@mobkit/module-kit';
import { loadDeliveryConfig } from '../config.js';
import { createDeliveryMcpServer } from '../module/server.js';
import { WebhookSink } from '../sinks/webhook.js';

await runStdioModule({
  name: 'mobkit-delivery',
  usage:
    'usage: mobkit-delivery [--config] <delivery.toml>   (MCP server on stdio exposing delivery.send and delivery.history)',
  load(path, { usage }) {
    if (path === undefined) throw new Error(`a delivery TOML naming the sinks is required\n${usage}`);
    const config = loadDeliveryConfig(path);
    for (const [name, sink] of Object.entries(config.sinks)) {
      if (sink instanceof WebhookSink && !sink.signed) {
        process.stderr.write(
          `mobkit-delivery: sinks.${name}: no secret or secret_env configured; its webhook requests are UNSIGNED (receivers cannot verify them)\n`,
        );
      }
    }
    return config;
  },
  create: createDeliveryMcpServer,
  close: ({ delivery }) => delivery.close(),
});
