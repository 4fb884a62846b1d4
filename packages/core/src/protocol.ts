import type { z } from 'zod';
import { MobKitError } from './errors/error.js';
import {
  type EventEnvelope,
  type EventSource,
  type ModuleEvent,
  type UnifiedEvent,
  EventEnvelopeSchema,
} from './events.js';
import { cutLine, describeType, parseJsonText, parseWithSchema, quoteLine } from './schema.js';

function fail(
  code: 'InvalidSchema' | 'MissingField' | 'InvalidFieldType',
  message: string,
  line: string,
  details: Record<string, unknown> = {},
): never {
  throw new MobKitError(code, `${message}; line: ${quoteLine(line)}`, { details: { ...details, line: cutLine(line) } });
}

/**
 * Parses one JSON line as a nested event envelope
 * (`{"event_id","source","timestamp_ms","event":{"kind":…}}`).
 * Fails with `InvalidJson` (not JSON) or the schema's field error (`MissingField`, `InvalidFieldType`,
 * `InvalidSchema`), each quoting the line.
 */
export function parseUnifiedEventLine(line: string): EventEnvelope {
  const value = parseJsonText(line.trim(), 'event line');
  try {
    return parseWithSchema(EventEnvelopeSchema, value, { what: 'event line' });
  } catch (error) {
    const e = error as MobKitError;
    throw new MobKitError(e.code, `${e.message}; line: ${quoteLine(line)}`, {
      cause: e,
      details: { ...e.details, line: cutLine(line) },
    });
  }
}

/**
 * Parses a module event line, checking that it is a module event with `expectedEventType` and, when
 * `payloadSchema` is given, that its payload matches it. Agent lines fail with `UnexpectedEventKind`;
 * another event type or a payload that does not fit fails with `UnexpectedPayloadType`.
 */
export function parseModuleEventLine<S extends z.ZodType = z.ZodType<unknown>>(
  line: string,
  expectedEventType: string,
  payloadSchema?: S,
): EventEnvelope<ModuleEvent<z.output<S>>> {
  const envelope = normalizeEventLine(line);
  const event = envelope.event;
  if (event.kind !== 'module') {
    throw new MobKitError(
      'UnexpectedEventKind',
      `expected a module event "${expectedEventType}", got an agent event from "${event.agentId}"; line: ${quoteLine(line)}`,
      {
        details: { expected: 'module', got: 'agent', line: cutLine(line) },
      },
    );
  }
  if (event.eventType !== expectedEventType) {
    throw new MobKitError(
      'UnexpectedPayloadType',
      `expected event_type "${expectedEventType}", got "${event.eventType}"; line: ${quoteLine(line)}`,
      {
        details: { expected: expectedEventType, got: event.eventType, line: cutLine(line) },
      },
    );
  }
  let payload: unknown = event.payload;
  if (payloadSchema) {
    try {
      payload = parseWithSchema(payloadSchema, event.payload, {
        what: `"${expectedEventType}" payload`,
        pathPrefix: 'payload',
      });
    } catch (error) {
      const e = error as MobKitError;
      throw new MobKitError('UnexpectedPayloadType', `${e.message}; line: ${quoteLine(line)}`, {
        cause: e,
        details: { ...e.details, expected: expectedEventType, line: cutLine(line) },
      });
    }
  }
  return { ...envelope, event: { ...event, payload } as ModuleEvent<z.output<S>> };
}

function field(
  obj: Record<string, unknown>,
  name: string,
  kind: 'string' | 'timestamp',
  line: string,
  optional?: false,
): string | number;
function field(
  obj: Record<string, unknown>,
  name: string,
  kind: 'string' | 'timestamp',
  line: string,
  optional: true,
): string | number | undefined;
function field(
  obj: Record<string, unknown>,
  name: string,
  kind: 'string' | 'timestamp',
  line: string,
  optional = false,
): string | number | undefined {
  const value = obj[name];
  if (value === undefined || value === null) {
    if (optional) return undefined;
    fail('MissingField', `event line is missing field "${name}"`, line, { field: name });
  }
  if (kind === 'string') {
    if (typeof value !== 'string')
      fail('InvalidFieldType', `event line field "${name}" must be a string, got ${describeType(value)}`, line, {
        field: name,
      });
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(
      'InvalidFieldType',
      `event line field "${name}" must be a non-negative integer of milliseconds, got ${JSON.stringify(value)}`,
      line,
      { field: name },
    );
  }
  return value;
}

