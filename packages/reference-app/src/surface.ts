import type { EventEnvelope, ModuleHealthTransition, UnifiedEvent } from '@mobkit/core';

/** A roster entry as the reference app shows it (the mob-adapter's `MemberSnapshot`, structurally). */
export interface SurfaceMember {
  meerkatId: string;
  profile: string;
  state: 'active' | 'retiring';
  runtimeMode?: string;
  sessionId: string | undefined;
  /** Wired peers, sorted. */
  wiredTo: string[];
  labels: Record<string, string>;
}

/** A profile of the mob definition. */
export interface SurfaceProfile {
  name: string;
  model: string;
  externalAddressable: boolean;
  peerDescription: string;
}

/**
 * One agent event with its payload (the merged stream drops payloads; the console's activity feed,
 * the per-agent SSE route and the interaction stream need them). `payload` is the original's
 * snake_case `AgentEvent` JSON, e.g. `{"type":"text_delta","delta":"ok"}`.
 */
export interface SurfaceAgentEvent {
  memberId: string;
  /** The event's seq: the durable log's (gapless over all events) when the runtime has a log, else one per agent event. */
  seq: number;
  timestampMs: number;
  /** `run_started`, `text_delta`, `run_completed`, … */
  type: string;
  payload: Record<string, unknown>;
}

/** The store behind the runtime, as status and the console show it. */
export interface SurfaceStoreInfo {
  /** `memory`, `sqlite`, `postgres`, … */
  kind: string;
  /** A file path, a host/database (no password), or `memory`. */
  location: string;
  schemaVersion: number;
}

/** A query of {@link SurfaceEventLog.readAgentEvents}. */
export interface SurfaceAgentEventQuery {
  /** Only events with a greater seq. */
  afterSeq: number;
  /** Only this member's events. */
  memberId?: string;
  /** At most this many. */
  limit: number;
}

/**
 * The runtime's durable event log, as the SSE routes resume from it. `seq` is the log's gapless sequence
 * number over every event (agent, module, runtime), so one stream's ids skip the numbers of events it
 * does not carry; they stay valid across restarts of the app for as long as retention keeps the events.
 */
export interface SurfaceEventLog {
  /** Agent events after `afterSeq` (oldest first), with their payloads, read from the log. */
  readAgentEvents(query: SurfaceAgentEventQuery): Promise<SurfaceAgentEvent[]>;
  /** The smallest seq still kept (0 when empty) and the largest ever assigned (0 when none). */
  bounds(): Promise<{ firstSeq: number; lastSeq: number }>;
  /** The store the log lives in. */
  readonly store: SurfaceStoreInfo;
}

/**
 * What the reference app needs from a runtime. `mobkit/http`'s `referenceAppSurface(runtime)`
 * implements it; tests can build one from an embedded mob and a module runtime. The app never builds
 * a runtime itself.
 */
export interface ReferenceAppRuntimeSurface {
  /** The mob id (`runtime_id`), or undefined when there is no mob. */
  mobId(): string | undefined;
  /** `'Running'`, `'Stopped'`, … */
  mobStatus(): Promise<string>;
  /** The definition's profiles. */
  profiles(): SurfaceProfile[];
  /** Every member, sorted by id. */
  listMembers(): Promise<SurfaceMember[]>;
  getMember(memberId: string): Promise<SurfaceMember | undefined>;
  /**
   * Sends a host message to a member; resolves with the accepting session id. Rejects with a
   * MobKitError: `MemberNotFound`, `NotExternallyAddressable`, `InvalidInput`, `RuntimeShuttingDown`.
   */
  sendMessage(memberId: string, text: string): Promise<string>;
  /** Loaded module ids, sorted. */
  loadedModules(): string[];
  /** True while the modules run and shutdown has not begun. */
  isRunning(): boolean;
  /** Every module health transition so far. */
  moduleHealthTransitions(): ModuleHealthTransition[];
  /** The merged stream (bounded, ordered). */
  events(): EventEnvelope<UnifiedEvent>[];
  /** Live merged-stream events; returns the unsubscribe function. */
  subscribe(listener: (event: EventEnvelope<UnifiedEvent>) => void): () => void;
  /**
   * The durable event log, when the runtime has one. Live agent events (`subscribeAgentEvents`) then
   * carry the log's seq and are delivered after they were appended, in seq order.
   */
  eventLog?(): SurfaceEventLog | undefined;
  /** Live agent events with payloads, of one member or all; returns the unsubscribe function. */
  subscribeAgentEvents(listener: (event: SurfaceAgentEvent) => void, memberId?: string): () => void;
}
