/**
 * @mobkit/module-kit — what a MobKit module executable needs, for MobKit's own modules and yours:
 * {@link runStdioModule} (command line, config, MCP server on stdio, clean shutdown, startup errors),
 * the JSON tool-result helpers, {@link loadTomlFile} and {@link parseConfigArgv}. It depends on
 * `@mobkit/core` and the official MCP SDK; core itself stays free of the SDK.
 * @packageDocumentation
 */
export {
  runStdioModule,
  type StdioModuleSpec,
  type StdioModuleInstance,
  type StdioModuleLoadContext,
} from './run.js';
export { jsonTool, jsonToolResult, errorToolResult } from './tool-result.js';
export { loadTomlFile } from './toml.js';
export { parseConfigArgv, type ConfigArgv } from './argv.js';
