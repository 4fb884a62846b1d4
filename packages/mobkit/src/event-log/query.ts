import { type EventLogQuery, closedObject, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { EVENT_LOG_KINDS, type EventLogKind } from './entries.js';

/** Most events one query returns. */
export const MAX_QUERY_EVENTS_LIMIT = 1_000;
/** Events a query returns when it names no `limit`. */
export const DEFAULT_QUERY_EVENTS_LIMIT = 100;
/** Most entries of `kinds` or `event_types`. */
const MAX_FILTER_VALUES = 64;

/** A filter of {@link UnifiedRuntime.queryEvents}: spec 4.3's `EventQuery` plus kinds, a cursor and a limit; every field narrows. */
export interface EventQuery {
  /** Only events at or after this time (ms since the epoch, inclusive). */
  sinceMs?: number;
  /** Only events before this time (exclusive). */
  untilMs?: number;
  /** Only this member's events. */
  memberId?: string;
  /** Only these kinds (any of them). */
  kinds?: readonly EventLogKind[];
  /** Only these event types (any of them), e.g. `run_completed`, `dispatch`. */
  eventTypes?: readonly string[];
  /** Only events with a greater seq (a cursor: the last seq read). */
  afterSeq?: number;
  /** At most this many, 1..{@link MAX_QUERY_EVENTS_LIMIT}; default {@link DEFAULT_QUERY_EVENTS_LIMIT}. */
  limit?: number;
}

const integer = (min: number, max: number) =>
  z
    .number()
    .int({ message: 'must be an integer' })
    .min(min, { message: `must be >= ${min}` })
    .max(max, { message: `must be <= ${max}` });

const filterValues = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .min(1, { message: 'must not be empty (omit it to match every value)' })
    .max(MAX_FILTER_VALUES, { message: `takes at most ${MAX_FILTER_VALUES} values` });

const nonBlankString = z.string().trim().min(1, { message: 'must not be blank' });

/**
 * The params of `mobkit/query_events`, closed: an unknown field, a wrong type or a value out of
 * range is `-32602 Invalid params: <field>: …` naming the field.
 */
export const QueryEventsParams = closedObject({
  since_ms: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  until_ms: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  member_id: nonBlankString.optional(),
  kinds: filterValues(z.enum(EVENT_LOG_KINDS as [EventLogKind, ...EventLogKind[]])).optional(),
  event_types: filterValues(nonBlankString).optional(),
  after_seq: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  limit: integer(1, MAX_QUERY_EVENTS_LIMIT).optional(),
}).refine((p) => p.since_ms === undefined || p.until_ms === undefined || p.since_ms < p.until_ms, {
  message: 'must be less than until_ms',
  path: ['since_ms'],
});

/** The `mobkit/query_events` params as an {@link EventQuery}. */
export function eventQueryFromParams(p: z.output<typeof QueryEventsParams>): EventQuery {
  return {
    ...(p.since_ms === undefined ? {} : { sinceMs: p.since_ms }),
    ...(p.until_ms === undefined ? {} : { untilMs: p.until_ms }),
    ...(p.member_id === undefined ? {} : { memberId: p.member_id }),
    ...(p.kinds === undefined ? {} : { kinds: p.kinds }),
    ...(p.event_types === undefined ? {} : { eventTypes: p.event_types }),
    ...(p.after_seq === undefined ? {} : { afterSeq: p.after_seq }),
    ...(p.limit === undefined ? {} : { limit: p.limit }),
  };
}

/**
 * Checks a TypeScript {@link EventQuery} with the same rules as the RPC params (`InvalidInput`-family
 * errors naming the field, e.g. `limit: must be <= 1000`) and maps it onto the port's query, oldest first.
 */
export function toLogQuery(query: EventQuery): EventLogQuery {
  const checked = parseWithSchema(
    QueryEventsParams,
    {
      since_ms: query.sinceMs,
      until_ms: query.untilMs,
      member_id: query.memberId,
      kinds: query.kinds,
      event_types: query.eventTypes,
      after_seq: query.afterSeq,
      limit: query.limit,
    },
    { what: 'event query' },
  );
  return {
    ...(checked.after_seq === undefined ? {} : { afterSeq: checked.after_seq }),
    ...(checked.since_ms === undefined ? {} : { sinceMs: checked.since_ms }),
    ...(checked.until_ms === undefined ? {} : { untilMs: checked.until_ms }),
    ...(checked.member_id === undefined ? {} : { memberId: checked.member_id }),
    ...(checked.kinds === undefined ? {} : { kinds: checked.kinds }),
    ...(checked.event_types === undefined ? {} : { eventTypes: checked.event_types }),
    limit: checked.limit ?? DEFAULT_QUERY_EVENTS_LIMIT,
    order: 'asc',
  };
}
