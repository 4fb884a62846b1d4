import { wireCodec, wireEncoder } from '@mobkit/core';
import type {
  BudgetStatus,
  CompletedMember,
  HelperResult,
  MemberRunState,
  MemberSnapshot,
  MemberStatus,
  MemberStatusValue,
  SessionHistoryPage,
  SessionMessage,
  SessionRef,
} from '@mobkit/mob-adapter';
import { z } from 'zod';

/** A member snapshot as the JSON-RPC methods return it (`runtimeMode` stays off the wire, as the original). */
export type MemberSnapshotView = Omit<MemberSnapshot, 'runtimeMode'>;

/** The snake_case wire form of a member snapshot (`labels` omitted when empty, `wired_to` sorted). */
const MemberSnapshotWireSchema = z.strictObject({
  meerkat_id: z.string(),
  profile: z.string(),
  state: z.enum(['active', 'retiring']),
  wired_to: z.array(z.string()),
  session_id: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** The codec between a member snapshot's wire form and {@link MemberSnapshotView}. */
export const MemberSnapshotCodec = wireCodec(MemberSnapshotWireSchema, {
  decode: (wire): MemberSnapshotView => ({
    meerkatId: wire.meerkat_id,
    profile: wire.profile,
    state: wire.state,
    sessionId: wire.session_id,
    wiredTo: [...wire.wired_to].sort(),
    labels: { ...(wire.labels ?? {}) },
  }),
  encode: (snapshot) => ({
    meerkat_id: snapshot.meerkatId,
    profile: snapshot.profile,
    state: snapshot.state,
    wired_to: [...snapshot.wiredTo].sort(),
    ...(snapshot.sessionId === undefined ? {} : { session_id: snapshot.sessionId }),
    ...(Object.keys(snapshot.labels ?? {}).length > 0 ? { labels: { ...snapshot.labels } } : {}),
  }),
});

/** A member snapshot on the wire (the encoder of {@link MemberSnapshotCodec}). */
export const memberSnapshotToWire: (snapshot: MemberSnapshotView) => z.input<typeof MemberSnapshotWireSchema> =
  wireEncoder(MemberSnapshotCodec);

// ---------------------------------------------------------------- the member API (MobKit 0.5+)

/** Meerkat's `MemberProgressSnapshot` on the wire (`progress` of a member status). */
interface MemberProgressWire {
  run_state: MemberRunState;
  /** Runs open on the member (0 or 1: a member runs one turn at a time). */
  in_flight_work: number;
  /** When the member last made progress, ms since the epoch (0: never). */
  last_progress_at_ms: number;
  /** `execution_advanced` (a run is open), `became_idle` (its last run is over) or `unchanged` (no progress yet). */
  last_progress_event: 'execution_advanced' | 'became_idle' | 'unchanged';
  /** `degraded` for a broken member, `unknown` when its run state is unknown, `healthy` otherwise. */
  health: 'healthy' | 'degraded' | 'wedged' | 'unknown';
}

/**
 * A member's status on the wire (`mobkit/member_status`): Meerkat's `MobMemberSnapshot` fields
 * (`status, is_final, tokens_used, output_preview?, error?, current_session_id?, progress`), its
 * `member_ref`, and mobkit's own `member_id, profile, queued_messages`. Optional fields are omitted
 * when unset (not `null`), as the latest original.
 */
export interface MemberStatusWire {
  member_id: string;
  profile: string;
  status: MemberStatusValue;
  is_final: boolean;
  tokens_used: number;
  output_preview?: string;
  error?: string;
  current_session_id?: string;
  queued_messages: number;
  progress: MemberProgressWire;
  member_ref: string;
  /** Tokens per model (`{input_tokens, output_tokens}`), embedded mob. */
  usage_by_model?: Record<string, { input_tokens: number; output_tokens: number }>;
  /** The budget's limits and what is left today, when the profile or mob sets one. */
  budget?: BudgetStatusWire;
}

/** The wire progress event of a status: a run open advances, a finished run became idle, no progress is unchanged. */
function progressEvent(status: MemberStatus): MemberProgressWire['last_progress_event'] {
  if (status.lastProgressEvent === undefined && status.lastProgressAtMs === undefined) return 'unchanged';
  return status.runState === 'run_open' ? 'execution_advanced' : 'became_idle';
}

function progressHealth(status: MemberStatus): MemberProgressWire['health'] {
  if (status.status === 'broken') return 'degraded';
  if (status.runState === 'unknown' || status.status === 'unknown') return 'unknown';
  return 'healthy';
}

/** A member's status on the wire ({@link MemberStatusWire}). */
export function memberStatusToWire(status: MemberStatus): MemberStatusWire {
  return {
    member_id: status.memberId,
    profile: status.profile,
    status: status.status,
    is_final: status.isFinal,
    tokens_used: status.tokensUsed,
    ...(status.outputPreview === undefined ? {} : { output_preview: status.outputPreview }),
    ...(status.error === undefined ? {} : { error: status.error }),
    ...(status.currentSessionId === undefined ? {} : { current_session_id: status.currentSessionId }),
    queued_messages: status.queuedMessages,
    progress: {
      run_state: status.runState,
      in_flight_work: status.runState === 'run_open' ? 1 : 0,
      last_progress_at_ms: status.lastProgressAtMs ?? 0,
      last_progress_event: progressEvent(status),
      health: progressHealth(status),
    },
    member_ref: status.memberRef,
    ...(status.usageByModel === undefined
      ? {}
      : {
          usage_by_model: Object.fromEntries(
            Object.entries(status.usageByModel).map(([model, u]) => [
              model,
              { input_tokens: u.inputTokens, output_tokens: u.outputTokens },
            ]),
          ),
        }),
    ...(status.budget === undefined ? {} : { budget: budgetToWire(status.budget) }),
  };
}

/** A member's budget on the wire: the limits set and what is left today. */
function budgetToWire(b: BudgetStatus): BudgetStatusWire {
  return {
    ...(b.maxTokensPerRun === undefined ? {} : { max_tokens_per_run: b.maxTokensPerRun }),
    ...(b.maxToolCallsPerRun === undefined ? {} : { max_tool_calls_per_run: b.maxToolCallsPerRun }),
    ...(b.maxTokensPerDay === undefined ? {} : { max_tokens_per_day: b.maxTokensPerDay }),
    tokens_used_today: b.tokensUsedToday,
    ...(b.tokensLeftToday === undefined ? {} : { tokens_left_today: b.tokensLeftToday }),
  };
}

/** {@link BudgetStatus} on the wire. */
interface BudgetStatusWire {
  max_tokens_per_run?: number;
  max_tool_calls_per_run?: number;
  max_tokens_per_day?: number;
  tokens_used_today: number;
  tokens_left_today?: number;
}

/** A member with its status on the wire (an entry of `collect_completed` and `wait_ready`). */
export function completedMemberToWire(member: CompletedMember): { member_id: string; snapshot: MemberStatusWire } {
  return { member_id: member.memberId, snapshot: memberStatusToWire(member.status) };
}

/** A member's session on the wire (`mobkit/member_session_ref`). */
export interface SessionRefWire {
  member_id: string;
  session_id: string;
  member_ref: string;
  created_at_ms: number;
  message_count: number;
}

/** A member's session on the wire ({@link SessionRefWire}). */
export function sessionRefToWire(ref: SessionRef): SessionRefWire {
  return {
    member_id: ref.memberId,
    session_id: ref.sessionId,
    member_ref: ref.memberRef,
    created_at_ms: ref.createdAtMs,
    message_count: ref.messageCount,
  };
}

/** Meerkat's `AssistantBlock` (adjacently tagged), as far as the embedded mob writes them. */
type AssistantBlockWire =
  | { block_type: 'text'; data: { text: string } }
  | { block_type: 'tool_use'; data: { id: string; name: string; args: unknown } };

/**
 * One committed message in Meerkat's serialization (`MessageWire`, tagged by `role`; `created_at`
 * RFC 3339 UTC). A host or peer message is `user` with `render_metadata.class` `user_prompt` or
 * `peer_message`; an answer is `block_assistant` (text and `tool_use` blocks, `stop_reason`); tool
 * results are `tool_results`; a compaction summary is `user` with `transcript_role:
 * "compaction_summary"`. mobkit adds `index` (the message's place in the session), `identity.run_id`
 * (the run that wrote it, Meerkat's `identity`), `peer` (a peer message's sender), `source: "resume"`
 * (the resume notice), `usage` (an answer's tokens), `summary_of` (messages a summary replaces) and
 * `images` (the image blocks a message was sent with).
 */
type SessionMessageWire = { index: number; created_at: string; identity?: { run_id: string } } & (
  | {
      role: 'user';
      content: string;
      /** Images sent with the message, as the `send_message` content blocks that carried them. */
      images?: Array<{ type: 'image'; media_type: string; data: string } | { type: 'image'; url: string }>;
      render_metadata?: { class: 'user_prompt' | 'peer_message' };
      source?: 'resume';
      peer?: string;
      transcript_role?: 'compaction_summary';
      summary_of?: number;
    }
  | {
      role: 'block_assistant';
      blocks: AssistantBlockWire[];
      stop_reason: 'end_turn' | 'tool_use';
      usage?: { input_tokens: number; output_tokens: number };
    }
  | {
      role: 'tool_results';
      results: Array<{ tool_use_id: string; content: string; is_error: boolean }>;
    }
);

/** One committed message on the wire ({@link SessionMessageWire}). */
function sessionMessageToWire(message: SessionMessage): SessionMessageWire {
  const common = {
    index: message.index,
    created_at: new Date(message.createdAtMs).toISOString(),
    ...(message.runId === undefined ? {} : { identity: { run_id: message.runId } }),
  };
  switch (message.role) {
    case 'user':
      return {
        role: 'user',
        content: message.content,
        ...(message.images
          ? {
              images: message.images.map((img) =>
                'url' in img
                  ? { type: 'image' as const, url: img.url }
                  : { type: 'image' as const, media_type: img.mediaType, data: img.data },
              ),
            }
          : {}),
        render_metadata: { class: message.source === 'peer' ? 'peer_message' : 'user_prompt' },
        ...(message.source === 'resume' ? { source: 'resume' as const } : {}),
        ...(message.peer === undefined ? {} : { peer: message.peer }),
        ...common,
      };
    case 'assistant': {
      const blocks: AssistantBlockWire[] = [];
      if (message.content !== '') blocks.push({ block_type: 'text', data: { text: message.content } });
      for (const call of message.toolCalls) {
        blocks.push({ block_type: 'tool_use', data: { id: call.id, name: call.name, args: call.args } });
      }
      return {
        role: 'block_assistant',
        blocks,
        stop_reason: message.toolCalls.length > 0 ? 'tool_use' : 'end_turn',
        ...(message.usage === undefined
          ? {}
          : { usage: { input_tokens: message.usage.inputTokens, output_tokens: message.usage.outputTokens } }),
        ...common,
      };
    }
    case 'tool_results':
      return {
        role: 'tool_results',
        results: message.results.map((r) => ({ tool_use_id: r.toolCallId, content: r.content, is_error: r.isError })),
        ...common,
      };
    case 'system':
      return {
        role: 'user',
        content: message.content,
        transcript_role: 'compaction_summary',
        ...(message.summaryOf === undefined ? {} : { summary_of: message.summaryOf }),
        ...common,
      };
  }
}

/**
 * A page of a session's history on the wire (`mobkit/read_session_history`, Meerkat's
 * `SessionHistoryPage`): `limit` omitted when none was asked for; mobkit adds `member_id` when known.
 */
export interface SessionHistoryPageWire {
  session_id: string;
  member_id?: string;
  message_count: number;
  offset: number;
  limit?: number;
  has_more: boolean;
  messages: SessionMessageWire[];
}

/** A page of a session's history on the wire ({@link SessionHistoryPageWire}). */
export function sessionHistoryPageToWire(page: SessionHistoryPage): SessionHistoryPageWire {
  return {
    session_id: page.sessionId,
    ...(page.memberId === undefined ? {} : { member_id: page.memberId }),
    message_count: page.messageCount,
    offset: page.offset,
    ...(page.limit === undefined ? {} : { limit: page.limit }),
    has_more: page.hasMore,
    messages: page.messages.map(sessionMessageToWire),
  };
}

/**
 * A helper's result on the wire (`mobkit/spawn_helper`, `mobkit/fork_helper`): the original's
 * `output, tokens_used, session_id`, plus mobkit's `member_id, turns, tool_calls, usage`.
 */
export interface HelperResultWire {
  output: string;
  tokens_used: number;
  session_id: string;
  member_id: string;
  turns: number;
  tool_calls: number;
  usage: { input_tokens: number; output_tokens: number };
}

/** A helper's result on the wire ({@link HelperResultWire}). */
export function helperResultToWire(result: HelperResult): HelperResultWire {
  return {
    output: result.output,
    tokens_used: result.tokensUsed,
    session_id: result.sessionId,
    member_id: result.memberId,
    turns: result.turns,
    tool_calls: result.toolCalls,
    usage: { input_tokens: result.usage.inputTokens, output_tokens: result.usage.outputTokens },
  };
}
