import type { ErrorCodeInfo } from './types.js';

/** Codes raised by the UnifiedRuntime, its JSON-RPC methods and the reference app. Reuse a code from core.ts when the meaning is the same. */
export const runtimeErrorCodes = {
  MissingRequiredField: {
    rpc: -32602,
    http: 400,
    summary: 'a required UnifiedRuntime builder field (mob spec, module config, timeout) was not set',
  },
  ModuleStartupFailed: {
    rpc: -32000,
    http: 503,
    summary: 'the module runtime failed to start; the mob was stopped again (rollback)',
  },
  ModuleStartupRollbackFailed: {
    rpc: -32603,
    http: 500,
    summary: 'the module runtime failed to start and stopping the mob again failed too',
  },
  PreSpawnHookFailed: { rpc: -32000, http: 500, summary: 'the pre-spawn hook threw during bootstrap' },
  DiscoveryFailed: { rpc: -32000, http: 500, summary: 'agent discovery failed during bootstrap' },
  RuntimeShuttingDown: { rpc: -32000, http: 503, summary: 'the runtime is shutting down and accepts no new work' },
  SchedulingModuleFailed: { rpc: -32000, http: 502, summary: 'the scheduling module call failed' },
  MissingAgentId: { rpc: -32602, http: 400, summary: 'an agent-scoped event subscription has no agent_id' },
  InvalidAgentId: { rpc: -32602, http: 400, summary: 'an event subscription agent_id is blank' },
  EmptyCheckpoint: { rpc: -32602, http: 400, summary: 'an event subscription last_event_id is blank' },
  UnknownCheckpoint: {
    rpc: -32602,
    http: 409,
    summary: 'an event subscription last_event_id is not in the replay window',
  },
  NotFound: { rpc: -32601, http: 404, summary: 'no such HTTP route or console asset' },
  TooManyStreams: {
    rpc: -32000,
    http: 503,
    summary: 'the cap of open SSE streams is reached; close one and retry',
  },
  UnsupportedMediaType: {
    rpc: -32600,
    http: 415,
    summary: 'a JSON request body was not sent as Content-Type: application/json',
  },
  CrossOriginRefused: {
    rpc: -32600,
    http: 403,
    summary: 'a state-changing HTTP request came from another origin than the server and its allowed origins',
  },
  HostNotAllowed: {
    rpc: -32600,
    http: 403,
    summary: 'the HTTP Host is not the bound address, a localhost name or an allowed host (DNS rebinding)',
  },
  Unsupported: {
    rpc: -32000,
    http: 422,
    summary: 'no mob runtime is attached, so agent routes are unsupported',
  },
  GatewayInitRequired: { rpc: -32600, http: 400, summary: 'the gateway expects mobkit/init as its first request' },
  GatewayBootstrapFailed: {
    rpc: -32603,
    http: 500,
    summary: 'the gateway could not boot the runtime from mobkit/init',
  },
} as const satisfies Record<string, ErrorCodeInfo>;
