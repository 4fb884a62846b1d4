/**
 * `@mobkit/routing/module` — the router as an MCP server, for module executables (the
 * `mobkit-router` bin) and for serving it in-process over any MCP transport. Needs the optional
 * peers `@modelcontextprotocol/sdk` and `@mobkit/module-kit`; the package root never loads them.
 * @packageDocumentation
 */
export { createRouterMcpServer, type RouterMcpServerOptions } from './server.js';
