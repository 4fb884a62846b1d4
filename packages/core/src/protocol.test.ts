import { describe, expect, it } from 'vitest';
import { catchError } from '../test/catch-error.js';
import { z } from 'zod';
import {
  type EventEnvelope,
  eventEnvelopeToWire,
  moduleHealthTransitionToWire,
  parseEventEnvelope,
  parseLifecycleEvent,
  parseModuleHealthTransition,
} from './events.js';
import {
  compareEvents,
  insertEventSorted,
  normalizeEventLine,
  parseModuleEventLine,
  parseUnifiedEventLine,
} from './protocol.js';

const AGENT_LINE =
  '{"event_id":"evt-1","source":"agent","timestamp_ms":1700000000000,"event":{"kind":"agent","agent_id":"a-1","event_type":"run_completed"}}';
const MODULE_LINE =
  '{"event_id":"evt-2","source":"module","timestamp_ms":1700000000001,"event":{"kind":"module","module":"router","event_type":"ready","payload":{"port":9001}}}';
const FLAT_MODULE =
  '{"event_id":"evt-3","source":"module","timestamp_ms":5,"module":"router","event_type":"ready","payload":{"ok":true}}';
const FLAT_AGENT = '{"event_id":"evt-4","source":"agent","timestamp_ms":6,"agent_id":"a-1","event_type":"run_started"}';

describe('event envelopes (spec section 2)', () => {
  it('round-trips the agent example', () => {
    const envelope = parseUnifiedEventLine(AGENT_LINE);
    expect(envelope).toEqual({
      eventId: 'evt-1',
      source: 'agent',
      timestampMs: 1700000000000,
      event: { kind: 'agent', agentId: 'a-1', eventType: 'run_completed' },
    });
    expect(eventEnvelopeToWire(envelope)).toEqual(JSON.parse(AGENT_LINE));
  });

  it('round-trips the module example with its payload', () => {
    const envelope = parseUnifiedEventLine(MODULE_LINE);
    expect(envelope.event).toEqual({ kind: 'module', module: 'router', eventType: 'ready', payload: { port: 9001 } });
    expect(eventEnvelopeToWire(envelope)).toEqual(JSON.parse(MODULE_LINE));
    expect(parseEventEnvelope(JSON.parse(MODULE_LINE))).toEqual(envelope);
  });

  it('InvalidJson quotes the line', () => {
    const error = catchError(() => parseUnifiedEventLine('{"event_id": nope'));
    expect(error.code).toBe('InvalidJson');
    expect(error.message).toContain('{"event_id": nope');
  });

  it('InvalidSchema / field errors name the field and quote the line', () => {
    const error = catchError(() =>
      parseUnifiedEventLine('{"event_id":"e","source":"agent","timestamp_ms":1,"event":{"kind":"robot"}}'),
    );
    expect(['InvalidSchema', 'InvalidFieldType']).toContain(error.code);
    expect(error.message).toContain('event.kind');
    expect(error.message).toContain('"kind":"robot"');
  });

  it('health transitions serialize states with the spec spelling and from: null', () => {
    const wire = { module_id: 'router', from: null, to: 'Starting', attempt: 0 };
    const t = parseModuleHealthTransition(wire);
    expect(t).toEqual({ moduleId: 'router', from: null, to: 'Starting', attempt: 0 });
    expect(moduleHealthTransitionToWire(t)).toEqual(wire);
    const bad = catchError(() => parseModuleHealthTransition({ ...wire, to: 'healthy' }));
    expect(bad.message).toContain('to: expected one of Starting, Healthy, Failed, Restarting, Stopped, got "healthy"');
  });

  it('lifecycle events carry seq and stage', () => {
    expect(parseLifecycleEvent({ seq: 2, stage: 'MergedStreamStarted' })).toEqual({
      seq: 2,
      stage: 'MergedStreamStarted',
    });
    expect(catchError(() => parseLifecycleEvent({ seq: 0, stage: 'Booted' })).message).toContain('stage');
  });
});

