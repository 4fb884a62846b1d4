import { randomUUID } from 'node:crypto';
import type { Clock } from '@mobkit/core';
import type { SessionMessage } from '../member-api.js';
import type { ToolCall, ToolResult, Usage } from '../llm/types.js';
import { contentImages } from '../spec.js';
import type { HandlingMode } from '../types.js';
import { Batch, type Durable, type InboxRecord, NS, type RunRecord, type SessionRecord } from './durable.js';
import { type Inbound, type Member, type MemberStats, type OpenRun, renderInbound } from './member.js';
import type { StoredSummary } from './restore.js';
import type { SessionLogs } from './sessions.js';

/** A peer delivery a comms tool made: committed with the tool's result, then applied. */
export interface PeerEffect {
  target: Member;
  item: Inbound;
  mode: HandlingMode;
}

/** The longest `outputPreview`, in characters. */
export const OUTPUT_PREVIEW_CHARS = 200;

/** What the journal needs from its mob. */
export interface JournalHost {
  readonly durable: Durable;
  readonly sessions: SessionLogs;
  readonly clock: Clock;
  /** The next inbox sequence number (mob-wide, rising). */
  nextSeq(): number;
}

/** The durable form of an inbox item. */
export function inboxRecord(memberId: string, item: Inbound): InboxRecord {
  const body =
    item.kind === 'peer'
      ? { kind: 'peer' as const, from: item.from, body: item.body }
      : { kind: 'external' as const, content: item.content, ...(item.source ? { source: item.source } : {}) };
  return { memberId, seq: item.seq ?? 0, acceptedAtMs: item.acceptedAtMs ?? 0, item: body };
}

/** The session message a trigger item becomes. */
function triggerMessage(item: Inbound, index: number, createdAtMs: number, runId: string): SessionMessage {
  const base = { index, createdAtMs, runId, role: 'user' as const, content: renderInbound(item) };
  if (item.kind === 'peer') return { ...base, source: 'peer', peer: item.from };
  const images = contentImages(item.content);
  return { ...base, ...(images.length > 0 ? { images } : {}), source: item.source === 'resume' ? 'resume' : 'host' };
}

/**
 * The durable steps of a member's run (Meerkat's session writes). Each step commits first, as one
 * store transaction, and only then changes memory, so a failed write leaves nothing half-applied
 * and a killed process leaves the store at a step boundary:
 * - start: the consumed inbox items deleted, the trigger messages and the run record written;
 * - each assistant message (with the member's usage);
 * - each tool result as its call completes (the turn's `tool_results` message grows), with the peer
 *   deliveries that call made;
 * - end: the final assistant message, the run record deleted, the member's stats.
 */
export class RunJournal {
  constructor(private readonly host: JournalHost) {}

  private session(m: Member): SessionRecord {
    let s = this.host.sessions.get(m.sessionId);
    if (!s) {
      s = { sessionId: m.sessionId, memberId: m.id, createdAtMs: this.host.clock.nowMs(), count: 0, first: 0 };
      this.host.sessions.add(s);
    }
    return s;
  }

  /** `stats` with `usage` of `model` counted (total, today's, per model). */
  private counted(stats: MemberStats, model: string, usage: Usage): MemberStats {
    const tokens = usage.inputTokens + usage.outputTokens;
    const date = new Date(this.host.clock.nowMs()).toISOString().slice(0, 10);
    const prior = stats.byModel?.[model] ?? { inputTokens: 0, outputTokens: 0 };
    return {
      ...stats,
      tokensUsed: stats.tokensUsed + tokens,
      day: { date, tokens: (stats.day?.date === date ? stats.day.tokens : 0) + tokens },
      byModel: {
        ...stats.byModel,
        [model]: {
          inputTokens: prior.inputTokens + usage.inputTokens,
          outputTokens: prior.outputTokens + usage.outputTokens,
        },
      },
    };
  }

  /**
   * Commits a user message the mob adds inside a run (the output-schema correction request).
   * Resolves with its index.
   */
  async note(m: Member, run: OpenRun, content: string): Promise<number> {
    const d = this.host.durable;
    const s = this.session(m);
    const index = s.count;
    const msg: SessionMessage = {
      index,
      createdAtMs: this.host.clock.nowMs(),
      runId: run.runId,
      role: 'user',
      content,
      source: 'host',
    };
    const batch = new Batch();
    if (d.persistent) {
      d.putMessage(batch, m.sessionId, msg);
      d.putSession(batch, { ...s, count: index + 1 });
    }
    if (d.persistent) await d.commit(batch);
    this.host.sessions.put(m.sessionId, msg);
    return index;
  }

  private putStats(batch: Batch, m: Member, stats: MemberStats): void {
    batch.put(NS.stats, this.host.durable.memberKey(m.id), stats);
  }

  /** Commits the start of a run triggered by `items`; resolves with the open run. */
  async start(m: Member, items: readonly Inbound[]): Promise<{ run: OpenRun; messages: SessionMessage[] }> {
    const d = this.host.durable;
    const now = this.host.clock.nowMs();
    const s = this.session(m);
    let replyTo: string | undefined;
    for (const item of items) if (item.kind === 'peer') replyTo = item.from;
    const run: OpenRun = {
      runId: randomUUID(),
      sessionId: m.sessionId,
      startedAtMs: now,
      firstIndex: s.count,
      replyTo,
      prompt: items.map(renderInbound).join('\n\n'),
    };
    const messages = items.map((item, i) => triggerMessage(item, s.count + i, now, run.runId));
    const batch = new Batch();
    if (d.persistent) {
      for (const item of items) if (item.seq !== undefined) batch.delete(NS.inbox, d.inboxKey(m.id, item.seq));
      for (const msg of messages) d.putMessage(batch, m.sessionId, msg);
      d.putSession(batch, { ...s, count: s.count + messages.length });
      const record: RunRecord = { ...run, memberId: m.id, status: 'running' };
      batch.put(NS.runs, d.memberKey(m.id), record);
    }
    if (d.persistent) await d.commit(batch);
    for (const msg of messages) this.host.sessions.put(m.sessionId, msg);
    m.openRun = run;
    return { run, messages };
  }

