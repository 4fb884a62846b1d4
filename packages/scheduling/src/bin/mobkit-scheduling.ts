#!/usr/bin/env node
import { runStdioModule } from '@mobkit/module-kit';
import { loadSchedulingModuleConfig } from '../config.js';
import { createSchedulingMcpServer } from '../module/server.js';

await runStdioModule({
  name: 'mobkit-scheduling',
  usage:
    'usage: mobkit-scheduling [--config] <scheduling.toml>   (MCP server on stdio exposing scheduling.dispatch; MOBKIT_SCHEDULING_CONFIG also names the file)',
  configEnv: 'MOBKIT_SCHEDULING_CONFIG',
  load(path, { log }) {
    if (path !== undefined) return loadSchedulingModuleConfig(path);
    log('no config given; dispatches answer {} (no runtime injection)');
    return undefined;
  },
  create: (config) => createSchedulingMcpServer(config === undefined ? {} : { config }),
});
