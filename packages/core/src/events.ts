import { z } from 'zod';
import { wireCodec, wireEncoder } from './codec.js';
import { parseWithSchema } from './schema.js';

/** Where an event came from: an agent (mob member) or a module. */
export const EventSourceSchema = z.enum(['agent', 'module']);
/** Where an event came from. */
export type EventSource = z.output<typeof EventSourceSchema>;

const timestampMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Wire form of an agent event (`kind: "agent"`). */
export const AgentEventWireSchema = z.object({
  kind: z.literal('agent'),
  agent_id: z.string(),
  event_type: z.string(),
});
/** Wire form of a module event (`kind: "module"`); a missing payload reads as `null`. */
export const ModuleEventWireSchema = z.object({
  kind: z.literal('module'),
  module: z.string(),
  event_type: z.string(),
  payload: z.unknown(),
});
/** Wire form of a unified event, discriminated by `kind`. */
export const UnifiedEventWireSchema = z.discriminatedUnion('kind', [AgentEventWireSchema, ModuleEventWireSchema]);
/** A unified event as written on the wire. */
export type UnifiedEventWire = z.input<typeof UnifiedEventWireSchema>;

/** An event of one mob member. */
export interface AgentEvent {
  kind: 'agent';
  agentId: string;
  eventType: string;
}
/** An event of one module, with its payload. */
export interface ModuleEvent<T = unknown> {
  kind: 'module';
  module: string;
  eventType: string;
  payload: T;
}
/** An agent or module event. */
export type UnifiedEvent = AgentEvent | ModuleEvent;

/** The codec between a wire unified event and {@link UnifiedEvent} (a missing module payload reads as `null`). */
export const UnifiedEventSchema = wireCodec(UnifiedEventWireSchema, {
  decode: (w): UnifiedEvent =>
    w.kind === 'agent'
      ? { kind: 'agent', agentId: w.agent_id, eventType: w.event_type }
      : {
          kind: 'module',
          module: w.module,
          eventType: w.event_type,
          payload: w.payload === undefined ? null : w.payload,
        },
  encode: (event) =>
    event.kind === 'agent'
      ? { kind: 'agent' as const, agent_id: event.agentId, event_type: event.eventType }
      : { kind: 'module' as const, module: event.module, event_type: event.eventType, payload: event.payload },
});

/** Converts a {@link UnifiedEvent} to its wire form. */
export const unifiedEventToWire: (event: UnifiedEvent) => UnifiedEventWire = wireEncoder(UnifiedEventSchema);

/** An event with its id, source and timestamp. */
export interface EventEnvelope<T = UnifiedEvent> {
  eventId: string;
  source: EventSource;
  timestampMs: number;
  event: T;
}

/** Wire form of an event envelope carrying a unified event. */
export const EventEnvelopeWireSchema = z.object({
  event_id: z.string(),
  source: EventSourceSchema,
  timestamp_ms: timestampMs,
  event: UnifiedEventSchema,
});
/** An event envelope as written on the wire. */
export interface EventEnvelopeWire<T = UnifiedEventWire> {
  event_id: string;
  source: EventSource;
  timestamp_ms: number;
  event: T;
}
/** The codec between a wire envelope and {@link EventEnvelope}. */
export const EventEnvelopeSchema = wireCodec(EventEnvelopeWireSchema, {
  decode: (w): EventEnvelope => ({
    eventId: w.event_id,
    source: w.source,
    timestampMs: w.timestamp_ms,
    event: w.event as UnifiedEvent,
  }),
  encode: (e) => ({ event_id: e.eventId, source: e.source, timestamp_ms: e.timestampMs, event: e.event }),
});
/** Parses a wire envelope object (not text; see `parseUnifiedEventLine` for lines). */
export function parseEventEnvelope(input: unknown): EventEnvelope {
  return parseWithSchema(EventEnvelopeSchema, input, { what: 'event envelope' });
}
/** Converts an {@link EventEnvelope} to its wire form. */
export const eventEnvelopeToWire: (envelope: EventEnvelope) => EventEnvelopeWire = wireEncoder(
  EventEnvelopeSchema,
) as never; // the encoded event is a UnifiedEventWire

/** Health of a supervised module (spelled as in the spec). */
export const ModuleHealthStateSchema = z.enum(['Starting', 'Healthy', 'Failed', 'Restarting', 'Stopped']);
/** Health of a supervised module. */
export type ModuleHealthState = z.output<typeof ModuleHealthStateSchema>;

/** Wire form of a health transition. */
export const ModuleHealthTransitionWireSchema = z.object({
  module_id: z.string(),
  from: ModuleHealthStateSchema.nullable(),
  to: ModuleHealthStateSchema,
  attempt: z.number().int().min(0),
});
/** A module's move from one health state to another, with the start attempt it belongs to. */
export interface ModuleHealthTransition {
  moduleId: string;
  from: ModuleHealthState | null;
  to: ModuleHealthState;
  attempt: number;
}
/** The codec between a wire transition and {@link ModuleHealthTransition}. */
export const ModuleHealthTransitionSchema = wireCodec(ModuleHealthTransitionWireSchema, {
  decode: (w): ModuleHealthTransition => ({ moduleId: w.module_id, from: w.from, to: w.to, attempt: w.attempt }),
  encode: (t) => ({ module_id: t.moduleId, from: t.from, to: t.to, attempt: t.attempt }),
});
/** Parses a wire health transition. */
export function parseModuleHealthTransition(input: unknown): ModuleHealthTransition {
  return parseWithSchema(ModuleHealthTransitionSchema, input, { what: 'module health transition' });
}
/** Converts a {@link ModuleHealthTransition} to its wire form. */
export const moduleHealthTransitionToWire: (
  t: ModuleHealthTransition,
) => z.input<typeof ModuleHealthTransitionWireSchema> = wireEncoder(ModuleHealthTransitionSchema);

/** Runtime lifecycle stages, in the order they happen. */
export const LifecycleStageSchema = z.enum([
  'MobStarted',
  'ModulesStarted',
  'MergedStreamStarted',
  'ShutdownRequested',
  'ShutdownComplete',
]);
/** A runtime lifecycle stage. */
export type LifecycleStage = z.output<typeof LifecycleStageSchema>;
/** Wire (and TypeScript: the names coincide) form of a lifecycle event. */
export const LifecycleEventSchema = z.object({ seq: z.number().int().min(0), stage: LifecycleStageSchema });
/** One lifecycle stage reached, with its sequence number. */
export type LifecycleEvent = z.output<typeof LifecycleEventSchema>;
/** Parses a wire lifecycle event. */
export function parseLifecycleEvent(input: unknown): LifecycleEvent {
  return parseWithSchema(LifecycleEventSchema, input, { what: 'lifecycle event' });
}
