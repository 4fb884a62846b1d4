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
  /** Increases by one per event of the mob. */
  seq: number;
  timestampMs: number;
  /** `run_started`, `text_delta`, `run_completed`, … */
  type: string;
  payload: Record<string, unknown>;
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
  /** Live agent events with payloads, of one member or all; returns the unsubscribe function. */
  subscribeAgentEvents(listener: (event: SurfaceAgentEvent) => void, memberId?: string): () => void;
}
