import type { AgentEventPayload, ContentInput, RuntimeMode, SpawnSpec } from '@mobkit/core';
import type { MobDefinition } from './definition.js';
import type { MobMemberApi } from './member-api.js';
import type { Usage } from './llm/types.js';

export type { AgentEventPayload, AgentEventType, ContentBlock, ContentInput } from '@mobkit/core';
/** `queue` delivers at the next turn boundary; `steer` interrupts the current run. */
export type HandlingMode = 'queue' | 'steer';
/** Mob lifecycle state (Meerkat's wire spelling). */
export type MobStatus = 'Creating' | 'Running' | 'Stopped' | 'Completed' | 'Destroyed';
/** Member state (mobkit 0.4 spelling). */
export type MemberState = 'active' | 'retiring';

/**
 * What to spawn (Meerkat's `SpawnMemberSpec`; core's {@link SpawnSpec}): `profile`, `meerkatId`, and
 * optionally `initialMessage`, `context`, `labels`, `additionalInstructions`, `resumeSessionId`,
 * `runtimeMode`. Build one with `SpawnMemberSpec.fromWire` or parse the wire form with `SpawnMemberSpec.parse`.
 */
export type SpawnMemberSpec = SpawnSpec;

/** A roster entry (mobkit's `MobMemberSnapshot`). */
export interface MemberSnapshot {
  meerkatId: string;
  profile: string;
  state: MemberState;
  runtimeMode: RuntimeMode;
  /** The member's current session id (may be absent from an rkat-rpc roster listing). */
  sessionId: string | undefined;
  /** Wired peers, sorted. */
  wiredTo: string[];
  labels: Record<string, string>;
}

/** Result of `reconcile`: ids in input order. */
export interface ReconcileReport {
  desired: string[];
  retained: string[];
  spawned: string[];
  retired: string[];
}

/** Options of `reconcile`. */
export interface ReconcileOptions {
  /** Retire active members that are not desired (default true). */
  retireStale?: boolean;
}

/** Result of one run (`runTurn`). */
export interface RunResult {
  sessionId: string;
  /** The last assistant text. */
  text: string;
  usage: Usage;
  /** LLM turns taken. */
  turns: number;
  /** Tool calls made. */
  toolCalls: number;
}

/** Mob log events (Meerkat's `MobEvent` kinds). */
export type MobLogPayload =
  | { type: 'mob_created' | 'mob_stopped' | 'mob_resumed' }
  | {
      type: 'member_spawned';
      memberId: string;
      profile: string;
      runtimeMode: RuntimeMode;
      labels: Record<string, string>;
    }
  | { type: 'member_retired'; memberId: string; profile: string }
  | { type: 'members_wired' | 'members_unwired'; a: string; b: string }
  | { type: 'other'; raw: unknown };

/** One event delivered to a subscriber. `seq` increases by one per event on each mob handle. */
export type MobEvent =
  | {
      kind: 'agent';
      /** The member that produced the event. */
      memberId: string;
      profile: string;
      sessionId: string | undefined;
      seq: number;
      timestampMs: number;
      event: AgentEventPayload;
    }
  | { kind: 'mob'; seq: number; timestampMs: number; cursor: number; event: MobLogPayload };

/** Options of `subscribe`. */
export interface SubscribeOptions {
  /** Only agent events of this member (mob log events are then skipped). */
  member?: string;
}

/** Options of `sendMessage`. */
export interface SendOptions {
  handlingMode?: HandlingMode;
}

/** Options of `runTurn`. */
export interface RunTurnOptions {
  /** Cancels the run; the promise rejects with `RunCancelled`. */
  signal?: AbortSignal;
}

/**
 * The mob port: one running mob, embedded in process ({@link createEmbeddedMob}) or in an external
 * Meerkat `rkat-rpc` ({@link createRkatRpcMob}). Mirrors mobkit's `RealMobRuntime`.
 */
export interface MobRuntime extends MobMemberApi {
  /** Which implementation this is. */
  readonly kind: 'embedded' | 'rkat-rpc';
  /** The mob id. */
  readonly mobId: string;
  /** The definition the mob was created from (profiles, wiring, skills). */
  readonly definition: MobDefinition;
  /** `'Running'` after start, `'Stopped'` after `stop()`. */
  status(): Promise<MobStatus>;
  /** Spawns one member; rejects with MemberAlreadyExists, ProfileNotFound, WiringError (comms=false)… */
  spawn(spec: SpawnMemberSpec): Promise<MemberSnapshot>;
  /** Spawns concurrently; rejects with the first failure once all have settled. */
  spawnMany(specs: SpawnMemberSpec[]): Promise<MemberSnapshot[]>;
  /** Returns the existing active member, or spawns it. Idempotent. */
  ensureMember(spec: SpawnMemberSpec): Promise<MemberSnapshot>;
  /** Diffs desired against the active roster: spawn missing, retire stale (unless `retireStale: false`). */
  reconcile(desired: SpawnMemberSpec[], options?: ReconcileOptions): Promise<ReconcileReport>;
  /** Retires a member (archives its session, unwires its edges). */
  retire(memberId: string): Promise<void>;
  /** Retires and spawns again with the same profile, labels and wiring; a new session. */
  respawn(memberId: string): Promise<MemberSnapshot>;
  /** All members (active and retiring), sorted by id. */
  listMembers(): Promise<MemberSnapshot[]>;
  /** One member, or undefined. */
  getMember(memberId: string): Promise<MemberSnapshot | undefined>;
  /** Members whose label `labelKey` equals `labelValue`. */
  findMembers(labelKey: string, labelValue: string): Promise<MemberSnapshot[]>;
  /** Wires two members (undirected, idempotent). */
  wire(a: string, b: string): Promise<void>;
  /** Removes a wire (idempotent). */
  unwire(a: string, b: string): Promise<void>;
  /**
   * Host send: queues `content` for the member and returns the accepting session id at once.
   * Rejects with NotExternallyAddressable, InvalidInput (blank id, empty text), MemberNotFound.
   */
  sendMessage(memberId: string, content: ContentInput, options?: SendOptions): Promise<string>;
  /** Runs one turn with `prompt` and resolves with its result. */
  runTurn(memberId: string, prompt: ContentInput, options?: RunTurnOptions): Promise<RunResult>;
  /** Cancels the member's current run (it stays in the roster). */
  cancel(memberId: string): Promise<void>;
  /**
   * Resolves when no member is running or has queued work; rejects with `MobTimeout` after
   * `timeoutMs` (default 30 s). The runtime drains with it at shutdown.
   */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Receives agent and mob events; returns the unsubscribe function. */
  subscribe(listener: (event: MobEvent) => void, options?: SubscribeOptions): () => void;
  /** Stops the mob: cancels runs, rejects further work with InvalidTransition. */
  stop(): Promise<void>;
  /** Resumes a stopped mob. */
  resume(): Promise<void>;
  /** Stops the mob and releases everything it holds (listeners; the rkat-rpc child process). Call it at shutdown. */
  close(): Promise<void>;
}
