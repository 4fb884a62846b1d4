import { agentEventPayloadFromWire } from '@mobkit/core';
import type { RuntimeMode } from '../definition.js';
import type { MemberSnapshot, MobEvent, MobLogPayload, MobStatus } from '../types.js';

/** A roster entry of `mob/members`. */
export interface WireMember {
  agent_identity: string;
  role: string;
  runtime_mode?: RuntimeMode;
  status?: string;
  /** True when the member takes no more work (Meerkat 0.8's roster entry). */
  is_final?: boolean;
  labels?: Record<string, string>;
  wired_to?: string[];
  member_ref?: string;
}

/** Usage as rkat-rpc reports it. */
export interface WireUsage {
  input_tokens?: number;
  output_tokens?: number;
}

/** The part of `mob/member_status` the adapter reads. */
export interface WireMemberStatus {
  current_session_id?: string;
  /** Run progress (Meerkat 0.8): `run_state` is `idle`, `run_open` or `unknown`. */
  progress?: { run_state?: string; in_flight_work?: number };
}

/** Camel-cased usage (missing counts read as 0). */
export function usageOf(u: WireUsage | undefined): { inputTokens: number; outputTokens: number } {
  return { inputTokens: u?.input_tokens ?? 0, outputTokens: u?.output_tokens ?? 0 };
}

/** A roster entry as a {@link MemberSnapshot}. */
export function snapshotFromWire(m: WireMember, sessionId?: string): MemberSnapshot {
  return {
    meerkatId: m.agent_identity,
    profile: m.role,
    state: m.status === 'retiring' ? 'retiring' : 'active',
    runtimeMode: m.runtime_mode ?? 'autonomous_host',
    sessionId,
    wiredTo: [...(m.wired_to ?? [])].sort(),
    labels: { ...(m.labels ?? {}) },
  };
}

/** Maps a `MobEvent.kind` of `mob/events` to a {@link MobLogPayload} (unknown kinds are kept as `other`). */
export function logEventFromWire(kind: Record<string, unknown>): MobLogPayload {
  switch (kind.type) {
    case 'mob_created':
    case 'mob_stopped':
      return { type: kind.type };
    case 'member_spawned':
      return {
        type: 'member_spawned',
        memberId: String(kind.agent_identity),
        profile: String(kind.role),
        runtimeMode: (kind.runtime_mode as RuntimeMode) ?? 'autonomous_host',
        labels: (kind.labels as Record<string, string>) ?? {},
      };
    case 'member_retired':
      return { type: 'member_retired', memberId: String(kind.agent_identity), profile: String(kind.role) };
    case 'members_wired':
    case 'members_unwired':
      return { type: kind.type, a: String(kind.a), b: String(kind.b) };
    default:
      return { type: 'other', raw: kind };
  }
}

const STATUS: Readonly<Record<string, MobStatus>> = Object.freeze({
  creating: 'Creating',
  running: 'Running',
  stopped: 'Stopped',
  completed: 'Completed',
  destroyed: 'Destroyed',
});

/** Meerkat's mob status spelling (any case) as a {@link MobStatus}. */
export function mobStatusFromWire(status: string): MobStatus {
  return STATUS[status.toLowerCase()] ?? (status as MobStatus);
}

/** Whether a member's `mob/member_status` progress says it is running or has work in flight (undefined: not reported). */
export function progressBusy(status: WireMemberStatus | undefined): boolean | undefined {
  const progress = status?.progress;
  if (!progress) return undefined;
  return progress.run_state === 'run_open' || (progress.in_flight_work ?? 0) > 0;
}

/**
 * An agent event of the mob-wide `mob/stream_event` (`AttributedEvent{source:{identity}, role,
 * envelope{source:{session_id}, timestamp_ms, payload}}`), stamped with `seq`; `nowMs` stands in
 * for a missing timestamp.
 */
export function agentEventFromStream(raw: unknown, seq: number, nowMs: number): Extract<MobEvent, { kind: 'agent' }> {
  const attributed = (raw ?? {}) as {
    source?: { identity?: string };
    role?: string;
    envelope?: Record<string, unknown>;
  };
  const envelope = attributed.envelope ?? {};
  const source = (envelope.source ?? {}) as { session_id?: string };
  return {
    kind: 'agent',
    memberId: attributed.source?.identity ?? '',
    profile: attributed.role ?? '',
    sessionId: source.session_id,
    seq,
    timestampMs: Number(envelope.timestamp_ms ?? nowMs),
    event: agentEventPayloadFromWire(envelope.payload ?? {}, source.session_id ?? ''),
  };
}
