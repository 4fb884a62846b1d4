import { type AgentEventPayload, type Clock, systemClock } from '@mobkit/core';
import type { Budget, MobDefinition, Profile } from '../definition.js';
import { MobRuntimeError, invalidInput, memberNotFound, notExternallyAddressable, requireMemberId } from '../errors.js';
import type { LlmMessage } from '../llm/types.js';
import {
  type CompletedMember,
  type ForkContext,
  type HelperOptions,
  type HelperResult,
  type MemberApiMethod,
  type MemberStatus,
  type MobCapabilities,
  type PurgeOptions,
  type PurgeReport,
  type SessionHistoryPage,
  type SessionHistoryQuery,
  type SessionRef,
  type WaitReadyOptions,
  type WaitReadyResult,
  memberRef,
} from '../member-api.js';
import { DEFAULT_MAX_MESSAGE_BYTES, positiveLimit, requireMessageSize, truncateUtf8 } from '../message-size.js';
import { CursorLog, EventFanout, type MobLogEvent } from '../shared/event-log.js';
import { applyReconcile, byMemberId, planReconcile, spawnAll, withLabel } from '../shared/roster.js';
import { contentImages, normalizeSpawnSpec, requireContent } from '../spec.js';
import { modelSupportsVision } from '../llm/models.js';
import type {
  ContentInput,
  HandlingMode,
  MemberSnapshot,
  MobEvent,
  MobLogPayload,
  MobStatus,
  ReconcileOptions,
  ReconcileReport,
  RunResult,
  RunTurnOptions,
  SendOptions,
  SpawnMemberSpec,
  SubscribeOptions,
} from '../types.js';
import { type AgentLoopHost, type RunTrigger, runAgent, runNotStarted, utcDay } from './agent-loop.js';
import {
  Batch,
  Durable,
  type FinalRecord,
  type InboxRecord,
  type MemberRecord,
  type MetaRecord,
  NS,
  type RunRecord,
  type SessionRecord,
} from './durable.js';
import { DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_MESSAGES, type HistoryLimits } from './history.js';
import { OUTPUT_PREVIEW_CHARS, type PeerEffect, RunJournal, inboxRecord } from './journal.js';
import {
  type Inbound,
  type Interrupted,
  type Member,
  type MemberStats,
  type OpenRun,
  emptyStats,
  isActive,
  isReady,
  snapshotOf,
  withLock,
} from './member.js';
import { SUMMARY_PREFIX, compactForTurn } from './compaction.js';
import { MemberFactory } from './member-factory.js';
import {
  forkCopy,
  interruptedResult,
  loadHistory,
  publicMessage,
  requireForkContext,
  seedMessages,
} from './restore.js';
import { Roster } from './roster.js';
import { SessionLogs } from './sessions.js';
import type { MemberTools } from './tools.js';
import { memberTools } from './tool-sources.js';
import type { McpHub } from '../tools/mcp/hub.js';
import type { EmbeddedMob, EmbeddedMobOptions, EmbeddedMobTuning, HistoryRetention } from './types.js';

/** Every member API method; the embedded mob answers all of them. */
const MEMBER_API: readonly MemberApiMethod[] = Object.freeze([
  'member_status',
  'member_current_session_id',
  'member_session_ref',
  'read_session_history',
  'collect_completed',
  'wait_ready',
  'force_cancel_member',
  'spawn_helper',
  'fork_helper',
  'attach_existing_session',
  'mob_labels/get',
  'mob_labels/set',
  'mob_labels/delete',
  'purge_member',
]);

/** How many retired members' final records are kept in memory (the store keeps all until purged). */
const FINAL_RECORDS_KEPT = 1000;
/** The default `waitReady` timeout (the original's 10 minutes). */
const DEFAULT_WAIT_READY_MS = 10 * 60 * 1000;
/** Records one retention or purge transaction deletes at most. */
const DELETE_BATCH = 500;

/** The error text of a run the process stopped in the middle of. */
function interruptedError(memberId: string, runId: string): string {
  return `run ${runId} of member ${memberId} was interrupted: the process stopped mid-run; it continues from its last committed step`;
}

/** `SessionNotFound` naming the session. */
function sessionNotFound(sessionId: string): MobRuntimeError {
  return new MobRuntimeError(
    'SESSION_NOT_FOUND',
    `session not found: ${sessionId} (not a session of this mob, or purged)`,
    {
      details: { sessionId, field: 'session_id' },
    },
  );
}

function requireLabels(labels: unknown, field: string): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels))
    throw invalidInput(field, 'must be a map of string to string');
  for (const [k, v] of Object.entries(labels))
    if (typeof v !== 'string') throw invalidInput(`${field}.${k}`, `must be a string, got ${typeof v}`);
  return { ...(labels as Record<string, string>) };
}

