import { authErrorCodes } from './codes/auth.js';
import { coreErrorCodes } from './codes/core.js';
import { deliveryErrorCodes } from './codes/delivery.js';
import { gatingErrorCodes } from './codes/gating.js';
import { memoryErrorCodes } from './codes/memory.js';
import { mobErrorCodes } from './codes/mob.js';
import { routingErrorCodes } from './codes/routing.js';
import { runtimeErrorCodes } from './codes/runtime.js';
import { schedulingErrorCodes } from './codes/scheduling.js';
import { storeErrorCodes } from './codes/store.js';
import { supervisorErrorCodes } from './codes/supervisor.js';
import type { ErrorCodeInfo } from './codes/types.js';

export type { ErrorCodeInfo } from './codes/types.js';

/**
 * The one table of MobKit error codes: each code's JSON-RPC number and HTTP status.
 * It is assembled from one section per package (see `./codes/*.ts`) so that each package
 * owns its own codes; a code that two sections define must map identically.
 */
export const ERROR_CODES = Object.freeze({
  ...coreErrorCodes,
  ...supervisorErrorCodes,
  ...mobErrorCodes,
  ...routingErrorCodes,
  ...deliveryErrorCodes,
  ...schedulingErrorCodes,
  ...authErrorCodes,
  ...runtimeErrorCodes,
  ...storeErrorCodes,
  ...gatingErrorCodes,
  ...memoryErrorCodes,
});

/** Every error code MobKit raises. */
export type MobKitErrorCode = keyof typeof ERROR_CODES;

/** The JSON-RPC number and HTTP status of `code` (unknown codes map to -32603 / 500). */
export function errorCodeInfo(code: string): ErrorCodeInfo {
  return (ERROR_CODES as Record<string, ErrorCodeInfo>)[code] ?? ERROR_CODES.Internal;
}

/** All sections, for the consistency test: a code defined twice must map identically. */
export const ERROR_CODE_SECTIONS: Readonly<Record<string, Readonly<Record<string, ErrorCodeInfo>>>> = Object.freeze({
  core: coreErrorCodes,
  supervisor: supervisorErrorCodes,
  mob: mobErrorCodes,
  routing: routingErrorCodes,
  delivery: deliveryErrorCodes,
  scheduling: schedulingErrorCodes,
  auth: authErrorCodes,
  runtime: runtimeErrorCodes,
  store: storeErrorCodes,
  gating: gatingErrorCodes,
  memory: memoryErrorCodes,
});
