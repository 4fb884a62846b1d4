import type { ErrorCodeInfo } from './types.js';

/** Codes raised by JWT/JWKS/OIDC verification and console access policy. Reuse a code from core.ts when the meaning is the same. */
export const authErrorCodes = {
} as const satisfies Record<string, ErrorCodeInfo>;
