import type { ErrorCodeInfo } from './types.js';

/** Codes raised by schedules: validation, evaluation, dispatch. Reuse a code from core.ts when the meaning is the same. */
export const schedulingErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
