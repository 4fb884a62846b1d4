import { MAX_SCHEDULES_PER_REQUEST, MOBKIT_CONTRACT_VERSION } from '@mobkit/core';
import { NO_PARAMS, type RpcMethod, rpcMethod } from '../registry.js';
import { memberApiRpcName } from './member-api.js';

/**
 * `mobkit/status` and `mobkit/capabilities`: what runs, and which methods it serves. Status also
 * names the store (`store: {kind, location, schema_version}`) and the event log writer's counters
 * (`event_log: {last_seq, pending, dropped}`). Capabilities' `runtime_capabilities` says which member API
 * methods the mob answers (`member_api`, `mobkit/…` names; the others are `UnsupportedForMode`) and
 * whether its roster, sessions and histories survive a restart (`persistent`).
 */
export const coreMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/status', NO_PARAMS, (_params, { runtime, options }) => {
    const status: Record<string, unknown> = {
      contract_version: MOBKIT_CONTRACT_VERSION,
      running: runtime.moduleIsRunning() && !runtime.isShuttingDown(),
      loaded_modules: runtime.loadedModules(),
      mob_state: runtime.isShuttingDown() ? 'Stopping' : 'Running',
    };
    const { store, eventLog } = runtime.storeStatus();
    status.store = { kind: store.kind, location: store.location, schema_version: store.schemaVersion };
    status.event_log = { last_seq: eventLog.lastSeq, pending: eventLog.pending, dropped: eventLog.dropped };
    const url = options.httpBaseUrl?.();
    if (url !== undefined) status.http_base_url = url;
    return status;
  }),
  rpcMethod('mobkit/capabilities', NO_PARAMS, (_params, { runtime, methods }) => {
    const mob = runtime.mobHandle().capabilities;
    return {
      contract_version: MOBKIT_CONTRACT_VERSION,
      runtime_type: 'unified',
      methods,
      loaded_modules: runtime.loadedModules(),
      runtime_capabilities: {
        spawn_modes: ['module', 'member'],
        can_send_message: true,
        can_reconcile_members: true,
        can_route: true,
        can_deliver: true,
        can_schedule: true,
        can_subscribe_events: true,
        max_schedules_per_request: MAX_SCHEDULES_PER_REQUEST,
        member_api: mob.memberApi.map(memberApiRpcName).sort(),
        persistent: mob.persistent,
      },
    };
  }),
];
