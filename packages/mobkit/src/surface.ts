import type { MobEvent } from '@mobkit/mob-adapter';
import type { ReferenceAppRuntimeSurface, SurfaceAgentEvent } from '@mobkit/reference-app';
import type { UnifiedRuntime } from './runtime.js';

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * An agent event payload in the original's snake_case wire form (`sessionId` → `session_id`,
 * `usage.inputTokens` → `usage.input_tokens`); tool `args` and `result` are kept as they are.
 */
export function agentEventPayloadToWire(
  payload: Extract<MobEvent, { kind: 'agent' }>['event'],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'usage' && value && typeof value === 'object') {
      out.usage = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [snake(k), v]));
    } else {
      out[snake(key)] = value;
    }
  }
  return out;
}

/** The {@link ReferenceAppRuntimeSurface} of a unified runtime. */
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
