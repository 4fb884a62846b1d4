import {
  type AgentEventPayload,
  type EventEnvelope,
  type EventLogEntry,
  type EventLogInput,
  type LifecycleEvent,
  type StoreJson,
  type UnifiedEvent,
  agentEventPayloadToWire,
  unifiedEventToWire,
} from '@mobkit/core';

/**
 * How the log classifies an event (its `kind` column, what `kinds` filters on): a member's `agent`
 * event, a supervised `module`'s event, the runtime's own (`runtime`: routing, injection,
 * `event_log.dropped` — a module event whose module is `runtime`), or a `lifecycle` stage.
 */
export type EventLogKind = 'agent' | 'module' | 'runtime' | 'lifecycle';

/** Every {@link EventLogKind}, for validation. */
export const EVENT_LOG_KINDS: readonly EventLogKind[] = ['agent', 'module', 'runtime', 'lifecycle'];

/** The module name the runtime's own events carry (`{kind:"module", module:"runtime", …}`). */
const RUNTIME_MODULE = 'runtime';

/**
 * The `data` of a log entry: the event envelope as the wire writes it (`event_id`, `source`,
 * `timestamp_ms`, `event`), where an agent event's `event` also carries its `payload` — the original's
 * snake_case `AgentEvent` JSON (`{"type":"text_delta","delta":"ok"}`), which the merged stream drops.
 * Every `text_delta` is stored as its own entry (they are not coalesced), so a client that resumes
 * mid-run replays the run's text so far, delta by delta.
 */
export interface LoggedEnvelope {
  event_id: string;
  source: 'agent' | 'module';
  timestamp_ms: number;
  event: { [key: string]: StoreJson };
}

/** One event of the log as `UnifiedRuntime.queryEvents` returns it (spec 4.3's `PersistedEvent`, camelCase). */
export interface PersistedEvent {
  /** The event's own id (`evt-agent-…`, module-chosen, …). Not unique across restarts: `seq` is. */
  id: string;
  /** The log's gapless sequence number: the durable SSE id, valid across restarts. */
  seq: number;
  timestampMs: number;
  /** The member (agent) the event belongs to, or null. */
  memberId: string | null;
  kind: EventLogKind;
  /** The event's type (`run_started`, `dispatch`, `lifecycle`, …). */
  eventType: string;
  /** The unified event's wire JSON; an agent event's with its `payload`. */
  event: { [key: string]: StoreJson };
}

/** {@link PersistedEvent} on the wire: `{id, seq, timestamp_ms, member_id, event}` (spec 4.3). */
export interface PersistedEventWire {
  id: string;
  seq: number;
  timestamp_ms: number;
  member_id: string | null;
  event: { [key: string]: StoreJson };
}

/** An event ready to be appended, without the log entry id the writer gives it. */
export type LogEventDraft = Omit<EventLogInput, 'id'>;

/** The draft of a merged-stream event; `agentPayload` is the agent event's payload (the hub's envelope has none). */
export function draftFromEnvelope(
  envelope: EventEnvelope<UnifiedEvent>,
  agentPayload?: AgentEventPayload,
): LogEventDraft {
  const wire = unifiedEventToWire(envelope.event) as { [key: string]: StoreJson };
  const event =
    agentPayload === undefined ? wire : { ...wire, payload: agentEventPayloadToWire(agentPayload) as StoreJson };
  const ev = envelope.event;
  const kind: EventLogKind = ev.kind === 'agent' ? 'agent' : ev.module === RUNTIME_MODULE ? 'runtime' : 'module';
  return {
    timestampMs: envelope.timestampMs,
    memberId: ev.kind === 'agent' ? ev.agentId : null,
    kind,
    eventType: ev.eventType,
    data: toStoreJson({
      event_id: envelope.eventId,
      source: envelope.source,
      timestamp_ms: envelope.timestampMs,
      event,
    }),
  };
}

/**
 * The draft of a lifecycle stage: `{kind:"module", module:"runtime", event_type:"lifecycle",
 * payload:{stage, seq}}`, classified `lifecycle`. `runId` keeps its event id apart from other runs'.
 */
export function draftFromLifecycle(stage: LifecycleEvent, runId: string, timestampMs: number): LogEventDraft {
  return runtimeDraft(`evt-lifecycle-${runId}-${stage.seq}`, 'lifecycle', 'lifecycle', timestampMs, {
    stage: stage.stage,
    seq: stage.seq,
  });
}

/** A runtime event's draft (`module: "runtime"`), e.g. `event_log.dropped`. */
export function runtimeDraft(
  eventId: string,
  kind: 'runtime' | 'lifecycle',
  eventType: string,
  timestampMs: number,
  payload: { [key: string]: StoreJson },
): LogEventDraft {
  const event = { kind: 'module', module: RUNTIME_MODULE, event_type: eventType, payload };
  return {
    timestampMs,
    memberId: null,
    kind,
    eventType,
    data: { event_id: eventId, source: 'module', timestamp_ms: timestampMs, event },
  };
}

/** Whether `data` is what `EventLogPort.redact` left of an entry (`{redacted: true, reason}`). */
function isRedacted(data: StoreJson): data is { redacted: true; reason: StoreJson } {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && data.redacted === true;
}

/**
 * A log entry as a {@link PersistedEvent}. A redacted entry (a purged member's) keeps its seq, time,
 * member and type, with id `redacted-<seq>` and an event that says so instead of its payload:
 * `{kind: "agent", agent_id, event_type, redacted: true, reason}`.
 */
export function persistedEvent(entry: EventLogEntry): PersistedEvent {
  if (isRedacted(entry.data)) {
    const base: { [key: string]: StoreJson } =
      entry.kind === 'agent'
        ? { kind: 'agent', agent_id: entry.memberId ?? '', event_type: entry.eventType }
        : { kind: 'module', module: RUNTIME_MODULE, event_type: entry.eventType };
    return {
      id: `redacted-${entry.seq}`,
      seq: entry.seq,
      timestampMs: entry.timestampMs,
      memberId: entry.memberId,
      kind: entry.kind as EventLogKind,
      eventType: entry.eventType,
      event: { ...base, redacted: true, reason: entry.data.reason },
    };
  }
  const data = entry.data as unknown as LoggedEnvelope;
  return {
    id: data.event_id,
    seq: entry.seq,
    timestampMs: entry.timestampMs,
    memberId: entry.memberId,
    kind: entry.kind as EventLogKind,
    eventType: entry.eventType,
    event: data.event,
  };
}

/** A {@link PersistedEvent} on the wire. */
export function persistedEventToWire(event: PersistedEvent): PersistedEventWire {
  return {
    id: event.id,
    seq: event.seq,
    timestamp_ms: event.timestampMs,
    member_id: event.memberId,
    event: event.event,
  };
}

/**
 * A value as the store keeps it. Events are plain JSON already (module payloads were parsed from
 * JSON lines or MCP results); a value that is not — a bigint, a cycle — is kept as its string form
 * rather than failing the batch it is in.
 */
function toStoreJson(value: unknown): StoreJson {
  try {
    return JSON.parse(JSON.stringify(value)) as StoreJson;
  } catch (error) {
    return { unserializable: String(error) };
  }
}
