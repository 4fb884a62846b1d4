import type { ErrorCodeInfo } from './types.js';

/** Codes raised by module processes: spawn, handshake, MCP boundary, restarts, shutdown. Reuse a code from core.ts when the meaning is the same. */
export const supervisorErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
