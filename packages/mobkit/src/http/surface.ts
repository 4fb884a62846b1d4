import { agentEventPayloadToWire } from '@mobkit/core';
import type { ReferenceAppRuntimeSurface, SurfaceAgentEvent } from '@mobkit/reference-app';
import type { UnifiedRuntime } from '../runtime/unified-runtime.js';

/** The {@link ReferenceAppRuntimeSurface} of a unified runtime: what the reference app router reads and drives. */
export function referenceAppSurface(runtime: UnifiedRuntime): ReferenceAppRuntimeSurface {
  const mob = runtime.mobHandle();
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
    subscribeAgentEvents: (listener, memberId) =>
      mob.subscribe(
        (event) => {
          if (event.kind !== 'agent') return;
          const out: SurfaceAgentEvent = {
            memberId: event.memberId,
            seq: event.seq,
            timestampMs: event.timestampMs,
            type: event.event.type,
            payload: agentEventPayloadToWire(event.event),
          };
          listener(out);
        },
        memberId === undefined ? {} : { member: memberId },
      ),
  };
}