/**
 * Normalizes one module stdout line into an event envelope. Accepts the nested form
 * (`{event_id, source, timestamp_ms, event:{kind,…}}`) and the flat forms
 * (`{event_id, source, timestamp_ms, module, event_type, payload}` /
 * `{event_id, source, timestamp_ms, agent_id, event_type}`), and enforces that the source matches
 * the event kind. Errors: `InvalidJson`, `InvalidSchema`, `MissingField`, `InvalidFieldType`,
 * `SourceMismatch` — each quoting the line (cut to 200 characters).
 */
export function normalizeEventLine(line: string): EventEnvelope {
  const text = line.replace(/\r?\n$/, '').trim();
  const value = parseJsonText(text, 'event line');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('InvalidSchema', `event line must be a JSON object, got ${describeType(value)}`, text);
  }
  const obj = value as Record<string, unknown>;
  const eventId = field(obj, 'event_id', 'string', text) as string;
  if (eventId.trim() === '')
    fail('InvalidFieldType', 'event line field "event_id" must not be blank', text, { field: 'event_id' });
  const sourceRaw = field(obj, 'source', 'string', text) as string;
  if (sourceRaw !== 'agent' && sourceRaw !== 'module') {
    fail(
      'InvalidFieldType',
      `event line field "source" must be "agent" or "module", got ${JSON.stringify(sourceRaw)}`,
      text,
      { field: 'source' },
    );
  }
  const source: EventSource = sourceRaw;
  const timestampMs = field(obj, 'timestamp_ms', 'timestamp', text) as number;

  let event: UnifiedEvent;
  if (obj.event !== undefined) {
    const nested = obj.event;
    if (nested === null || typeof nested !== 'object' || Array.isArray(nested)) {
      fail('InvalidFieldType', `event line field "event" must be an object, got ${describeType(nested)}`, text, {
        field: 'event',
      });
    }
    const inner = nested as Record<string, unknown>;
    const kind = field(inner, 'kind', 'string', text);
    if (kind === 'agent') {
      event = {
        kind: 'agent',
        agentId: field(inner, 'agent_id', 'string', text) as string,
        eventType: field(inner, 'event_type', 'string', text) as string,
      };
    } else if (kind === 'module') {
      event = {
        kind: 'module',
        module: field(inner, 'module', 'string', text) as string,
        eventType: field(inner, 'event_type', 'string', text) as string,
        payload: inner.payload === undefined ? null : inner.payload,
      };
    } else {
      fail(
        'InvalidFieldType',
        `event line field "event.kind" must be "agent" or "module", got ${JSON.stringify(kind)}`,
        text,
        { field: 'event.kind' },
      );
    }
  } else if (obj.module !== undefined) {
    event = {
      kind: 'module',
      module: field(obj, 'module', 'string', text) as string,
      eventType: field(obj, 'event_type', 'string', text) as string,
      payload: obj.payload === undefined ? null : obj.payload,
    };
  } else if (obj.agent_id !== undefined) {
    event = {
      kind: 'agent',
      agentId: field(obj, 'agent_id', 'string', text) as string,
      eventType: field(obj, 'event_type', 'string', text) as string,
    };
  } else {
    fail('InvalidSchema', 'event line has neither a nested "event" nor a flat "module" or "agent_id" field', text);
  }

  if (event.kind !== source) {
    throw new MobKitError(
      'SourceMismatch',
      `event line source mismatch: a ${event.kind} event must have source "${event.kind}", got "${source}"; line: ${quoteLine(text)}`,
      {
        details: { expected: event.kind, got: source, line: cutLine(text) },
      },
    );
  }
  return { eventId, source, timestampMs, event };
}

/** Compares two envelopes by `(timestamp_ms, event_id, source)`. */
export function compareEvents(a: EventEnvelope<unknown>, b: EventEnvelope<unknown>): number {
  if (a.timestampMs !== b.timestampMs) return a.timestampMs < b.timestampMs ? -1 : 1;
  if (a.eventId !== b.eventId) return a.eventId < b.eventId ? -1 : 1;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return 0;
}

/**
 * Inserts `event` into `events` (already ordered by `(timestamp_ms, event_id, source)`) at its
 * place, found by binary search; equal keys keep arrival order. Mutates `events` and returns the
 * index the event was inserted at.
 */
export function insertEventSorted<T>(events: EventEnvelope<T>[], event: EventEnvelope<T>): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareEvents(events[mid] as EventEnvelope<unknown>, event as EventEnvelope<unknown>) <= 0) lo = mid + 1;
    else hi = mid;
  }
  events.splice(lo, 0, event);
  return lo;
}
