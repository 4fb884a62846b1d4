import type { RuntimeMode } from '@mobkit/core';
import type { LlmImage, ToolCall, ToolResult, Usage } from './llm/types.js';
import type { MemberSnapshot } from './types.js';

/**
 * The member API of MobKit 0.5+ on the mob port (`mobkit/member_status`, `mobkit/read_session_history`,
 * `mobkit/spawn_helper`, …). camelCase here; the RPC layer (`mobkit`) maps it to the snake_case wire.
 */

/** A member's status (Meerkat's `MobMemberStatus`). */
export type MemberStatusValue = 'active' | 'retiring' | 'broken' | 'completed' | 'unknown';

/** Whether the member has a run open (Meerkat's `MemberRunState`). */
export type MemberRunState = 'idle' | 'run_open' | 'unknown';

/** What `memberStatus` answers (mobkit's `member_status` snapshot). */
export interface MemberStatus {
  memberId: string;
  profile: string;
  status: MemberStatusValue;
  /** True when the member takes no more work (retired, or a helper whose task is done). */
  isFinal: boolean;
  runState: MemberRunState;
  /** Input plus output tokens the member has used in this mob (all its sessions). */
  tokensUsed: number;
  /** The start of the member's last answer (at most 200 characters). */
  outputPreview?: string;
  /** The last run's error, when it failed. */
  error?: string;
  /** The member's current session. */
  currentSessionId?: string;
  /** Host and peer messages accepted and not yet consumed by a run. */
  queuedMessages: number;
  /** When the member last made progress (an event of its own), ms since the epoch. */
  lastProgressAtMs?: number;
  /** The type of that event (`run_completed`, `tool_execution_completed`, …). */
  lastProgressEvent?: string;
  /** The opaque member ref (base64url-nopad of `{"m":<mob_id>,"a":<member_id>}`). */
  memberRef: string;
  /** Tokens per model the member has used (embedded mob). */
  usageByModel?: Record<string, { inputTokens: number; outputTokens: number }>;
  /** What is left of the member's budget, for the limits its profile (or the mob) sets (embedded mob). */
  budget?: BudgetStatus;
}

/** A member's budget: each limit set, with what is left of it. */
export interface BudgetStatus {
  maxTokensPerRun?: number;
  maxToolCallsPerRun?: number;
  maxTokensPerDay?: number;
  /** Tokens used today (UTC). */
  tokensUsedToday: number;
  /** `maxTokensPerDay` less today's use (never below 0), when a daily limit is set. */
  tokensLeftToday?: number;
}

/** A member's session, as `memberSessionRef` answers it. */
export interface SessionRef {
  memberId: string;
  sessionId: string;
  memberRef: string;
  /** When the session was created, ms since the epoch. */
  createdAtMs: number;
  /** Committed messages in the session. */
  messageCount: number;
}

/** One committed message of a session, in order (index 0 is the first). */
export type SessionMessage = {
  index: number;
  createdAtMs: number;
  /** The run that wrote it. */
  runId?: string;
} & (
  | {
      role: 'user';
      content: string;
      /** Images sent with the message (after its text). */
      images?: LlmImage[];
      /** `host` (a send, a prompt, an initial message, an injection), `peer` (a peer's message) or `resume` (a notice). */
      source: 'host' | 'peer' | 'resume';
      /** The sending peer, for `source: 'peer'`. */
      peer?: string;
    }
  | { role: 'assistant'; content: string; toolCalls: ToolCall[]; usage?: Usage }
  | { role: 'tool_results'; results: ToolResult[] }
  /** A compaction summary (wire: a `user` message with `transcript_role: "compaction_summary"`): what the model sees in place of the `summaryOf` messages before it. */
  | { role: 'system'; content: string; summaryOf?: number }
);

/** Paging of `readSessionHistory`: `offset` (default 0) and `limit` (a positive integer; default: all). */
export interface SessionHistoryQuery {
  offset?: number;
  limit?: number;
}

/** A page of a session's history (mobkit's `SessionHistoryPage`). */
export interface SessionHistoryPage {
  sessionId: string;
  /** The member the session belongs (or belonged) to. */
  memberId: string | undefined;
  /** Committed messages in the whole session. */
  messageCount: number;
  offset: number;
  /** The limit asked for (undefined: no limit). */
  limit: number | undefined;
  /** True when messages after this page exist. */
  hasMore: boolean;
  messages: SessionMessage[];
}

/** Options of a helper run (`spawnHelper`, `forkHelper`; mobkit's `HelperOptions`). */
export interface HelperOptions {
  /** A label for the result (meerkat's bounded-helper contract; kept on the helper as the `result_label` label). */
  resultLabel?: string;
  /** Truncate the helper's output to this many UTF-8 bytes (default: the mob's `maxMessageBytes`). */
  maxTextBytes?: number;
  /** The helper's profile (Meerkat's `role`); default: the source member's profile, or the orchestrator's. */
  profile?: string;
  /** Default `turn_driven` (the helper runs one task). */
  runtimeMode?: RuntimeMode;
  /** Labels of the helper member. */
  labels?: Record<string, string>;
  /** Cancel the task after this long (default: the mob's run limits only). */
  timeoutMs?: number;
}

