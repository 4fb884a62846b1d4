import type { ErrorCodeInfo } from './types.js';

/** Codes raised by delivery: trust checks, idempotency, rate limits, sinks. Reuse a code from core.ts when the meaning is the same. */
export const deliveryErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
