import type { ErrorCodeInfo } from './types.js';

/** Codes raised by route tables and route resolution. Reuse a code from core.ts when the meaning is the same. */
export const routingErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