function optionalPositive(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw invalidInput(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

class EmbeddedMobImpl implements EmbeddedMob, AgentLoopHost {
  readonly kind = 'embedded' as const;
  readonly mobId: string;
  readonly definition: MobDefinition;
  readonly clock: Clock;
  readonly tuning: EmbeddedMobTuning;
  readonly tools: MemberTools;
  /** The mob's MCP servers' sessions (closed with the mob). */
  private readonly hub: McpHub | undefined;
  private readonly purgeTasks: (memberId: string) => Promise<number>;
  readonly maxMessageBytes: number;
  readonly durable: Durable;
  readonly sessions: SessionLogs;
  readonly journal: RunJournal;
  readonly capabilities: MobCapabilities;
  private state: MobStatus = 'Creating';
  private readonly roster: Roster;
  private readonly fanout = new EventFanout();
  private readonly log: CursorLog;
  private readonly members: MemberFactory;
  private readonly historyLimits: HistoryLimits;
  private readonly retention: HistoryRetention | undefined;
  private readonly notifyOnResume: boolean;
  /** Resolves the hold on restored work (`holdRestoredWork`); undefined once released or when nothing is held. */
  private releaseHold: (() => void) | undefined;
  private readonly restoredWorkHeld: Promise<void>;
  private busy = 0;
  private idleWaiters: Array<() => void> = [];
  private readyWaiters = new Set<() => void>();
  private labels: Record<string, string> = {};
  /** Retired members' final records, oldest first (at most {@link FINAL_RECORDS_KEPT}). */
  private readonly finals = new Map<string, FinalRecord>();
  /** Ids being spawned (reserved while the spawn commits). */
  private readonly spawning = new Set<string>();
  private seq = 0;
  /** Serializes roster writes with a store (so each member record is written from the state it follows). */
  private rosterChain: Promise<unknown> = Promise.resolve();
  /** Set by close(): pending `waitReady` calls answer at once. */
  private closed = false;

  constructor(definition: MobDefinition, options: EmbeddedMobOptions) {
    this.definition = definition;
    this.mobId = definition.id;
    this.tuning = options.options ?? {};
    this.clock = this.tuning.clock ?? systemClock;
    this.maxMessageBytes = positiveLimit(this.tuning.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
    this.historyLimits = {
      maxBytes: positiveLimit(this.tuning.historyMaxBytes, DEFAULT_HISTORY_MAX_BYTES, 'historyMaxBytes'),
      maxMessages: positiveLimit(this.tuning.historyMaxMessages, DEFAULT_HISTORY_MAX_MESSAGES, 'historyMaxMessages'),
    };
    const retention = options.historyRetention;
    if (retention) {
      optionalPositive(retention.maxAgeMs, 'historyRetention.maxAgeMs');
      optionalPositive(retention.maxMessages, 'historyRetention.maxMessages');
      if (retention.maxAgeMs !== undefined || retention.maxMessages !== undefined) this.retention = { ...retention };
    }
    this.notifyOnResume = options.notifyOrchestratorOnResume ?? true;
    this.restoredWorkHeld = options.holdRestoredWork
      ? new Promise<void>((resolve) => {
          this.releaseHold = resolve;
        })
      : Promise.resolve();
    this.durable = new Durable(options.store, definition.id);
    this.sessions = new SessionLogs(this.durable);
    this.journal = new RunJournal(this);
    this.capabilities = Object.freeze({ persistent: this.durable.persistent, memberApi: MEMBER_API });
    this.members = new MemberFactory(definition, options.llm, this.tuning, this.historyLimits);
    this.log = new CursorLog(this.tuning.eventLogLimit ?? 10_000);
    this.roster = new Roster(definition, (event) => this.logEvent(event));
    const built = memberTools(
      definition,
      options,
      { mobId: this.mobId, maxMessageBytes: this.maxMessageBytes, member: (id) => this.roster.get(id) },
      this.clock,
      options.store,
    );
    this.tools = built.tools;
    this.hub = built.hub;
    this.purgeTasks = built.purgeTasks;
  }

  /** Starts the mob: restores it from the store when the store holds it, else starts empty (and records it). */
  async open(): Promise<void> {
    if (this.durable.persistent) {
      const meta = await this.durable.meta();
      if (meta) {
        await this.restore(meta);
        return;
      }
      if (this.durable.persistent) await this.durable.commit(this.metaBatch('Running', {}));
    }
    this.state = 'Running';
    this.logEvent({ type: 'mob_created' });
  }

  budgetFor(m: Member): Budget {
    return this.definition.budgetFor(m.profile);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  private metaBatch(state: MobStatus, labels: Record<string, string>): Batch {
    const meta: MetaRecord = { state, labels };
    return new Batch().put(NS.meta, this.durable.mobKey, meta);
  }

  // ---- events -------------------------------------------------------------
  /** Publishes an agent event of `member` (only builds it when someone listens; `seq` counts it either way). */
  emit(member: Member, event: AgentEventPayload): void {
    const seq = this.fanout.nextSeq();
    const now = this.clock.nowMs();
    member.stats.lastProgressAtMs = now;
    member.stats.lastProgressEvent = event.type;
    if (this.fanout.size === 0) return;
    this.fanout.publish({
      kind: 'agent',
      memberId: member.id,
      profile: member.profile.name,
      sessionId: member.sessionId,
      seq,
      timestampMs: now,
      event,
    });
  }

  private logEvent(event: MobLogPayload): void {
    this.fanout.publish(this.log.append(event, this.fanout.nextSeq(), this.clock.nowMs()));
  }

  subscribe(listener: (event: MobEvent) => void, options: SubscribeOptions = {}): () => void {
    return this.fanout.subscribe(listener, options);
  }

  events(afterCursor = 0, limit = 100): MobLogEvent[] {
    return this.log.after(afterCursor, limit);
  }

  // ---- state --------------------------------------------------------------
  async status(): Promise<MobStatus> {
    return this.state;
  }

  private requireRunning(op: string): void {
    if (this.state !== 'Running') {
      throw new MobRuntimeError(
        'INVALID_TRANSITION',
        `invalid state transition: cannot ${op} while the mob is ${this.state}${this.state === 'Stopped' ? '; call resume() first' : ''}`,
        { details: { state: this.state, operation: op } },
      );
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'Stopped') return;
    if (this.durable.persistent) await this.durable.commit(this.metaBatch('Stopped', this.labels));
    await this.halt();
  }

  /** Stops in memory only (close: the stored state stays what it was, so a restart restores it). */
  private async halt(): Promise<void> {
    if (this.state === 'Stopped') return;
    this.state = 'Stopped';
    const members = this.roster.all();
    for (const m of members) m.running?.abort(new Error('mob stopped'));
    this.logEvent({ type: 'mob_stopped' });
    await Promise.all(members.map((m) => withLock(m, async () => undefined)));
  }

  async close(): Promise<void> {
    await this.halt();
    await this.hub?.close();
    this.fanout.clear();
    this.closed = true;
    this.wakeReadyWaiters();
  }

  async resume(): Promise<void> {
    if (this.state === 'Running') return;
    if (this.state !== 'Stopped')
      throw new MobRuntimeError(
        'INVALID_TRANSITION',
        `invalid state transition: cannot resume while the mob is ${this.state}`,
      );
    if (this.durable.persistent) await this.durable.commit(this.metaBatch('Running', this.labels));
    this.state = 'Running';
    this.logEvent({ type: 'mob_resumed' });
    for (const m of this.roster.all()) this.wake(m);
  }

  // ---- roster records -----------------------------------------------------
  private memberRecord(m: Member, wired: Iterable<string> = m.wired): MemberRecord {
    const { initialMessage: _consumed, ...spec } = m.spec;
    return {
      memberId: m.id,
      profile: m.profile.name,
      spec,
      labels: m.labels,
      runtimeMode: m.runtimeMode,
      state: m.state,
      sessionId: m.sessionId,
      wired: [...wired].sort(),
    };
  }

  private putMember(batch: Batch, m: Member, wired?: Iterable<string>): void {
    if (this.durable.persistent) batch.put(NS.members, this.durable.memberKey(m.id), this.memberRecord(m, wired));
  }

  /** Runs a roster write after the earlier ones (with a store; without one it runs at once). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.durable.persistent) return fn();
    const next = this.rosterChain.then(fn, fn);
    this.rosterChain = next.catch(() => undefined);
    return next;
  }

  // ---- roster -------------------------------------------------------------
  async spawn(spec: SpawnMemberSpec): Promise<MemberSnapshot> {
    return snapshotOf(await this.spawnMember(spec));
  }

  private async spawnMember(
    rawSpec: SpawnMemberSpec,
    restoreWires?: Iterable<string>,
    seed?: LlmMessage[],
  ): Promise<Member> {
    this.requireRunning('spawn');
    const spec = normalizeSpawnSpec(rawSpec);
    const id = spec.meerkatId;
    if (this.roster.get(id) || this.spawning.has(id)) {
      throw new MobRuntimeError('MEMBER_ALREADY_EXISTS', `mob member already exists: ${id}`, {
        details: { memberId: id },
      });
    }
    const profile = this.definition.profile(spec.profile);
    if (!profile.tools.comms) {
      throw new MobRuntimeError(
        'WIRING_ERROR',
        `wiring error: profile '${profile.name}' has tools.comms=false; mob meerkats require comms=true (set comms = true under [profiles.${profile.name}.tools])`,
        { details: { profile: profile.name, memberId: id, field: `profiles.${profile.name}.tools.comms` } },
      );
    }
    if (spec.initialMessage !== undefined) {
      requireMessageSize(spec.initialMessage, this.maxMessageBytes, { memberId: id, field: 'initial_message' });
      this.requireVision(id, profile, this.members.llmFor(profile).provider, spec.initialMessage, 'initial_message');
    }
    this.spawning.add(id);
    try {
      return await this.serial(() => this.spawnCommitted(spec, profile, restoreWires, seed));
    } finally {
      this.spawning.delete(id);
    }
  }

  private async spawnCommitted(
    spec: SpawnMemberSpec,
    profile: ReturnType<MobDefinition['profile']>,
    restoreWires: Iterable<string> | undefined,
    seed: LlmMessage[] | undefined,
  ): Promise<Member> {
    this.requireRunning('spawn');
    const now = this.clock.nowMs();
    // An existing session (resume_session_id / attach): the member continues it.
    let attached: SessionRecord | undefined;
    if (spec.resumeSessionId !== undefined) {
      attached = this.durable.persistent
        ? await this.sessions.find(spec.resumeSessionId)
        : this.sessions.get(spec.resumeSessionId);
      const holder = this.roster.holderOf(spec.resumeSessionId);
      if (attached && holder) throw sessionHeld(spec.resumeSessionId, holder.id);
    }
    const member = this.members.create(spec, profile);
    const targets = this.roster.spawnTargets(member);
    for (const wid of restoreWires ?? []) {
      const peer = this.roster.get(wid);
      if (isActive(peer) && peer !== member && !targets.includes(peer)) targets.push(peer);
    }
    const session: SessionRecord = attached
      ? { ...attached, memberId: member.id }
      : { sessionId: member.sessionId, memberId: member.id, createdAtMs: now, count: 0, first: 0 };
    const seeded = seed ? seedMessages(seed, session.count, now) : [];
    if (seeded.length > 0) session.count += seeded.length;
    let initial: Inbound | undefined;
    if (spec.initialMessage !== undefined)
      initial = { kind: 'external', content: spec.initialMessage, seq: this.nextSeq(), acceptedAtMs: now };
    let tail: Awaited<ReturnType<SessionLogs['read']>> = [];
    if (attached) {
      const from = Math.max(attached.first, attached.count - this.historyLimits.maxMessages);
      tail = this.durable.persistent
        ? await this.sessions.read(attached, from, undefined)
        : (this.sessions.memoryLog(attached.sessionId) ?? []).slice(from - attached.first);
    }
    const batch = new Batch();
    if (this.durable.persistent) {
      this.putMember(
        batch,
        member,
        targets.map((t) => t.id),
      );
      for (const t of targets) this.putMember(batch, t, [...t.wired, member.id]);
      this.durable.putSession(batch, session);
      for (const msg of seeded) this.durable.putMessage(batch, session.sessionId, msg);
      batch.put(NS.stats, this.durable.memberKey(member.id), emptyStats());
      batch.delete(NS.finals, this.durable.memberKey(member.id));
      if (initial)
        batch.put(NS.inbox, this.durable.inboxKey(member.id, initial.seq ?? 0), inboxRecord(member.id, initial));
    }
    if (this.durable.persistent) await this.durable.commit(batch);
    // committed: apply
    this.finals.delete(member.id);
    const log = attached ? this.sessions.memoryLog(attached.sessionId) : undefined;
    if (attached) {
      this.sessions.forget(attached.sessionId);
      this.sessions.add(session, log ?? []);
    } else this.sessions.add(session, []);
    for (const msg of seeded) this.sessions.put(session.sessionId, msg);
    if (attached) loadHistory(member, tail, undefined);
    for (const [i, msg] of (seed ?? []).entries()) member.history.push(msg, seeded[i]?.index);
    this.roster.add(member);
    this.logEvent({
      type: 'member_spawned',
      memberId: member.id,
      profile: profile.name,
      runtimeMode: member.runtimeMode,
      labels: { ...member.labels },
    });
    for (const t of targets) this.roster.link(member, t);
    if (initial) {
      member.inbox.push(initial);
      this.wake(member);
    }
    this.wakeReadyWaiters();
    return member;
  }

  spawnMany(specs: SpawnMemberSpec[]): Promise<MemberSnapshot[]> {
    return spawnAll(specs, (s) => this.spawn(s));
  }

  async ensureMember(spec: SpawnMemberSpec): Promise<MemberSnapshot> {
    const normalized = normalizeSpawnSpec(spec);
    const existing = this.roster.get(normalized.meerkatId);
    if (existing && isActive(existing)) return snapshotOf(existing);
    if (existing) await withLock(existing, async () => undefined); // a retiring member: let it finish
    return this.spawn(normalized);
  }

  async reconcile(desired: SpawnMemberSpec[], options: ReconcileOptions = {}): Promise<ReconcileReport> {
    this.requireRunning('reconcile');
    const plan = planReconcile(desired, this.roster.activeIds(), options);
    return applyReconcile(plan, {
      spawn: (spec) => this.spawnMember(spec),
      retire: (id) => this.retire(id),
    });
  }

  async retire(memberId: string): Promise<void> {
    const m = this.roster.active(memberId);
    m.state = 'retiring';
    m.running?.abort(new Error('member retired'));
    await withLock(m, async () => undefined);
    try {
      await this.serial(() => this.retireCommitted(m));
    } catch (error) {
      m.state = 'active';
      throw error;
    }
  }

  private async retireCommitted(m: Member): Promise<void> {
    const final: FinalRecord = {
      memberId: m.id,
      profile: m.profile.name,
      runtimeMode: m.runtimeMode,
      labels: { ...m.labels },
      sessionId: m.sessionId,
      retiredAtMs: this.clock.nowMs(),
      stats: { ...m.stats },
    };
    const batch = new Batch();
    if (this.durable.persistent) {
      const key = this.durable.memberKey(m.id);
      batch.delete(NS.members, key);
      batch.delete(NS.stats, key);
      batch.delete(NS.runs, key);
      batch.put(NS.finals, key, final, { range: final.retiredAtMs });
      for (const item of m.inbox)
        if (item.seq !== undefined) batch.delete(NS.inbox, this.durable.inboxKey(m.id, item.seq));
      for (const peerId of m.wired) {
        const peer = this.roster.get(peerId);
        if (peer)
          this.putMember(
            batch,
            peer,
            [...peer.wired].filter((w) => w !== m.id),
          );
      }
    }
    if (this.durable.persistent) await this.durable.commit(batch);
    m.retired = true;
    m.inbox.length = 0;
    this.roster.remove(m);
    this.keepFinal(final);
    this.logEvent({ type: 'member_retired', memberId: m.id, profile: m.profile.name });
    this.wakeReadyWaiters();
  }

  /** Keeps a final record in memory, forgetting the oldest past {@link FINAL_RECORDS_KEPT} (and its sessions). */
  private keepFinal(final: FinalRecord): void {
    this.finals.delete(final.memberId);
    this.finals.set(final.memberId, final);
    while (this.finals.size > FINAL_RECORDS_KEPT) {
      const oldest = this.finals.keys().next().value as string;
      this.finals.delete(oldest);
      if (!this.roster.get(oldest)) for (const s of this.sessions.ofMember(oldest)) this.sessions.forget(s.sessionId);
    }
  }

  async respawn(memberId: string): Promise<MemberSnapshot> {
    this.requireRunning('respawn');
    const m = this.roster.active(memberId);
    const peers = [...m.wired];
    const { initialMessage: _drop, resumeSessionId: _old, ...spec } = m.spec;
    await this.retire(memberId);
    return snapshotOf(await this.spawnMember(spec, peers));
  }

  async listMembers(): Promise<MemberSnapshot[]> {
    return this.roster.all().map(snapshotOf).sort(byMemberId);
  }

  async getMember(memberId: string): Promise<MemberSnapshot | undefined> {
    requireMemberId(memberId);
    const m = this.roster.get(memberId);
    return m ? snapshotOf(m) : undefined;
  }

  async findMembers(labelKey: string, labelValue: string): Promise<MemberSnapshot[]> {
    return withLabel(await this.listMembers(), labelKey, labelValue);
  }

  history(memberId: string): LlmMessage[] {
    const m = this.roster.get(memberId);
    if (!m) throw memberNotFound(memberId);
    return structuredClone(m.history.messages());
  }

  // ---- wiring -------------------------------------------------------------
  async wire(a: string, b: string): Promise<void> {
    this.requireRunning('wire');
    const ma = this.roster.active(a);
    const mb = this.roster.active(b);
    if (ma === mb) throw invalidInput('peer', `must differ from member (${a})`);
    await this.serial(async () => {
      if (ma.wired.has(mb.id)) return;
      const batch = new Batch();
      this.putMember(batch, ma, [...ma.wired, mb.id]);
      this.putMember(batch, mb, [...mb.wired, ma.id]);
      if (this.durable.persistent) await this.durable.commit(batch);
      this.roster.link(ma, mb);
    });
  }

  async unwire(a: string, b: string): Promise<void> {
    const ma = this.roster.active(a);
    const mb = this.roster.active(b);
    await this.serial(async () => {
      if (!ma.wired.has(mb.id)) return;
      const batch = new Batch();
      this.putMember(
        batch,
        ma,
        [...ma.wired].filter((w) => w !== mb.id),
      );
      this.putMember(
        batch,
        mb,
        [...mb.wired].filter((w) => w !== ma.id),
      );
      if (this.durable.persistent) await this.durable.commit(batch);
      this.roster.unlink(ma, mb);
    });
  }

  // ---- work ---------------------------------------------------------------
  async sendMessage(memberId: string, content: ContentInput, options: SendOptions = {}): Promise<string> {
    requireMemberId(memberId);
    requireContent(content);
    requireMessageSize(content, this.maxMessageBytes, { memberId, field: 'content' });
    this.requireRunning('send a message');
    const m = this.roster.active(memberId);
    if (!m.profile.externalAddressable) throw notExternallyAddressable(m.id, m.profile.name);
    this.requireVision(m.id, m.profile, m.llm.provider, content, 'content');
    await this.accept(m, { kind: 'external', content }, options.handlingMode ?? 'queue');
    return m.sessionId;
  }

  /**
   * Refuses `content` with images (`VisionUnsupported`, naming the member and model) when the
   * member's model does not take images (`[models.<id>] vision = true` marks a custom one that does);
   * a malformed image block is `InvalidInput` naming it.
   */
  private requireVision(
    memberId: string,
    profile: Profile,
    provider: string,
    content: ContentInput,
    field: string,
  ): void {
    if (contentImages(content, field).length === 0) return;
    const custom = this.definition.models[profile.model];
    const override = typeof custom?.vision === 'boolean' ? { vision: custom.vision } : undefined;
    if (modelSupportsVision(provider, profile.model, override)) return;
    throw new MobRuntimeError(
      'INVALID_INPUT',
      `member ${memberId}: model ${profile.model} (${provider}) does not take images; send text only, or give profile '${profile.name}' a model with vision (a custom one: [models.${profile.model}] vision = true)`,
      { code: 'VisionUnsupported', details: { memberId, model: profile.model, provider, field } },
    );
  }

  /** Makes `item` durable in `m`'s inbox, then queues it (resolves once the write committed). */
  private async accept(m: Member, item: Inbound, mode: HandlingMode): Promise<void> {
    item.seq = this.nextSeq();
    item.acceptedAtMs = this.clock.nowMs();
    if (this.durable.persistent)
      await this.durable.commit(
        new Batch().put(NS.inbox, this.durable.inboxKey(m.id, item.seq), inboxRecord(m.id, item)),
      );
    if (m.retired || m.state !== 'active') {
      // Retired while the write committed: the item is not queued, so do not leave its record behind.
      if (this.durable.persistent)
        await this.durable.commit(new Batch().delete(NS.inbox, this.durable.inboxKey(m.id, item.seq)));
      throw memberNotFound(m.id);
    }
    this.enqueue(m, item, mode);
  }

  deliver(effect: PeerEffect): void {
    if (isActive(effect.target)) this.enqueue(effect.target, effect.item, effect.mode);
  }

  private enqueue(m: Member, item: Inbound, mode: HandlingMode): void {
    // Keep the inbox in acceptance order even when commits resolve out of order.
    let at = m.inbox.length;
    while (at > 0 && (m.inbox[at - 1]?.seq ?? 0) > (item.seq ?? 0)) at--;
    m.inbox.splice(at, 0, item);
    if (mode === 'steer' && m.running) m.running.abort(new Error('steered by a new message'));
    this.wake(m);
  }

  async runTurn(memberId: string, prompt: ContentInput, options: RunTurnOptions = {}): Promise<RunResult> {
    requireMemberId(memberId);
    requireContent(prompt, 'prompt');
    requireMessageSize(prompt, this.maxMessageBytes, { memberId, field: 'prompt' });
    this.requireRunning('run a turn');
    const m = this.roster.active(memberId);
    this.requireVision(m.id, m.profile, m.llm.provider, prompt, 'prompt');
    this.busy++;
    let rewake = true;
    try {
      return await withLock(m, async () => {
        if (!isActive(m)) throw memberNotFound(memberId);
        this.requireRunning('run a turn');
        await this.continueInterrupted(m);
        const items = m.inbox.splice(0);
        items.push({ kind: 'external', content: prompt });
        try {
          return await runAgent(this, m, { items }, options.signal);
        } catch (error) {
          if (runNotStarted(error)) rewake = false;
          throw error;
        } finally {
          await this.retain(m).catch(() => undefined);
        }
      });
    } finally {
      if (rewake) this.wake(m);
      this.busyDone();
    }
  }

  async cancel(memberId: string): Promise<void> {
    this.roster.active(memberId).running?.abort(new Error('cancelled by host'));
  }

  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    if (this.busy === 0) return;
    const timer = new AbortController();
    const idle = new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
    });
    const timedOut = this.clock.sleep(timeoutMs, timer.signal).then(
      () => {
        throw new MobRuntimeError('TIMEOUT', `mob did not become idle within ${timeoutMs} ms`);
      },
      () => undefined, // idle came first
    );
    try {
      await Promise.race([idle, timedOut]);
    } finally {
      timer.abort();
    }
  }

  private busyDone(): void {
    this.busy--;
    if (this.busy === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.wakeReadyWaiters();
  }

  /**
   * Starts a run for an idle member with work: an interrupted run to continue (any runtime mode),
   * or, for an autonomous member, its queued inbox (drained into one run).
   */
  private wake(m: Member): void {
    if (!isActive(m) || m.pumpScheduled || this.state !== 'Running') return;
    const queued = m.runtimeMode === 'autonomous_host' && m.inbox.length > 0;
    if (!queued && m.resumeRun === undefined) return;
    m.pumpScheduled = true;
    this.busy++;
    let rewake = true;
    void withLock(m, async () => {
      m.pumpScheduled = false;
      if (!isActive(m) || this.state !== 'Running') return;
      await this.continueInterrupted(m);
      if (m.runtimeMode !== 'autonomous_host' || !isActive(m) || this.state !== 'Running') return;
      const items = m.inbox.splice(0);
      if (items.length === 0) return;
      await runAgent(this, m, { items }).catch((error: unknown) => {
        if (runNotStarted(error)) rewake = false; // the store refused the start: retry at the next message
      });
      await this.retain(m).catch(() => undefined);
    }).finally(() => {
      if (rewake) this.wake(m);
      this.busyDone();
    });
  }

  /**
   * Continues the run a crash interrupted (inside the member's lock): reports it (`run_failed`,
   * `interrupted`), gives each tool call that has no committed result an interrupted result
   * (committed; the tool is not run again), then runs the next LLM turns. A run whose final answer
   * was committed is only closed.
   */
  private async continueInterrupted(m: Member): Promise<void> {
    const interrupted = m.resumeRun;
    if (!interrupted) return;
    m.resumeRun = undefined;
    const { run } = interrupted;
    const error = interruptedError(m.id, run.runId);
    this.emit(m, { type: 'run_failed', sessionId: run.sessionId, errorClass: 'interrupted', error });
    try {
      if (interrupted.finalText !== undefined) {
        await this.closeAnswered(m, interrupted.finalText);
        m.history.endRun();
        return;
      }
      let trigger: RunTrigger = { resume: run };
      if (interrupted.tools) {
        const { index, calls, done } = interrupted.tools;
        const results = calls.map((c) => done.find((r) => r.toolCallId === c.id) ?? interruptedResult(c));
        await this.journal.toolResults(m, run, index, results, []);
        m.history.push({ role: 'tool_results', results }, index);
        trigger = { resume: run };
      }
      await runAgent(this, m, trigger);
    } catch {
      // reported by run_failed; the member goes on with its inbox
    } finally {
      await this.retain(m).catch(() => undefined);
    }
  }

  /** Closes a run whose final answer was committed before the crash. */
  private async closeAnswered(m: Member, text: string): Promise<void> {
    const stats: MemberStats = { ...m.stats, outputPreview: text.slice(0, OUTPUT_PREVIEW_CHARS), error: undefined };
    const batch = new Batch();
    if (this.durable.persistent) {
      batch.delete(NS.runs, this.durable.memberKey(m.id));
      batch.put(NS.stats, this.durable.memberKey(m.id), stats);
    }
    if (this.durable.persistent) await this.durable.commit(batch);
    m.stats = stats;
    m.openRun = undefined;
  }

  // ---- compaction -------------------------------------------------------
  /**
   * History compaction before an LLM turn (a profile's `auto_compact_threshold`): the older turns
   * are summarised by the member's model; the summary is committed (a `system` session message with
   * `summaryOf`), replaces them in the model-visible history, and a `compacted` event is emitted.
   * The session keeps every message.
   */
  async beforeTurn(m: Member, run: OpenRun, signal: AbortSignal): Promise<void> {
    const threshold = m.profile.autoCompactThreshold;
    if (threshold === undefined) return;
    const result = await compactForTurn({
      messages: m.history.messages(),
      system: m.system,
      threshold,
      llm: m.llm,
      model: m.profile.model,
      signal,
      caller: { memberId: m.id, profile: m.profile.name },
    });
    if (!result) return;
    const n = result.summarizedMessages;
    const index = await this.journal.summary(m, run, result.summary, n, m.history.indexAt(n), result.usage);
    m.history.compact(n, { role: 'user', content: `${SUMMARY_PREFIX}\n${result.summary}` }, index);
    this.emit(m, {
      type: 'compacted',
      sessionId: m.sessionId,
      summarizedMessages: n,
      tokensBefore: result.tokensBefore,
      tokensAfter: result.tokensAfter,
    });
  }

  // ---- retention ----------------------------------------------------------
  /**
   * Applies `historyRetention` to the member's current session (after a run, and at restore): drops
   * messages beyond the newest `maxMessages` and older than `maxAgeMs`, in batches of at most
   * {@link DELETE_BATCH} per transaction. Indexes do not move: the session's `first` rises.
   */
  private async retain(m: Member): Promise<void> {
    const r = this.retention;
    if (!r) return;
    const s = this.sessions.get(m.sessionId);
    if (!s) return;
    const limit = m.openRun ? m.openRun.firstIndex : s.count; // never the open run's messages
    let cut = s.first;
    if (r.maxMessages !== undefined) cut = Math.max(cut, s.count - r.maxMessages);
    if (r.maxAgeMs !== undefined) {
      const before = this.clock.nowMs() - r.maxAgeMs;
      let at = cut;
      for (;;) {
        const page = await this.sessions.read(s, at, DELETE_BATCH);
        const older = page.filter((msg) => msg.createdAtMs < before);
        const lastOld = older[older.length - 1];
        if (lastOld) at = lastOld.index + 1;
        if (older.length < page.length || page.length < DELETE_BATCH || !lastOld) break;
      }
      cut = Math.max(cut, at);
    }
    cut = Math.min(cut, limit);
    while (s.first < cut) {
      const to = Math.min(cut, s.first + DELETE_BATCH);
      const batch = new Batch();
      if (this.durable.persistent) {
        for (let i = s.first; i < to; i++) batch.delete(NS.messages, this.durable.messageKey(s.sessionId, i));
        this.durable.putSession(batch, { ...s, first: to });
      }
      if (this.durable.persistent) await this.durable.commit(batch);
      this.sessions.pruneTo(s.sessionId, to);
    }
  }

  // ---- member API ---------------------------------------------------------
  private statusOf(m: Member): MemberStatus {
    return {
      memberId: m.id,
      profile: m.profile.name,
      status: m.state === 'retiring' ? 'retiring' : 'active',
      isFinal: false,
      runState: m.running || m.openRun || m.resumeRun ? 'run_open' : 'idle',
      tokensUsed: m.stats.tokensUsed,
      ...(m.stats.outputPreview !== undefined ? { outputPreview: m.stats.outputPreview } : {}),
      ...(m.stats.error !== undefined ? { error: m.stats.error } : {}),
      currentSessionId: m.sessionId,
      queuedMessages: m.inbox.length,
      ...(m.stats.lastProgressAtMs !== undefined ? { lastProgressAtMs: m.stats.lastProgressAtMs } : {}),
      ...(m.stats.lastProgressEvent !== undefined ? { lastProgressEvent: m.stats.lastProgressEvent } : {}),
      memberRef: memberRef(this.mobId, m.id),
      ...this.usageStatus(m.profile, m.stats),
    };
  }

  /** Usage per model and what is left of the budget (only the parts that exist). */
  private usageStatus(profile: Profile, stats: MemberStats): Pick<MemberStatus, 'usageByModel' | 'budget'> {
    const out: Pick<MemberStatus, 'usageByModel' | 'budget'> = {};
    if (stats.byModel && Object.keys(stats.byModel).length > 0) out.usageByModel = { ...stats.byModel };
    const budget = this.definition.budgetFor(profile);
    if (Object.keys(budget).length > 0) {
      const today = utcDay(this.clock.nowMs());
      const used = stats.day?.date === today ? stats.day.tokens : 0;
      out.budget = { ...budget, tokensUsedToday: used };
      if (budget.maxTokensPerDay !== undefined) out.budget.tokensLeftToday = Math.max(0, budget.maxTokensPerDay - used);
    }
    return out;
  }

  private finalStatus(f: FinalRecord): MemberStatus {
    return {
      memberId: f.memberId,
      profile: f.profile,
      status: 'completed',
      isFinal: true,
      runState: 'idle',
      tokensUsed: f.stats.tokensUsed,
      ...(f.stats.outputPreview !== undefined ? { outputPreview: f.stats.outputPreview } : {}),
      ...(f.stats.error !== undefined ? { error: f.stats.error } : {}),
      currentSessionId: f.sessionId,
      queuedMessages: 0,
      ...(f.stats.lastProgressAtMs !== undefined ? { lastProgressAtMs: f.stats.lastProgressAtMs } : {}),
      ...(f.stats.lastProgressEvent !== undefined ? { lastProgressEvent: f.stats.lastProgressEvent } : {}),
      memberRef: memberRef(this.mobId, f.memberId),
    };
  }

  /** A retired member's final record (memory, then the store). */
  private async findFinal(memberId: string): Promise<FinalRecord | undefined> {
    const kept = this.finals.get(memberId);
    if (kept || !this.durable.store) return kept;
    const rec = await this.durable.store.records.get(NS.finals, this.durable.memberKey(memberId));
    return rec?.value as unknown as FinalRecord | undefined;
  }

  async memberStatus(memberId: string): Promise<MemberStatus> {
    requireMemberId(memberId);
    const m = this.roster.get(memberId);
    if (m) return this.statusOf(m);
    const f = await this.findFinal(memberId);
    if (f) return this.finalStatus(f);
    throw memberNotFound(memberId);
  }

  async memberCurrentSessionId(memberId: string): Promise<string> {
    requireMemberId(memberId);
    const m = this.roster.get(memberId);
    if (m) return m.sessionId;
    const f = await this.findFinal(memberId);
    if (f) return f.sessionId;
    throw memberNotFound(memberId);
  }

  async memberSessionRef(memberId: string): Promise<SessionRef | undefined> {
    const sessionId = await this.memberCurrentSessionId(memberId);
    const s = await this.sessions.find(sessionId);
    if (!s) return undefined;
    return {
      memberId,
      sessionId,
      memberRef: memberRef(this.mobId, memberId),
      createdAtMs: s.createdAtMs,
      messageCount: s.count,
    };
  }

  async readSessionHistory(sessionId: string, query: SessionHistoryQuery = {}): Promise<SessionHistoryPage> {
    if (typeof sessionId !== 'string' || sessionId.trim() === '') throw invalidInput('session_id', 'must not be empty');
    const { offset = 0, limit } = query ?? {};
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
      throw invalidInput('offset', `must be a non-negative integer, got ${String(offset)}`);
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1))
      throw invalidInput('limit', `must be a positive integer, got ${String(limit)}`);
    const s = await this.sessions.find(sessionId);
    if (!s) throw sessionNotFound(sessionId);
    const start = Math.min(Math.max(offset, s.first), s.count);
    const want = limit === undefined ? undefined : Math.min(limit, s.count - start);
    const messages = want === 0 ? [] : (await this.sessions.read(s, start, want)).map(publicMessage);
    return {
      sessionId,
      memberId: s.memberId,
      messageCount: s.count,
      offset: start,
      limit,
      hasMore: start + messages.length < s.count,
      messages,
    };
  }

  async collectCompleted(): Promise<CompletedMember[]> {
    return [...this.finals.values()].map((f) => ({ memberId: f.memberId, status: this.finalStatus(f) }));
  }

  async waitReady(options: WaitReadyOptions = {}): Promise<WaitReadyResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_READY_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0)
      throw invalidInput('timeout_ms', `must be a non-negative integer, got ${String(timeoutMs)}`);
    const ids = options.memberIds?.map((id, i) => requireMemberId(id, `member_ids[${i}]`));
    for (const id of ids ?? []) this.roster.active(id);
    const check = (): WaitReadyResult | undefined => {
      const targets = ids ? ids.map((id) => this.roster.get(id)).filter(isActive) : this.roster.all().filter(isActive);
      if (!targets.every(isReady)) return undefined;
      return { ready: targets.map((m) => ({ memberId: m.id, status: this.statusOf(m) })), timedOut: false };
    };
    const now = check();
    if (now) return now;
    const timer = new AbortController();
    let waiter!: () => void;
    const ready = new Promise<WaitReadyResult>((resolve) => {
      waiter = () => {
        const r = check() ?? (this.closed ? { ready: [], timedOut: true } : undefined);
        if (r) resolve(r);
      };
      this.readyWaiters.add(waiter);
    });
    const timedOut = this.clock.sleep(timeoutMs, timer.signal).then(
      (): WaitReadyResult => ({ ready: [], timedOut: true }),
      () => new Promise<WaitReadyResult>(() => undefined),
    );
    try {
      return await Promise.race([ready, timedOut]);
    } finally {
      timer.abort();
      this.readyWaiters.delete(waiter);
    }
  }

  private wakeReadyWaiters(): void {
    for (const w of [...this.readyWaiters]) w();
  }

  async forceCancelMember(memberId: string): Promise<boolean> {
    const m = this.roster.active(memberId);
    if (!m.running) return false;
    m.running.abort(new Error('force-cancelled by host'));
    return true;
  }

  private helperSpec(memberId: string, profile: string, options: HelperOptions): SpawnMemberSpec {
    const labels = requireLabels(options.labels, 'options.labels');
    labels.helper = 'true';
    if (options.resultLabel !== undefined) {
      if (typeof options.resultLabel !== 'string' || options.resultLabel === '')
        throw invalidInput('options.result_label', 'must be a non-empty string');
      labels.result_label = options.resultLabel;
    }
    return { profile, meerkatId: memberId, labels, runtimeMode: options.runtimeMode ?? 'turn_driven' };
  }

  /** Runs `task` on a spawned helper, then retires it (also when the task fails). */
  private async runHelper(member: Member, task: string, options: HelperOptions): Promise<HelperResult> {
    const maxTextBytes = optionalPositive(options.maxTextBytes, 'options.max_text_bytes') ?? this.maxMessageBytes;
    const timer = new AbortController();
    const controller = new AbortController();
    if (options.timeoutMs !== undefined)
      this.clock.sleep(options.timeoutMs, timer.signal).then(
        () => controller.abort(new Error(`helper timed out after ${options.timeoutMs} ms`)),
        () => undefined,
      );
    try {
      const result = await this.runTurn(member.id, task, { signal: controller.signal });
      return {
        memberId: member.id,
        output: truncateUtf8(result.text, maxTextBytes),
        tokensUsed: result.usage.inputTokens + result.usage.outputTokens,
        sessionId: result.sessionId,
        usage: result.usage,
        turns: result.turns,
        toolCalls: result.toolCalls,
      };
    } finally {
      timer.abort();
      if (isActive(member)) await this.retire(member.id);
    }
  }

  private checkHelperArgs(memberId: string, task: string, options: HelperOptions): void {
    requireMemberId(memberId, 'agent_identity');
    requireContent(task, 'task');
    requireMessageSize(task, this.maxMessageBytes, { memberId, field: 'task' });
    contentImages(task, 'task'); // a malformed image block is refused before anything is spawned
    optionalPositive(options.maxTextBytes, 'options.max_text_bytes');
    optionalPositive(options.timeoutMs, 'options.timeout_ms');
  }

  async spawnHelper(memberId: string, task: string, options: HelperOptions = {}): Promise<HelperResult> {
    this.checkHelperArgs(memberId, task, options);
    const profile = options.profile ?? this.definition.orchestrator;
    if (profile === undefined)
      throw invalidInput(
        'options.profile',
        'is required: the mob definition has no orchestrator profile to default to',
      );
    const member = await this.spawnMember(this.helperSpec(memberId, profile, options));
    return this.runHelper(member, task, options);
  }

  async forkHelper(
    sourceMemberId: string,
    memberId: string,
    task: string,
    forkContext?: ForkContext,
    options: HelperOptions = {},
  ): Promise<HelperResult> {
    requireMemberId(sourceMemberId, 'source_member_id');
    this.checkHelperArgs(memberId, task, options);
    const ctx = requireForkContext(forkContext);
    const source = this.roster.active(sourceMemberId);
    const copy = forkCopy(source.history.messages(), ctx);
    const profile = options.profile ?? source.profile.name;
    const member = await this.spawnMember(this.helperSpec(memberId, profile, options), undefined, copy);
    return this.runHelper(member, task, options);
  }

  async attachExistingSession(profile: string, memberId: string, sessionId: string): Promise<MemberSnapshot> {
    requireMemberId(memberId, 'agent_identity');
    if (typeof profile !== 'string' || profile.trim() === '') throw invalidInput('role', 'must not be empty');
    if (typeof sessionId !== 'string' || sessionId.trim() === '') throw invalidInput('session_id', 'must not be empty');
    const s = await this.sessions.find(sessionId);
    if (!s) throw sessionNotFound(sessionId);
    const holder = this.roster.holderOf(sessionId);
    if (holder) throw sessionHeld(sessionId, holder.id);
    return snapshotOf(await this.spawnMember({ profile, meerkatId: memberId, resumeSessionId: sessionId }));
  }

  async mobLabels(): Promise<Record<string, string>> {
    return { ...this.labels };
  }

  async setMobLabels(labels: Record<string, string>): Promise<void> {
    const next = requireLabels(labels, 'labels');
    await this.serial(async () => {
      if (this.durable.persistent) await this.durable.commit(this.metaBatch(this.storedState(), next));
      this.labels = next;
    });
  }

  async deleteMobLabels(): Promise<void> {
    await this.setMobLabels({});
  }

  /** The state a meta write records (Creating counts as Running). */
  private storedState(): MobStatus {
    return this.state === 'Stopped' ? 'Stopped' : 'Running';
  }

  async purgeMember(memberId: string, options: PurgeOptions = {}): Promise<PurgeReport> {
    requireMemberId(memberId);
    let inboxItems = 0;
    const live = this.roster.get(memberId);
    if (live) {
      if (options.retire === false)
        throw new MobRuntimeError(
          'INVALID_TRANSITION',
          `member ${memberId} is still in the roster; retire it first, or purge with retire: true`,
          { details: { memberId, field: 'options.retire' } },
        );
      inboxItems = live.inbox.length;
      if (isActive(live)) await this.retire(memberId);
      else await withLock(live, async () => undefined);
    }
    return this.serial(async () => {
      const sessions = new Map<string, SessionRecord>();
      for (const s of this.sessions.ofMember(memberId)) sessions.set(s.sessionId, s);
      const final = await this.findFinal(memberId);
      const d = this.durable;
      if (d.store) {
        const stored = await d.store.records.list(NS.sessions, { index: d.memberKey(memberId) });
        for (const rec of stored) {
          const s = rec.value as unknown as SessionRecord;
          if (s.memberId === memberId && !sessions.has(s.sessionId)) sessions.set(s.sessionId, s);
        }
      }
      if (!live && !final && sessions.size === 0) throw memberNotFound(memberId);
      let messages = 0;
      for (const s of sessions.values()) {
        if (this.roster.holderOf(s.sessionId)) continue; // attached to another member since
        messages += await this.deleteSession(s);
      }
      if (d.store) {
        const inbox = await d.listAll(NS.inbox, d.inboxPrefix(memberId));
        inboxItems += inbox.length;
        const batch = new Batch();
        for (const rec of inbox) batch.delete(NS.inbox, rec.key);
        const key = d.memberKey(memberId);
        batch.delete(NS.finals, key).delete(NS.stats, key).delete(NS.runs, key);
        if (d.persistent) await d.commit(batch);
      }
      this.finals.delete(memberId);
      const tasks = await this.purgeTasks(memberId);
      return { memberId, sessions: sessions.size, messages, inboxItems, ...(tasks > 0 ? { tasks } : {}) };
    });
  }

  /** Deletes a session's messages (in batches) and then its record; resolves with how many messages went. */
  private async deleteSession(s: SessionRecord): Promise<number> {
    const d = this.durable;
    let deleted = 0;
    if (d.store) {
      for (;;) {
        const page = await d.store.records.list(NS.messages, {
          prefix: d.messagePrefix(s.sessionId),
          limit: DELETE_BATCH,
        });
        if (page.length === 0) break;
        const batch = new Batch();
        for (const rec of page) batch.delete(NS.messages, rec.key);
        if (d.persistent) await d.commit(batch);
        deleted += page.length;
      }
      await d.store.records.delete(NS.sessions, d.sessionKey(s.sessionId));
    } else {
      deleted = this.sessions.memoryLog(s.sessionId)?.filter((m) => m !== undefined).length ?? 0;
    }
    this.sessions.forget(s.sessionId);
    return deleted;
  }

  // ---- restore ------------------------------------------------------------
  /**
   * Restores the mob from its records: the roster (same ids, sessions, labels, wiring, runtime
   * modes), each member's model-visible history from the newest committed messages, the queued
   * inboxes, the open runs (continued), the final records and the mob state and labels. A few
   * list() calls read the whole mob.
   */
  private async restore(meta: MetaRecord): Promise<void> {
    const d = this.durable;
    const [memberRecs, statsRecs, sessionRecs, inboxRecs, runRecs, finalRecs] = await Promise.all([
      d.listAll<never>(NS.members),
      d.listAll<never>(NS.stats),
      d.listAll<never>(NS.sessions),
      d.listAll<never>(NS.inbox),
      d.listAll<never>(NS.runs),
      d.store?.records.list<never>(NS.finals, {
        prefix: `${d.mobKey}/`,
        orderBy: 'range',
        order: 'desc',
        limit: FINAL_RECORDS_KEPT,
      }) ?? [],
    ]);
    const stats = new Map<string, MemberStats>();
    for (const r of statsRecs) stats.set(r.key, r.value as unknown as MemberStats);
    const runs = new Map<string, RunRecord>();
    for (const r of runRecs) {
      const run = r.value as unknown as RunRecord;
      runs.set(run.memberId, run);
    }
    const sessionsById = new Map<string, SessionRecord>();
    let storedTotal = 0;
    for (const r of sessionRecs) {
      const s = r.value as unknown as SessionRecord;
      sessionsById.set(s.sessionId, s);
      storedTotal += s.count - s.first;
    }
    const records = memberRecs.map((r) => r.value as unknown as MemberRecord);
    const now = this.clock.nowMs();
    const current = records.map(
      (rec): SessionRecord =>
        sessionsById.get(rec.sessionId) ?? {
          sessionId: rec.sessionId,
          memberId: rec.memberId,
          createdAtMs: now,
          count: 0,
          first: 0,
        },
    );
    const tails = await d.tails(current, this.historyLimits.maxMessages, storedTotal);
    // members
    const restored: Member[] = [];
    for (const [i, rec] of records.entries()) {
      const member = this.members.create(
        {
          ...rec.spec,
          profile: rec.profile,
          meerkatId: rec.memberId,
          labels: rec.labels,
          runtimeMode: rec.runtimeMode,
        },
        this.definition.profile(rec.profile),
        rec.sessionId,
      );
      member.stats = { ...emptyStats(), ...stats.get(d.memberKey(rec.memberId)) };
      const session = current[i] as SessionRecord;
      this.sessions.add(session);
      const run = runs.get(rec.memberId);
      const interrupted: Interrupted | undefined = loadHistory(member, tails.get(rec.sessionId) ?? [], run);
      if (interrupted) {
        member.resumeRun = interrupted;
        member.openRun = interrupted.run;
      }
      this.roster.add(member);
      restored.push(member);
    }
    for (const rec of records) {
      const m = this.roster.get(rec.memberId);
      if (!m) continue;
      for (const peer of rec.wired) if (this.roster.get(peer)) m.wired.add(peer);
    }
    for (const m of restored) for (const peer of m.wired) this.roster.get(peer)?.wired.add(m.id);
    // inboxes, in acceptance order; items of members no longer in the roster are dropped
    const orphans = new Batch();
    for (const r of inboxRecs) {
      const rec = r.value as unknown as InboxRecord;
      this.seq = Math.max(this.seq, rec.seq);
      const m = this.roster.get(rec.memberId);
      if (!m) {
        orphans.delete(NS.inbox, r.key);
        continue;
      }
      const item: Inbound =
        rec.item.kind === 'peer'
          ? { kind: 'peer', from: rec.item.from, body: rec.item.body }
          : {
              kind: 'external',
              content: rec.item.content as ContentInput,
              ...(rec.item.source ? { source: rec.item.source } : {}),
            };
      item.seq = rec.seq;
      item.acceptedAtMs = rec.acceptedAtMs;
      m.inbox.push(item);
    }
    for (const m of restored) m.inbox.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    for (const r of runRecs)
      if (!this.roster.get((r.value as unknown as RunRecord).memberId)) orphans.delete(NS.runs, r.key);
    for (const r of [...finalRecs].reverse()) {
      const f = r.value as unknown as FinalRecord;
      this.finals.set(f.memberId, f);
      const s = sessionsById.get(f.sessionId);
      if (s && !this.sessions.get(s.sessionId)) this.sessions.add(s);
    }
    this.labels = { ...meta.labels };
    if (d.persistent) await d.commit(orphans);
    this.state = meta.state === 'Stopped' ? 'Stopped' : 'Running';
    this.logEvent({ type: 'mob_created' });
    // Hold every restored member's lock position now, so a run the host starts right away queues
    // behind the continuation; report and continue once the caller had a turn to subscribe.
    this.busy++;
    const kicked = this.restoredWorkHeld.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    for (const m of restored) {
      if (!m.resumeRun) continue;
      void withLock(m, () => kicked);
    }
    void kicked.then(() => this.afterRestore(restored)).finally(() => this.busyDone());
  }

  releaseRestoredWork(): void {
    const release = this.releaseHold;
    this.releaseHold = undefined;
    release?.();
  }

  /** After a restore: retention, the orchestrator's resume notice, then the continuations and queued work. */
  private async afterRestore(restored: Member[]): Promise<void> {
    for (const m of restored) if (!m.resumeRun) await this.retain(m).catch(() => undefined);
    const orch = this.definition.orchestrator;
    if (this.notifyOnResume && orch !== undefined && restored.length > 0 && this.state === 'Running') {
      const active = this.roster.all().filter(isActive);
      const text = `Mob '${this.mobId}' resumed with ${active.length} active meerkats and ${this.roster.edgeCount()} wiring links. Reconcile worker state and continue orchestration.`;
      for (const m of active) {
        if (m.profile.name !== orch) continue;
        await this.accept(m, { kind: 'external', content: text, source: 'resume' }, 'queue').catch(() => undefined);
      }
    }
    for (const m of this.roster.all()) this.wake(m);
  }
}

/** A session held by an active member cannot be attached to another. */
function sessionHeld(sessionId: string, holder: string): MobRuntimeError {
  return new MobRuntimeError(
    'INVALID_INPUT',
    `session ${sessionId} is held by active member ${holder}; retire ${holder} before attaching its session to another member`,
    { details: { sessionId, memberId: holder, field: 'session_id' } },
  );
}

/**
 * Starts an embedded in-process mob from a definition. Every member runs a real agent loop over
 * its `LlmClient`; `status()` is `'Running'` when the promise resolves. With `options.store`, the
 * mob keeps its state in the store and, when the store already holds this mob id, restores it
 * (see the README: what survives a restart).
 */
export async function createEmbeddedMob(
  definition: MobDefinition,
  options: EmbeddedMobOptions = {},
): Promise<EmbeddedMob> {
  const mob = new EmbeddedMobImpl(definition, options);
  await mob.open();
  return mob;
}
