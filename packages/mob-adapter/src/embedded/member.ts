import type { Profile, RuntimeMode } from '../definition.js';
import { MobRuntimeError } from '../errors.js';
import type { LlmClient } from '../llm/types.js';
import { contentText } from '../spec.js';
import type { ContentInput, MemberSnapshot, MemberState, SpawnMemberSpec } from '../types.js';
import type { MemberHistory } from './history.js';

/** Work waiting for a member: a host message or a peer message. */
export type Inbound = { kind: 'external'; content: ContentInput } | { kind: 'peer'; from: string; body: string };

/** One member of the embedded mob. */
export interface Member {
  id: string;
  profile: Profile;
  spec: SpawnMemberSpec;
  sessionId: string;
  runtimeMode: RuntimeMode;
  labels: Record<string, string>;
  state: MemberState;
  wired: Set<string>;
  /** The conversation, bounded by bytes and count (`historyMaxBytes`, `historyMaxMessages`). */
  history: MemberHistory;
  inbox: Inbound[];
  /** Serializes the member's runs (and retirement behind them). */
  lock: Promise<void>;
  pumpScheduled: boolean;
  running: AbortController | undefined;
  /** The peer whose message started the current run (`reply_to_peer`). */
  replyTo: string | undefined;
  llm: LlmClient;
  retired: boolean;
  /** The system prompt: the profile's (skills, comms) plus the spawn's additional instructions. Built once. */
  system: string;
}

/** Whether `m` is in the roster and not retiring. */
export function isActive(m: Member | undefined): m is Member {
  return m !== undefined && m.state === 'active' && !m.retired;
}

/** How an inbound item reads to the model (`Peer message from <id>:\n<body>`, Meerkat's projection). */
export function renderInbound(item: Inbound): string {
  return item.kind === 'peer' ? `Peer message from ${item.from}:\n${item.body}` : contentText(item.content);
}

/** Runs `fn` once the member's earlier work has finished. */
export async function withLock<T>(m: Member, fn: () => Promise<T>): Promise<T> {
  const previous = m.lock;
  let release!: () => void;
  m.lock = new Promise<void>((r) => {
    release = r;
  });
  await previous;
  try {
    return await fn();
  } finally {
    release();
  }
}

/** The roster entry of a member. */
export function snapshotOf(m: Member): MemberSnapshot {
  return {
    meerkatId: m.id,
    profile: m.profile.name,
    state: m.state,
    runtimeMode: m.runtimeMode,
    sessionId: m.sessionId,
    wiredTo: [...m.wired].sort(),
    labels: { ...m.labels },
  };
}

/** `RunCancelled` for a member's run, naming why. */
export function cancelled(memberId: string, reason?: unknown): MobRuntimeError {
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled (${why})`, {
    details: { memberId },
  });
}
