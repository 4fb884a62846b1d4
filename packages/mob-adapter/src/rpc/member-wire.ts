import { MobRuntimeError } from '../errors.js';
import type { ToolCall, ToolResult } from '../llm/types.js';
import {
  type HelperResult,
  type MemberApiMethod,
  type MemberRunState,
  type MemberStatus,
  type MemberStatusValue,
  type SessionMessage,
  memberRef,
} from '../member-api.js';
import { type WireUsage, usageOf } from './wire.js';

/** `mob/member_status`'s `MobMemberSnapshot` (meerkat-mob; fields Meerkat omits when None are optional). */
export interface WireMemberSnapshot {
  status?: string;
  is_final?: boolean;
  tokens_used?: number;
  output_preview?: string | null;
  error?: string | null;
  current_session_id?: string | null;
  member_ref?: string;
  progress?: {
    run_state?: string;
    in_flight_work?: number;
    last_progress_at_ms?: number;
    last_progress_event?: string;
    health?: string;
  };
}

const STATUS_VALUES: ReadonlySet<string> = new Set(['active', 'retiring', 'broken', 'completed', 'unknown']);
const RUN_STATES: ReadonlySet<string> = new Set(['idle', 'run_open', 'unknown']);

/**
 * A {@link MemberStatus} from Meerkat's snapshot. `queuedMessages` is Meerkat's `in_flight_work`
 * less the run that is open (in-flight work counts accepted items until their run ends, the open
 * one included); a status or run state this adapter does not know reads as `unknown`.
 */
export function memberStatusFromWire(
  mobId: string,
  memberId: string,
  profile: string,
  wire: WireMemberSnapshot,
): MemberStatus {
  const runState: MemberRunState =
    wire.progress?.run_state !== undefined && RUN_STATES.has(wire.progress.run_state)
      ? (wire.progress.run_state as MemberRunState)
      : 'unknown';
  const inFlight = wire.progress?.in_flight_work ?? 0;
  const status: MemberStatus = {
    memberId,
    profile,
    status:
      wire.status !== undefined && STATUS_VALUES.has(wire.status) ? (wire.status as MemberStatusValue) : 'unknown',
    isFinal: wire.is_final === true,
    runState,
    tokensUsed: wire.tokens_used ?? 0,
    queuedMessages: Math.max(0, inFlight - (runState === 'run_open' ? 1 : 0)),
    memberRef: wire.member_ref ?? memberRef(mobId, memberId),
  };
  if (typeof wire.output_preview === 'string') status.outputPreview = wire.output_preview;
  if (typeof wire.error === 'string') status.error = wire.error;
  if (typeof wire.current_session_id === 'string') status.currentSessionId = wire.current_session_id;
  if (typeof wire.progress?.last_progress_at_ms === 'number')
    status.lastProgressAtMs = wire.progress.last_progress_at_ms;
  if (typeof wire.progress?.last_progress_event === 'string')
    status.lastProgressEvent = wire.progress.last_progress_event;
  return status;
}

/** `mob/spawn_helper` / `mob/fork_helper`'s `MobHelperResult`. */
export interface WireHelperResult {
  output?: string | null;
  tokens_used?: number;
  agent_identity?: string;
  session_id: string;
  usage?: WireUsage;
  turns?: number;
  tool_calls?: number;
}

/** A {@link HelperResult} from Meerkat's `MobHelperResult` (a helper that answered nothing has output ''). */
export function helperResultFromWire(memberId: string, wire: WireHelperResult): HelperResult {
  return {
    memberId: wire.agent_identity ?? memberId,
    output: wire.output ?? '',
    tokensUsed: wire.tokens_used ?? 0,
    sessionId: wire.session_id,
    usage: usageOf(wire.usage),
    turns: wire.turns ?? 0,
    toolCalls: wire.tool_calls ?? 0,
  };
}

type WireContent = string | Array<{ type?: string; text?: string }>;

/** One message of `session/history` (meerkat-contracts `WireSessionMessage`, tagged by `role`). */
export type WireSessionMessage = { created_at?: string } & (
  | { role: 'system'; content: string }
  | { role: 'system_notice'; kind?: string; body?: string }
  | {
      role: 'user';
      content: WireContent;
      render_metadata?: { class?: string };
      transcript_role?: string;
    }
  | {
      role: 'block_assistant';
      blocks: Array<{ block_type?: string; data?: { text?: string; id?: string; name?: string; args?: unknown } }>;
      stop_reason?: string;
    }
  | {
      role: 'tool_results';
      results: Array<{ tool_use_id: string; content: WireContent; is_error?: boolean }>;
    }
);

function textOf(content: WireContent): string {
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : `[${b.type}]`)).join('\n');
}

/** Meerkat's projection of an inbound peer message (`meerkat-core/src/interaction.rs`). */
const PEER_TEXT = /^Peer message from ([^:\n]+):\n/;
/** Meerkat's resume notice to the orchestrator (`realize_orchestrator_resume_notification`). */
const RESUME_TEXT = /^Mob '[^']*' resumed[ .]/;