describe('normalizeEventLine', () => {
  it('accepts the nested form', () => {
    expect(normalizeEventLine(MODULE_LINE)).toEqual(parseUnifiedEventLine(MODULE_LINE));
  });

  it('accepts the flat module and agent forms, and a trailing CRLF', () => {
    expect(normalizeEventLine(`${FLAT_MODULE}\r\n`)).toEqual({
      eventId: 'evt-3',
      source: 'module',
      timestampMs: 5,
      event: { kind: 'module', module: 'router', eventType: 'ready', payload: { ok: true } },
    });
    expect(normalizeEventLine(FLAT_AGENT).event).toEqual({ kind: 'agent', agentId: 'a-1', eventType: 'run_started' });
  });

  it('MissingField names the field', () => {
    const error = catchError(() =>
      normalizeEventLine('{"source":"module","timestamp_ms":5,"module":"m","event_type":"ready"}'),
    );
    expect(error.code).toBe('MissingField');
    expect(error.message).toContain('"event_id"');
    expect(error.details?.field).toBe('event_id');
  });

  it('InvalidFieldType names the field and what it got', () => {
    const error = catchError(() =>
      normalizeEventLine('{"event_id":"e","source":"module","timestamp_ms":"soon","module":"m","event_type":"ready"}'),
    );
    expect(error.code).toBe('InvalidFieldType');
    expect(error.message).toContain('"timestamp_ms"');
    expect(error.message).toContain('"soon"');
  });

  it('SourceMismatch: a module event with source agent, and an agent event with source module', () => {
    const a = catchError(() => normalizeEventLine(FLAT_MODULE.replace('"source":"module"', '"source":"agent"')));
    expect(a.code).toBe('SourceMismatch');
    expect(a.details).toMatchObject({ expected: 'module', got: 'agent' });
    expect(a.message).toContain('must have source "module", got "agent"');
    const b = catchError(() => normalizeEventLine(AGENT_LINE.replace('"source":"agent"', '"source":"module"')));
    expect(b.code).toBe('SourceMismatch');
  });

  it('InvalidSchema for a line that is neither form, quoting the line cut to 200 characters', () => {
    const long = JSON.stringify({ event_id: 'e', source: 'module', timestamp_ms: 1, junk: 'x'.repeat(500) });
    const error = catchError(() => normalizeEventLine(long));
    expect(error.code).toBe('InvalidSchema');
    expect(String(error.details?.line).length).toBeLessThanOrEqual(201);
    expect(error.message.length).toBeLessThan(long.length);
  });

  it('InvalidJson for non-JSON', () => {
    expect(catchError(() => normalizeEventLine('ready!')).code).toBe('InvalidJson');
  });
});

describe('parseModuleEventLine', () => {
  it('returns the module event, validating the payload with a schema', () => {
    const envelope = parseModuleEventLine(MODULE_LINE, 'ready', z.object({ port: z.number() }));
    expect(envelope.event.payload.port).toBe(9001);
  });

  it('UnexpectedEventKind for an agent line', () => {
    const error = catchError(() => parseModuleEventLine(AGENT_LINE, 'ready'));
    expect(error.code).toBe('UnexpectedEventKind');
    expect(error.message).toContain('"a-1"');
  });

  it('UnexpectedPayloadType for another event type', () => {
    const error = catchError(() => parseModuleEventLine(MODULE_LINE, 'resolved'));
    expect(error.code).toBe('UnexpectedPayloadType');
    expect(error.message).toContain('expected event_type "resolved", got "ready"');
  });

  it('UnexpectedPayloadType for a payload that does not fit, naming the payload field', () => {
    const error = catchError(() => parseModuleEventLine(MODULE_LINE, 'ready', z.object({ port: z.string() })));
    expect(error.code).toBe('UnexpectedPayloadType');
    expect(error.message).toContain('payload.port');
  });
});

describe('ordering', () => {
  const ev = (timestampMs: number, eventId: string, source: 'agent' | 'module'): EventEnvelope<string> => ({
    eventId,
    source,
    timestampMs,
    event: `${timestampMs}/${eventId}/${source}`,
  });

  it('orders by (timestamp_ms, event_id, source)', () => {
    expect(compareEvents(ev(1, 'b', 'agent'), ev(2, 'a', 'agent'))).toBeLessThan(0);
    expect(compareEvents(ev(2, 'a', 'module'), ev(2, 'b', 'agent'))).toBeLessThan(0);
    expect(compareEvents(ev(2, 'a', 'agent'), ev(2, 'a', 'module'))).toBeLessThan(0);
    expect(compareEvents(ev(2, 'a', 'agent'), ev(2, 'a', 'agent'))).toBe(0);
  });

  it('insertEventSorted keeps the list sorted for any arrival order and is stable for equal keys', () => {
    const events: EventEnvelope<string>[] = [];
    const input = [
      ev(5, 'x', 'module'),
      ev(1, 'z', 'agent'),
      ev(5, 'a', 'module'),
      ev(3, 'm', 'agent'),
      ev(5, 'a', 'agent'),
      ev(0, 'q', 'module'),
    ];
    for (const e of input) insertEventSorted(events, e);
    expect(events.map((e) => e.event)).toEqual([
      '0/q/module',
      '1/z/agent',
      '3/m/agent',
      '5/a/agent',
      '5/a/module',
      '5/x/module',
    ]);
    const first = { ...ev(3, 'm', 'agent'), event: 'second-copy' };
    const at = insertEventSorted(events, first);
    expect(events[at - 1]?.event).toBe('3/m/agent');
    expect(events[at]?.event).toBe('second-copy');
  });

  it('agrees with a full sort on random input', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const events: EventEnvelope<string>[] = [];
    const all: EventEnvelope<string>[] = [];
    for (let i = 0; i < 300; i += 1) {
      const e = ev(Math.floor(rand() * 20), `e${Math.floor(rand() * 10)}`, rand() < 0.5 ? 'agent' : 'module');
      all.push(e);
      insertEventSorted(events, e);
    }
    expect(events).toEqual([...all].sort(compareEvents));
  });
});
