#!/usr/bin/env node
import { runStdioModule } from '@mobkit/module-kit';
import { loadRoutingConfig } from '../config.js';
import { createRouterMcpServer } from '../module/server.js';

await runStdioModule({
  name: 'mobkit-router',
  usage: 'usage: mobkit-router [--config] <routing.toml>   (MCP server on stdio exposing routing.resolve)',
  load(path, { log }) {
    if (path !== undefined) return loadRoutingConfig(path);
    log('no routing TOML given; resolving with the built-in defaults only');
    return undefined;
  },
  create: (config) => createRouterMcpServer(config === undefined ? {} : { config }),
});