/** How much of the source member's history a forked helper starts from (Meerkat's `ForkContext`). */
export type ForkContext = { type: 'full_history' } | { type: 'last_messages'; count: number };

/** What a helper run produced (mobkit's `MobHelperResult`). */
export interface HelperResult {
  memberId: string;
  /** The helper's final answer. */
  output: string;
  tokensUsed: number;
  sessionId: string;
  usage: Usage;
  turns: number;
  toolCalls: number;
}

/** Options of `waitReady`. */
export interface WaitReadyOptions {
  /** The members to wait for (default: every active member). */
  memberIds?: string[];
  /** Default 10 minutes (the original's); a timeout is an answer (`timedOut: true`), not an error. */
  timeoutMs?: number;
}

/** What `waitReady` answers (mobkit's `{ready, timeout}`): the ready members, or none and `timedOut`. */
export interface WaitReadyResult {
  ready: CompletedMember[];
  timedOut: boolean;
}

/** A member with its status, as `collectCompleted` and `waitReady` answer it. */
export interface CompletedMember {
  memberId: string;
  status: MemberStatus;
}

/** Options of `purgeMember`. */
export interface PurgeOptions {
  /** Retire the member first if it is still active (default true; false refuses an active member). */
  retire?: boolean;
}

/** What `purgeMember` removed from the mob's state. */
export interface PurgeReport {
  memberId: string;
  /** Sessions deleted. */
  sessions: number;
  /** History messages deleted. */
  messages: number;
  /** Queued inbox items dropped. */
  inboxItems: number;
  /** Builtin tasks deleted (`task_*`; embedded mob). */
  tasks?: number;
}

/** Member API methods, by their RPC names without the `mobkit/` prefix. */
export type MemberApiMethod =
  | 'member_status'
  | 'member_current_session_id'
  | 'member_session_ref'
  | 'read_session_history'
  | 'collect_completed'
  | 'wait_ready'
  | 'force_cancel_member'
  | 'spawn_helper'
  | 'fork_helper'
  | 'attach_existing_session'
  | 'mob_labels/get'
  | 'mob_labels/set'
  | 'mob_labels/delete'
  | 'purge_member';

/** What a mob implementation offers beyond the core port. */
export interface MobCapabilities {
  /** True when roster, sessions, histories and inboxes survive a restart (a store is configured). */
  persistent: boolean;
  /** The member API methods this implementation answers; the rest reject with `UnsupportedForMode`. */
  memberApi: readonly MemberApiMethod[];
}

/**
 * The member API every mob implementation answers. A method an implementation cannot back (e.g. on
 * an rkat-rpc build without it) rejects with `UnsupportedForMode` and is absent from
 * `capabilities.memberApi`.
 */
export interface MobMemberApi {
  /** What this implementation offers. */
  readonly capabilities: MobCapabilities;
  /** The member's status; `MemberNotFound` for an unknown id. */
  memberStatus(memberId: string): Promise<MemberStatus>;
  /** The member's current session id; `MemberNotFound` for an unknown id. */
  memberCurrentSessionId(memberId: string): Promise<string>;
  /** The member's current session, or undefined when it has none. */
  memberSessionRef(memberId: string): Promise<SessionRef | undefined>;
  /**
   * A page of a session's committed history (any session the mob knows: current, earlier, or a
   * retired member's); `SessionNotFound` otherwise, `InvalidInput` for a bad offset or limit.
   */
  readSessionHistory(sessionId: string, query?: SessionHistoryQuery): Promise<SessionHistoryPage>;
  /** Members whose work is done (final), with their status. */
  collectCompleted(): Promise<CompletedMember[]>;
  /** Resolves when the members are ready (active, nothing queued, no run open), or at the timeout with `timedOut`. */
  waitReady(options?: WaitReadyOptions): Promise<WaitReadyResult>;
  /** Cancels the member's current run (it stays in the roster); false when nothing was running. */
  forceCancelMember(memberId: string): Promise<boolean>;
  /** Spawns a short-lived member, runs `task` on it, retires it and resolves with its result. */
  spawnHelper(memberId: string, task: string, options?: HelperOptions): Promise<HelperResult>;
  /** Like `spawnHelper`, but the helper starts from a copy of the source member's history. */
  forkHelper(
    sourceMemberId: string,
    memberId: string,
    task: string,
    forkContext?: ForkContext,
    options?: HelperOptions,
  ): Promise<HelperResult>;
  /** Spawns a member that continues a stored session (its history is what the model sees). */
  attachExistingSession(profile: string, memberId: string, sessionId: string): Promise<MemberSnapshot>;
  /** The mob's labels. */
  mobLabels(): Promise<Record<string, string>>;
  /** Replaces the mob's labels with `labels` (an empty map clears them; durable with a store). */
  setMobLabels(labels: Record<string, string>): Promise<void>;
  /** Removes every mob label. */
  deleteMobLabels(): Promise<void>;
  /** Deletes a member's sessions, history and inbox from the mob's state (retiring it first by default). */
  purgeMember(memberId: string, options?: PurgeOptions): Promise<PurgeReport>;
}

/** The opaque member ref: base64url without padding of `{"m":<mob_id>,"a":<member_id>}`. */
export function memberRef(mobId: string, memberId: string): string {
  return Buffer.from(JSON.stringify({ m: mobId, a: memberId }), 'utf8').toString('base64url');
}
