import type { ErrorCodeInfo } from './types.js';

/** Codes raised by module processes: spawn, handshake, MCP boundary, restarts, shutdown. Reuse a code from core.ts when the meaning is the same. */
export const supervisorErrorCodes = {
  ModuleNotConfigured: { rpc: -32602, http: 400, summary: 'a module id is not among the configured modules' },
  UnloadedModule: {
    rpc: -32601,
    http: 404,
    summary: 'the module is configured but not loaded (not started, stopped or exhausted its restarts)',
  },
  ModuleUnavailable: {
    rpc: -32000,
    http: 503,
    summary: 'the module is loaded but not healthy right now (failed or restarting)',
  },
  SpawnFailed: { rpc: -32000, http: 502, summary: 'the module process could not be started' },
  Timeout: {
    rpc: -32000,
    http: 504,
    summary: 'a module did not answer (ready line or MCP operation) within the timeout',
  },
  EmptyOutput: { rpc: -32000, http: 502, summary: 'the module closed stdout before writing its ready line' },
  InvalidModuleOutput: {
    rpc: -32000,
    http: 502,
    summary: 'a module stdout line is not a valid event envelope (normalization failed)',
  },
  ModuleIo: { rpc: -32000, http: 502, summary: 'reading from or writing to a module process failed' },
  TerminateFailed: { rpc: -32000, http: 500, summary: 'a module process could not be stopped' },
  McpRequired: {
    rpc: -32000,
    http: 409,
    summary: 'the flow needs an MCP module (MOBKIT_MODULE_BOUNDARY=mcp) but the module is a JSON-line module',
  },
  McpConnectionFailed: { rpc: -32000, http: 502, summary: 'the MCP initialize handshake with the module failed' },
  ToolListFailed: { rpc: -32000, http: 502, summary: 'the MCP tools/list request to the module failed' },
  ToolNotFound: {
    rpc: -32000,
    http: 404,
    summary: 'the MCP module does not offer that tool (details.availableTools lists them)',
  },
  ToolCallFailed: { rpc: -32000, http: 502, summary: 'the MCP tool call failed or returned isError' },
  InvalidToolPayload: { rpc: -32000, http: 502, summary: 'an MCP tool answer does not have the shape the flow needs' },
  InvalidJsonResponse: { rpc: -32000, http: 502, summary: 'an MCP tool answer is not the JSON the flow needs' },
  UnexpectedRouteResponse: {
    rpc: -32000,
    http: 502,
    summary: 'a routed module call answered with an event of another module',
  },
  RuntimeNotRunning: { rpc: -32000, http: 503, summary: 'the module runtime was shut down' },
} as const satisfies Record<string, ErrorCodeInfo>;
