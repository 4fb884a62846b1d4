import { MobKitError } from '@mobkit/core';
import { z } from 'zod';
import { type PersistedEvent, persistedEventToWire } from '../../event-log/entries.js';
import { MAX_QUERY_EVENTS_LIMIT, QueryEventsParams, eventQueryFromParams } from '../../event-log/query.js';
import type { UnifiedRuntime } from '../../runtime/unified-runtime.js';
import { type RpcMethod, rpcMethod } from '../registry.js';

/** Replay window of `mobkit/events/subscribe` (the original's `SUBSCRIBE_REPLAY_EVENT_CAP`). */
export const SUBSCRIBE_REPLAY_EVENT_CAP = 3;
/** Keep-alive interval advertised to event subscribers. */
export const KEEP_ALIVE_INTERVAL_MS = 15_000;
/**
 * How far back (newest entries of the log) the `interaction` scope looks for events whose type
 * starts with `interaction`: the log indexes exact types, not prefixes, so this scope scans.
 */
export const INTERACTION_SCAN_LIMIT = 10_000;
const SCAN_PAGE = MAX_QUERY_EVENTS_LIMIT;
/**
 * How long a read waits for the events published before it to be appended (read-your-writes: a
 * snapshot taken right after an action includes its events). A store slower than this answers with
 * what is appended.
 */
const READ_FLUSH_WAIT_MS = 1_000;

const SubscribeParams = z.strictObject({
  scope: z.enum(['mob', 'agent', 'interaction']).default('mob'),
  last_event_id: z.string().optional(),
  agent_id: z.string().optional(),
});
type SubscribeParams = z.output<typeof SubscribeParams>;

/** The newest events of the scope (oldest first, at most the replay cap), read from the event log. */
async function newestInScope(runtime: UnifiedRuntime, params: SubscribeParams): Promise<PersistedEvent[]> {
  if (params.scope === 'mob') return (await runtime.newestEvents({}, SUBSCRIBE_REPLAY_EVENT_CAP)).reverse();
  if (params.scope === 'interaction') return (await newestInteractions(runtime)).reverse();
  if (params.agent_id === undefined)
    throw new MobKitError('MissingAgentId', 'Invalid params: agent_id is required for scope "agent"', {
      details: { field: 'agent_id' },
    });
  const agentId = params.agent_id.trim();
  if (agentId === '')
    throw new MobKitError('InvalidAgentId', 'Invalid params: agent_id must not be blank', {
      details: { field: 'agent_id' },
    });
  const newest = await runtime.newestEvents({ kinds: ['agent'], memberId: agentId }, SUBSCRIBE_REPLAY_EVENT_CAP);
  return newest.reverse();
}

/**
 * The newest interaction events (newest first), scanning the log back from its last seq one page of
 * seqs at a time, at most {@link INTERACTION_SCAN_LIMIT} seqs (the log indexes exact types, not prefixes).
 */
async function newestInteractions(runtime: UnifiedRuntime): Promise<PersistedEvent[]> {
  const found: PersistedEvent[] = [];
  const { firstSeq, lastSeq } = await runtime.eventLogBounds();
  const floor = Math.max(firstSeq - 1, lastSeq - INTERACTION_SCAN_LIMIT, 0);
  for (let high = lastSeq; high > floor && found.length < SUBSCRIBE_REPLAY_EVENT_CAP; high -= SCAN_PAGE) {
    const low = Math.max(high - SCAN_PAGE, floor);
    const page = await runtime.queryEvents({ afterSeq: low, limit: SCAN_PAGE });
    const matches = page.filter((e) => e.seq <= high && e.eventType.startsWith('interaction')).reverse();
    found.push(...matches.slice(0, SUBSCRIBE_REPLAY_EVENT_CAP - found.length));
  }
  return found;
}

/** The replay from the checkpoint when one is given (its seq must be among the window's). */
function replayWindow(
  window: PersistedEvent[],
  params: SubscribeParams,
): { replay: PersistedEvent[]; replayFrom: string | null } {
  if (params.last_event_id === undefined) return { replay: window, replayFrom: idOf(window[0]) };
  const checkpoint = params.last_event_id.trim();
  if (checkpoint === '')
    throw new MobKitError('EmptyCheckpoint', 'Invalid params: last_event_id must not be blank', {
      details: { field: 'last_event_id' },
    });
  const at = window.findIndex((e) => String(e.seq) === checkpoint);
  if (at < 0) {
    throw new MobKitError(
      'UnknownCheckpoint',
      `Invalid params: last_event_id "${checkpoint}" is not the seq of one of the last ${SUBSCRIBE_REPLAY_EVENT_CAP} events of scope ${params.scope}`,
      { details: { field: 'last_event_id', last_event_id: checkpoint } },
    );
  }
  return { replay: window.slice(at), replayFrom: checkpoint };
}

const idOf = (event: PersistedEvent | undefined): string | null => (event === undefined ? null : String(event.seq));

/**
 * `mobkit/events/subscribe`: a replay of the last events of a scope with their SSE frames, read from
 * the event log; a frame's `id` (and `replay_from_event_id`, and `last_event_id`) is the event's log
 * seq, which stays valid across restarts. `mobkit/query_events`: the log, filtered (spec 4.3 plus
 * kinds, a seq cursor and a limit ≤ 1,000), as `PersistedEvent` JSON.
 */
export const eventMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/events/subscribe', SubscribeParams, async (params, { runtime }) => {
    await runtime.flushEventLog(READ_FLUSH_WAIT_MS);
    const { replay, replayFrom } = replayWindow(await newestInScope(runtime, params), params);
    return {
      scope: params.scope,
      replay_from_event_id: replayFrom,
      keep_alive: { interval_ms: KEEP_ALIVE_INTERVAL_MS, event: 'keep-alive' },
      keep_alive_comment: ': keep-alive\n\n',
      event_frames: replay.map((e) => `id: ${e.seq}\nevent: ${e.eventType}\ndata: ${JSON.stringify(e.event)}\n\n`),
      events: replay.map((e) => ({
        event_id: e.id,
        source: e.event.kind === 'agent' ? 'agent' : 'module',
        timestamp_ms: e.timestampMs,
        seq: e.seq,
        event: e.event,
      })),
    };
  }),
  rpcMethod('mobkit/query_events', QueryEventsParams, async (params, { runtime }) => {
    await runtime.flushEventLog(READ_FLUSH_WAIT_MS);
    const events = await runtime.queryEvents(eventQueryFromParams(params));
    return events.map(persistedEventToWire);
  }),
];