  /**
   * Commits an assistant message; with `final`, also the end of the run (run record deleted, the
   * answer as the output preview, the error cleared). Resolves with the message's index.
   */
  async assistant(
    m: Member,
    run: OpenRun,
    turn: { content: string; toolCalls: ToolCall[]; usage: Usage },
    final: { text: string } | undefined,
  ): Promise<number> {
    const d = this.host.durable;
    const s = this.session(m);
    const index = s.count;
    const msg: SessionMessage = {
      index,
      createdAtMs: this.host.clock.nowMs(),
      runId: run.runId,
      role: 'assistant',
      content: turn.content,
      toolCalls: turn.toolCalls,
      usage: turn.usage,
    };
    const stats = this.counted(m.stats, m.profile.model, turn.usage);
    if (final) {
      stats.outputPreview = final.text.slice(0, OUTPUT_PREVIEW_CHARS);
      stats.error = undefined;
    }
    const batch = new Batch();
    if (d.persistent) {
      d.putMessage(batch, m.sessionId, msg);
      d.putSession(batch, { ...s, count: index + 1 });
      this.putStats(batch, m, stats);
      if (final) batch.delete(NS.runs, d.memberKey(m.id));
    }
    if (d.persistent) await d.commit(batch);
    this.host.sessions.put(m.sessionId, msg);
    m.stats = { ...stats, lastProgressAtMs: m.stats.lastProgressAtMs, lastProgressEvent: m.stats.lastProgressEvent };
    if (final) m.openRun = undefined;
    return index;
  }

  /**
   * Commits a compaction summary (a `system` session message standing for `summaryOf` messages the
   * model saw, stored with `keptFrom`, the session index of the first message kept after it) and
   * the summarisation's usage. Resolves with its index.
   */
  async summary(
    m: Member,
    run: OpenRun,
    text: string,
    summaryOf: number,
    keptFrom: number | undefined,
    usage: Usage,
  ): Promise<number> {
    const d = this.host.durable;
    const s = this.session(m);
    const index = s.count;
    const msg: StoredSummary = {
      index,
      createdAtMs: this.host.clock.nowMs(),
      runId: run.runId,
      role: 'system',
      content: text,
      summaryOf,
      keptFrom: keptFrom ?? index,
    };
    const stats = this.counted(m.stats, m.profile.model, usage);
    const batch = new Batch();
    if (d.persistent) {
      d.putMessage(batch, m.sessionId, msg);
      d.putSession(batch, { ...s, count: index + 1 });
      this.putStats(batch, m, stats);
    }
    if (d.persistent) await d.commit(batch);
    this.host.sessions.put(m.sessionId, msg);
    m.stats.tokensUsed = stats.tokensUsed;
    m.stats.day = stats.day;
    m.stats.byModel = stats.byModel;
    return index;
  }

  /**
   * Commits the turn's `tool_results` message at `index` as it stands (the results so far, in call
   * order), with the inbox items of `effects` (so a peer delivery exists exactly when the result
   * that reports it does).
   */
  async toolResults(
    m: Member,
    run: OpenRun,
    index: number,
    results: ToolResult[],
    effects: readonly PeerEffect[],
  ): Promise<void> {
    const d = this.host.durable;
    const s = this.session(m);
    const msg: SessionMessage = {
      index,
      createdAtMs: this.host.clock.nowMs(),
      runId: run.runId,
      role: 'tool_results',
      results,
    };
    const now = this.host.clock.nowMs();
    for (const e of effects) {
      e.item.seq = this.host.nextSeq();
      e.item.acceptedAtMs = now;
    }
    const batch = new Batch();
    if (d.persistent) {
      d.putMessage(batch, m.sessionId, msg);
      d.putSession(batch, { ...s, count: Math.max(s.count, index + 1) });
      for (const e of effects)
        batch.put(NS.inbox, d.inboxKey(e.target.id, e.item.seq ?? 0), inboxRecord(e.target.id, e.item));
    }
    if (d.persistent) await d.commit(batch);
    this.host.sessions.put(m.sessionId, msg);
  }

  /**
   * Commits the end of a failed run: `closing` (the turn's `tool_results` with an error result for
   * each call that has none), the run record deleted, and the error in the member's stats.
   */
  async fail(
    m: Member,
    run: OpenRun,
    error: string,
    closing?: { index: number; results: ToolResult[] },
  ): Promise<void> {
    const d = this.host.durable;
    const s = this.session(m);
    const msg: SessionMessage | undefined = closing && {
      index: closing.index,
      createdAtMs: this.host.clock.nowMs(),
      runId: run.runId,
      role: 'tool_results',
      results: closing.results,
    };
    const stats: MemberStats = { ...m.stats, error };
    const batch = new Batch();
    if (d.persistent) {
      if (msg) {
        d.putMessage(batch, m.sessionId, msg);
        d.putSession(batch, { ...s, count: Math.max(s.count, msg.index + 1) });
      }
      batch.delete(NS.runs, d.memberKey(m.id));
      this.putStats(batch, m, stats);
    }
    try {
      if (d.persistent) await d.commit(batch);
      if (msg) this.host.sessions.put(m.sessionId, msg);
    } finally {
      // The run ended in this process either way; a record left open by a failed write is continued after a restart.
      m.stats.error = error;
      m.openRun = undefined;
    }
  }
}
