import type { ErrorCodeInfo } from './types.js';

/** Codes raised by the UnifiedRuntime, its JSON-RPC methods and the reference app. Reuse a code from core.ts when the meaning is the same. */
export const runtimeErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