/**
 * Decodes a page of Meerkat's transcript into {@link SessionMessage}s, numbered from `offset`.
 * `block_assistant` becomes `assistant` (text blocks joined; `tool_use` blocks are the tool calls);
 * `system_notice` becomes `system` (its body); a user message with `transcript_role:
 * "compaction_summary"` becomes `system`. A user message's source is `peer` when Meerkat marks it
 * a peer message (or its text is the peer projection), `resume` for the resume notice, else `host`.
 * A tool result's `name` is its call's name when the call is in `knownCalls` (earlier messages,
 * this page included), '' otherwise. Meerkat's transcript carries neither a run id nor per-message usage.
 */
export function sessionMessagesFromWire(
  messages: WireSessionMessage[],
  offset: number,
  knownCalls: Map<string, string>,
): SessionMessage[] {
  return messages.map((raw, i) => {
    const base = { index: offset + i, createdAtMs: raw.created_at ? Date.parse(raw.created_at) || 0 : 0 };
    switch (raw.role) {
      case 'system':
        return { ...base, role: 'system', content: raw.content };
      case 'system_notice':
        return { ...base, role: 'system', content: raw.body ?? '' };
      case 'user': {
        const content = textOf(raw.content);
        if (raw.transcript_role === 'compaction_summary') return { ...base, role: 'system', content };
        const peer = PEER_TEXT.exec(content);
        if (raw.render_metadata?.class === 'peer_message' || peer)
          return { ...base, role: 'user', content, source: 'peer', ...(peer?.[1] ? { peer: peer[1] } : {}) };
        return { ...base, role: 'user', content, source: RESUME_TEXT.test(content) ? 'resume' : 'host' };
      }
      case 'block_assistant': {
        const toolCalls: ToolCall[] = [];
        const text: string[] = [];
        for (const block of raw.blocks) {
          if (block.block_type === 'text' && typeof block.data?.text === 'string') text.push(block.data.text);
          if (block.block_type === 'tool_use' && block.data?.id && block.data.name) {
            toolCalls.push({ id: block.data.id, name: block.data.name, args: block.data.args ?? {} });
            knownCalls.set(block.data.id, block.data.name);
          }
        }
        return { ...base, role: 'assistant', content: text.join(''), toolCalls };
      }
      case 'tool_results':
        return {
          ...base,
          role: 'tool_results',
          results: raw.results.map(
            (r): ToolResult => ({
              toolCallId: r.tool_use_id,
              name: knownCalls.get(r.tool_use_id) ?? '',
              content: textOf(r.content),
              isError: r.is_error === true,
            }),
          ),
        };
      default:
        return { ...base, role: 'system', content: JSON.stringify(raw) };
    }
  });
}

/**
 * The Meerkat methods each member API method needs on the rkat-rpc mob. The methods absent here
 * have no Meerkat counterpart (see {@link UNSUPPORTED_WHY}).
 */
const MEMBER_API_BACKING: Readonly<Partial<Record<MemberApiMethod, readonly string[]>>> = Object.freeze({
  member_status: ['mob/member_status', 'mob/members'],
  member_current_session_id: ['mob/member_status'],
  member_session_ref: ['mob/member_status', 'session/read'],
  read_session_history: ['session/history', 'mob/members', 'mob/member_status'],
  collect_completed: ['mob/members', 'mob/member_status'],
  wait_ready: ['mob/wait_ready', 'mob/members'],
  force_cancel_member: ['mob/force_cancel', 'mob/member_status'],
  spawn_helper: ['mob/spawn_helper'],
  fork_helper: ['mob/fork_helper'],
  attach_existing_session: ['mob/spawn', 'session/read', 'mob/members', 'mob/member_status'],
});

/** Why a member API method has no Meerkat counterpart, and what to do instead. */
export const UNSUPPORTED_WHY: Readonly<Partial<Record<MemberApiMethod, string>>> = Object.freeze({
  'mob_labels/get':
    "Meerkat's rkat-rpc has no mob-label methods (mobkit kept mob labels in a sidecar of its own, lost on restart); keep them in the host, or use the embedded mob",
  'mob_labels/set':
    "Meerkat's rkat-rpc has no mob-label methods (mobkit kept mob labels in a sidecar of its own, lost on restart); keep them in the host, or use the embedded mob",
  'mob_labels/delete':
    "Meerkat's rkat-rpc has no mob-label methods (mobkit kept mob labels in a sidecar of its own, lost on restart); keep them in the host, or use the embedded mob",
  purge_member:
    "Meerkat has no method that deletes a member's sessions and history (session/archive keeps the transcript readable); retire the member, or use the embedded mob with a store to purge",
});

/** `UnsupportedForMode` for a member API method this rkat-rpc mob cannot answer. */
export function unsupportedOnRkat(method: MemberApiMethod, why: string): MobRuntimeError {
  return new MobRuntimeError(
    'UNSUPPORTED_FOR_MODE',
    `${method} is not supported on the rkat-rpc mob: ${why}; see capabilities.memberApi for what it answers`,
    { details: { method, mode: 'rkat-rpc' } },
  );
}

/** The member API methods a server offering `methods` answers (every backing method present). */
export function memberApiFor(methods: readonly string[]): MemberApiMethod[] {
  const offered = new Set(methods);
  return (Object.entries(MEMBER_API_BACKING) as Array<[MemberApiMethod, readonly string[]]>)
    .filter(([, needs]) => needs.every((m) => offered.has(m)))
    .map(([method]) => method);
}
