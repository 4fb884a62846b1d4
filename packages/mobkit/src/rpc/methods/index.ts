import type { RpcMethod } from '../registry.js';
import { coreMethods } from './core.js';
import { deliveryMethods } from './delivery.js';
import { eventMethods } from './events.js';
import { memberApiMethods } from './member-api.js';
import { memberMethods } from './members.js';
import { moduleMethods } from './modules.js';
import { routingMethods } from './routing.js';
import { schedulingMethods } from './scheduling.js';
import { sessionStoreMethods } from './session-store.js';

/**
 * Every subsystem's JSON-RPC methods, one group per file. A new subsystem adds its methods in a file
 * of its own and one entry here; nothing else changes (capabilities come from the registry).
 */
export const METHOD_GROUPS: ReadonlyArray<readonly RpcMethod[]> = [
  coreMethods,
  memberMethods,
  memberApiMethods,
  moduleMethods,
  routingMethods,
  deliveryMethods,
  schedulingMethods,
  eventMethods,
  sessionStoreMethods,
];
