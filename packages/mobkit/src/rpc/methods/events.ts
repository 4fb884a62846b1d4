import {
  type EventEnvelope,
  MobKitError,
  type UnifiedEvent,
  eventEnvelopeToWire,
  unifiedEventToWire,
} from '@mobkit/core';
import { z } from 'zod';
import type { UnifiedRuntime } from '../../runtime/unified-runtime.js';
import { type RpcMethod, rpcMethod } from '../registry.js';

/** Replay window of `mobkit/events/subscribe` (the original's `SUBSCRIBE_REPLAY_EVENT_CAP`). */
export const SUBSCRIBE_REPLAY_EVENT_CAP = 3;
/** Keep-alive interval advertised to event subscribers. */
export const KEEP_ALIVE_INTERVAL_MS = 15_000;

const SubscribeParams = z.strictObject({
  scope: z.enum(['mob', 'agent', 'interaction']).default('mob'),
  last_event_id: z.string().optional(),
  agent_id: z.string().optional(),
});
type SubscribeParams = z.output<typeof SubscribeParams>;

function eventsInScope(runtime: UnifiedRuntime, params: SubscribeParams): EventEnvelope<UnifiedEvent>[] {
  const all = runtime.moduleEvents();
  if (params.scope === 'interaction') return all.filter((e) => e.event.eventType.startsWith('interaction'));
  if (params.scope === 'mob') return all;
  if (params.agent_id === undefined)
    throw new MobKitError('MissingAgentId', 'Invalid params: agent_id is required for scope "agent"', {
      details: { field: 'agent_id' },
    });
  const agentId = params.agent_id.trim();
  if (agentId === '')
    throw new MobKitError('InvalidAgentId', 'Invalid params: agent_id must not be blank', {
      details: { field: 'agent_id' },
    });
  return all.filter((e) => e.event.kind === 'agent' && e.event.agentId === agentId);
}

/** The last events of the scope, from the checkpoint when one is given (it must be among them). */
function replayWindow(
  matches: EventEnvelope<UnifiedEvent>[],
  params: SubscribeParams,
): { replay: EventEnvelope<UnifiedEvent>[]; replayFrom: string | null } {
  const replay = matches.slice(-SUBSCRIBE_REPLAY_EVENT_CAP);
  if (params.last_event_id === undefined) return { replay, replayFrom: replay[0]?.eventId ?? null };
  const checkpoint = params.last_event_id.trim();
  if (checkpoint === '')
    throw new MobKitError('EmptyCheckpoint', 'Invalid params: last_event_id must not be blank', {
      details: { field: 'last_event_id' },
    });
  const at = replay.findIndex((e) => e.eventId === checkpoint);
  if (at < 0) {
    throw new MobKitError(
      'UnknownCheckpoint',
      `Invalid params: last_event_id "${checkpoint}" is not among the last ${SUBSCRIBE_REPLAY_EVENT_CAP} events of scope ${params.scope}`,
      { details: { field: 'last_event_id', last_event_id: checkpoint } },
    );
  }
  return { replay: replay.slice(at), replayFrom: checkpoint };
}

/** `mobkit/events/subscribe`: a replay of the last events of a scope, with their SSE frames. */
export const eventMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/events/subscribe', SubscribeParams, (params, { runtime }) => {
    const { replay, replayFrom } = replayWindow(eventsInScope(runtime, params), params);
    return {
      scope: params.scope,
      replay_from_event_id: replayFrom,
      keep_alive: { interval_ms: KEEP_ALIVE_INTERVAL_MS, event: 'keep-alive' },
      keep_alive_comment: ': keep-alive\n\n',
      event_frames: replay.map(
        (e) =>
          `id: ${e.eventId}\nevent: ${e.event.eventType}\ndata: ${JSON.stringify(unifiedEventToWire(e.event))}\n\n`,
      ),
      events: replay.map((e) => eventEnvelopeToWire(e)),
    };
  }),
];
