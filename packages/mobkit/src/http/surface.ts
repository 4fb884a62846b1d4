import type { StoreJson } from '@mobkit/core';
import type { ReferenceAppRuntimeSurface, SurfaceAgentEvent } from '@mobkit/reference-app';
import type { PersistedEvent } from '../event-log/entries.js';
import { MAX_QUERY_EVENTS_LIMIT } from '../event-log/query.js';
import type { UnifiedRuntime } from '../runtime/unified-runtime.js';

/**
 * The {@link ReferenceAppRuntimeSurface} of a unified runtime: what the reference app router reads and
 * drives. Agent events (`subscribeAgentEvents`, `eventLog().readAgentEvents`) come from the runtime's
 * event log: each carries the log's `seq` (gapless over every event, durable across restarts) and is
 * delivered live only after it was appended, in seq order.
 */
export function referenceAppSurface(runtime: UnifiedRuntime): ReferenceAppRuntimeSurface {
  const mob = runtime.mobHandle();
  const eventLog = runtimeEventLog(runtime);
  return {
    mobId: () => mob.mobId,
    mobStatus: () => mob.status(),
    profiles: () =>
      Object.values(mob.definition.profiles).map((p) => ({
        name: p.name,
        model: p.model,
        externalAddressable: p.externalAddressable,
        peerDescription: p.peerDescription,
      })),
    listMembers: () => mob.listMembers(),
    getMember: (memberId) => mob.getMember(memberId),
    sendMessage: (memberId, text) => runtime.sendMessage(memberId, text),
    loadedModules: () => runtime.loadedModules(),
    isRunning: () => runtime.moduleIsRunning() && !runtime.isShuttingDown(),
    moduleHealthTransitions: () => runtime.moduleHealthTransitions(),
    events: () => runtime.moduleEvents(),
    subscribe: (listener) => runtime.subscribe(listener),
    eventLog: () => eventLog,
    subscribeAgentEvents: (listener, memberId) =>
      runtime.subscribeEventLog((event) => {
        if (event.kind !== 'agent' || (memberId !== undefined && event.memberId !== memberId)) return;
        listener(surfaceAgentEvent(event));
      }),
  };
}

/** The reference app's `SurfaceEventLog` (named through the surface until the package exports it). */
type SurfaceEventLog = NonNullable<ReturnType<NonNullable<ReferenceAppRuntimeSurface['eventLog']>>>;

/** The runtime's event log as the SSE routes resume from it. */
function runtimeEventLog(runtime: UnifiedRuntime): SurfaceEventLog {
  const { store } = runtime.storeStatus();
  return {
    store: { kind: store.kind, location: store.location, schemaVersion: store.schemaVersion },
    readAgentEvents: async ({ afterSeq, memberId, limit }) => {
      const events = await runtime.queryEvents({
        afterSeq,
        kinds: ['agent'],
        limit: Math.min(Math.max(1, Math.floor(limit)), MAX_QUERY_EVENTS_LIMIT),
        ...(memberId === undefined ? {} : { memberId }),
      });
      return events.map(surfaceAgentEvent);
    },
    bounds: async () => {
      const { firstSeq, lastSeq } = await runtime.eventLogBounds();
      return { firstSeq, lastSeq };
    },
  };
}

/** A logged agent event as the surface shows it: its payload is the `AgentEvent` JSON stored with it. */
function surfaceAgentEvent(event: PersistedEvent): SurfaceAgentEvent {
  const payload = event.event.payload;
  return {
    memberId: event.memberId ?? '',
    seq: event.seq,
    timestampMs: event.timestampMs,
    type: event.eventType,
    payload: isObject(payload) ? payload : { type: event.eventType },
  };
}

function isObject(value: StoreJson | undefined): value is { [key: string]: StoreJson } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
