/**
 * `@mobkit/delivery/module` — delivery as an MCP server, for module executables (the
 * `mobkit-delivery` bin) and for serving it in-process over any MCP transport. Needs the optional
 * peers `@modelcontextprotocol/sdk` and `@mobkit/module-kit`; the package root never loads them.
 * @packageDocumentation
 */
export { createDeliveryMcpServer } from './server.js';
