import type { ErrorCodeInfo } from './types.js';

/** Codes raised by the mob: definitions, roster, members, LLM clients, rkat-rpc. Reuse a code from core.ts when the meaning is the same. */
export const mobErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
