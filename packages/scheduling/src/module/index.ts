/**
 * `@mobkit/scheduling/module` — the scheduling module as an MCP server, for module executables (the
 * `mobkit-scheduling` bin) and for serving it in-process over any MCP transport. Needs the optional
 * peers `@modelcontextprotocol/sdk` and `@mobkit/module-kit`; the package root never loads them.
 * @packageDocumentation
 */
export { createSchedulingMcpServer, type SchedulingMcpServerOptions } from './server.js';
