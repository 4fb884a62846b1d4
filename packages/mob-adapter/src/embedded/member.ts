import type { Profile, RuntimeMode } from '../definition.js';
import { MobRuntimeError } from '../errors.js';
import type { LlmClient, ToolCall, ToolResult } from '../llm/types.js';
import { contentText } from '../spec.js';
import type { ContentInput, MemberSnapshot, MemberState, SpawnMemberSpec } from '../types.js';
import type { MemberHistory } from './history.js';

/**
 * Work waiting for a member: a host message (a send, a prompt, an initial message; `resume` for the
 * resume notice) or a peer message. `seq` orders a member's inbox and keys its durable record.
 */
export type Inbound = (
  | { kind: 'external'; content: ContentInput; source?: 'resume' }
  | { kind: 'peer'; from: string; body: string }
) & { seq?: number; acceptedAtMs?: number };

/** A run in progress (durable as the member's run record while it is open). */
export interface OpenRun {
  runId: string;
  sessionId: string;
  startedAtMs: number;
  /** Session index of the run's first message. */
  firstIndex: number;
  /** The peer whose message started the run. */
  replyTo: string | undefined;
  /** The prompt the run started with (for `run_started` when it continues after a restore). */
  prompt: string;
}

/** A run a crash interrupted, as a restore finds it. */
export interface Interrupted {
  run: OpenRun;
  /** The tool phase the crash cut: the last assistant message's calls and the results committed for them. */
  tools?: { index: number; calls: ToolCall[]; done: ToolResult[] };
  /** The run's final answer, when it was committed but the run was not closed. */
  finalText?: string;
}

/** What the member API reports about a member's work (durable with a store). */
export interface MemberStats {
  tokensUsed: number;
  /** Tokens of the current UTC day (`max_tokens_per_day`). */
  day?: { date: string; tokens: number };
  /** Usage per model. */
  byModel?: Record<string, { inputTokens: number; outputTokens: number }>;
  outputPreview: string | undefined;
  error: string | undefined;
  lastProgressAtMs: number | undefined;
  lastProgressEvent: string | undefined;
}

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
  /** Usage, last answer and last error (the member API's `memberStatus`). */
  stats: MemberStats;
  /** The run open now (or, after a restore, the interrupted run waiting to continue). */
  openRun: OpenRun | undefined;
  /** Set after a restore: the interrupted run to continue before anything else. */
  resumeRun: Interrupted | undefined;
}

/** Fresh stats of a member that has done nothing yet. */
export function emptyStats(): MemberStats {
  return {
    tokensUsed: 0,
    outputPreview: undefined,
    error: undefined,
    lastProgressAtMs: undefined,
    lastProgressEvent: undefined,
  };
}

/** Whether `m` is in the roster and not retiring. */
export function isActive(m: Member | undefined): m is Member {
  return m !== undefined && m.state === 'active' && !m.retired;
}

/** How an inbound item reads to the model (`Peer message from <id>:\n<body>`, Meerkat's projection). */
export function renderInbound(item: Inbound): string {
  return item.kind === 'peer' ? `Peer message from ${item.from}:\n${item.body}` : contentText(item.content);
}

/** Whether the member is ready (`waitReady`): active, nothing queued, no run open or scheduled. */
export function isReady(m: Member): boolean {
  return (
    isActive(m) &&
    m.inbox.length === 0 &&
    m.running === undefined &&
    m.openRun === undefined &&
    !m.pumpScheduled &&
    m.resumeRun === undefined
  );
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
