import { type AgentEventPayload, type Clock, systemClock } from '@mobkit/core';
import type { MobDefinition } from '../definition.js';
import { MobRuntimeError, invalidInput, memberNotFound, notExternallyAddressable, requireMemberId } from '../errors.js';
import type { LlmMessage } from '../llm/types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, positiveLimit, requireMessageSize } from '../message-size.js';
import { CursorLog, EventFanout, type MobLogEvent } from '../shared/event-log.js';
import { applyReconcile, byMemberId, planReconcile, spawnAll, withLabel } from '../shared/roster.js';
import { normalizeSpawnSpec, requireContent } from '../spec.js';
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
import { type AgentLoopHost, runAgent } from './agent-loop.js';
import { DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_MESSAGES, type HistoryLimits } from './history.js';
import { type Inbound, type Member, isActive, snapshotOf, withLock } from './member.js';
import { MemberFactory } from './member-factory.js';
import { Roster } from './roster.js';
import { MemberTools } from './tools.js';
import type { EmbeddedMob, EmbeddedMobOptions, EmbeddedMobTuning } from './types.js';

class EmbeddedMobImpl implements EmbeddedMob, AgentLoopHost {
  readonly kind = 'embedded' as const;
  readonly mobId: string;
  readonly definition: MobDefinition;
  readonly clock: Clock;
  readonly tuning: EmbeddedMobTuning;
  readonly tools: MemberTools;
  readonly maxMessageBytes: number;
  private state: MobStatus = 'Creating';
  private readonly roster: Roster;
  private readonly fanout = new EventFanout();
  private readonly log: CursorLog;
  private readonly members: MemberFactory;
  private busy = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(definition: MobDefinition, options: EmbeddedMobOptions) {
    this.definition = definition;
    this.mobId = definition.id;
    this.tuning = options.options ?? {};
    this.clock = this.tuning.clock ?? systemClock;
    this.maxMessageBytes = positiveLimit(this.tuning.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
    const historyLimits: HistoryLimits = {
      maxBytes: positiveLimit(this.tuning.historyMaxBytes, DEFAULT_HISTORY_MAX_BYTES, 'historyMaxBytes'),
      maxMessages: positiveLimit(this.tuning.historyMaxMessages, DEFAULT_HISTORY_MAX_MESSAGES, 'historyMaxMessages'),
    };
    this.members = new MemberFactory(definition, options.llm, this.tuning, historyLimits);
    this.log = new CursorLog(this.tuning.eventLogLimit ?? 10_000);
    this.roster = new Roster(definition, (event) => this.logEvent(event));
    this.tools = new MemberTools(
      {
        mobId: this.mobId,
        maxMessageBytes: this.maxMessageBytes,
        member: (id) => this.roster.get(id),
        enqueue: (target, item, mode) => this.enqueue(target, item, mode),
      },
      this.tuning.tools ?? [],
    );
  }

  start(): void {
    this.state = 'Running';
    this.logEvent({ type: 'mob_created' });
  }

  // ---- events -------------------------------------------------------------
  /** Publishes an agent event of `member` (only builds it when someone listens; `seq` counts it either way). */
  emit(member: Member, event: AgentEventPayload): void {
    const seq = this.fanout.nextSeq();
    if (this.fanout.size === 0) return;
    this.fanout.publish({
      kind: 'agent',
      memberId: member.id,
      profile: member.profile.name,
      sessionId: member.sessionId,
      seq,
      timestampMs: this.clock.nowMs(),
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
    this.state = 'Stopped';
    const members = this.roster.all();
    for (const m of members) m.running?.abort(new Error('mob stopped'));
    this.logEvent({ type: 'mob_stopped' });
    await Promise.all(members.map((m) => withLock(m, async () => undefined)));
  }

  async close(): Promise<void> {
    await this.stop();
    this.fanout.clear();
  }

  async resume(): Promise<void> {
    if (this.state === 'Running') return;
    if (this.state !== 'Stopped')
      throw new MobRuntimeError(
        'INVALID_TRANSITION',
        `invalid state transition: cannot resume while the mob is ${this.state}`,
      );
    this.state = 'Running';
    this.logEvent({ type: 'mob_resumed' });
    for (const m of this.roster.all()) this.wake(m);
  }

  // ---- roster -------------------------------------------------------------
  async spawn(spec: SpawnMemberSpec): Promise<MemberSnapshot> {
    return snapshotOf(this.spawnSync(spec));
  }

  private spawnSync(rawSpec: SpawnMemberSpec, restoreWires?: Iterable<string>): Member {
    this.requireRunning('spawn');
    const spec = normalizeSpawnSpec(rawSpec);
    if (this.roster.get(spec.meerkatId)) {
      throw new MobRuntimeError('MEMBER_ALREADY_EXISTS', `mob member already exists: ${spec.meerkatId}`, {
        details: { memberId: spec.meerkatId },
      });
    }
    const profile = this.definition.profile(spec.profile);
    if (!profile.tools.comms) {
      throw new MobRuntimeError(
        'WIRING_ERROR',
        `wiring error: profile '${profile.name}' has tools.comms=false; mob meerkats require comms=true (set comms = true under [profiles.${profile.name}.tools])`,
        { details: { profile: profile.name, memberId: spec.meerkatId, field: `profiles.${profile.name}.tools.comms` } },
      );
    }
    if (spec.initialMessage !== undefined)
      requireMessageSize(spec.initialMessage, this.maxMessageBytes, {
        memberId: spec.meerkatId,
        field: 'initial_message',
      });
    const member = this.members.create(spec, profile);
    this.roster.add(member);
    this.logEvent({
      type: 'member_spawned',
      memberId: member.id,
      profile: profile.name,
      runtimeMode: member.runtimeMode,
      labels: { ...member.labels },
    });
    this.roster.wireAtSpawn(member);
    for (const id of restoreWires ?? []) this.roster.link(member, this.roster.get(id));
    if (spec.initialMessage !== undefined) {
      member.inbox.push({ kind: 'external', content: spec.initialMessage });
      this.wake(member);
    }
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
      spawn: async (spec) => this.spawnSync(spec),
      retire: (id) => this.retire(id),
    });
  }

  async retire(memberId: string): Promise<void> {
    const m = this.roster.active(memberId);
    m.state = 'retiring';
    m.running?.abort(new Error('member retired'));
    await withLock(m, async () => undefined);
    m.retired = true;
    m.inbox.length = 0;
    this.roster.remove(m);
    this.logEvent({ type: 'member_retired', memberId: m.id, profile: m.profile.name });
  }

  async respawn(memberId: string): Promise<MemberSnapshot> {
    this.requireRunning('respawn');
    const m = this.roster.active(memberId);
    const peers = [...m.wired];
    const { initialMessage: _drop, resumeSessionId: _old, ...spec } = m.spec;
    await this.retire(memberId);
    return snapshotOf(this.spawnSync(spec, peers));
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
    this.roster.link(ma, mb);
  }

  async unwire(a: string, b: string): Promise<void> {
    this.roster.unlink(this.roster.active(a), this.roster.active(b));
  }

  // ---- work ---------------------------------------------------------------
  async sendMessage(memberId: string, content: ContentInput, options: SendOptions = {}): Promise<string> {
    requireMemberId(memberId);
    requireContent(content);
    requireMessageSize(content, this.maxMessageBytes, { memberId, field: 'content' });
    this.requireRunning('send a message');
    const m = this.roster.active(memberId);
    if (!m.profile.externalAddressable) throw notExternallyAddressable(m.id, m.profile.name);
    this.enqueue(m, { kind: 'external', content }, options.handlingMode ?? 'queue');
    return m.sessionId;
  }

  private enqueue(m: Member, item: Inbound, mode: HandlingMode): void {
    m.inbox.push(item);
    if (mode === 'steer' && m.running) m.running.abort(new Error('steered by a new message'));
    this.wake(m);
  }

  async runTurn(memberId: string, prompt: ContentInput, options: RunTurnOptions = {}): Promise<RunResult> {
    requireMemberId(memberId);
    requireContent(prompt, 'prompt');
    requireMessageSize(prompt, this.maxMessageBytes, { memberId, field: 'prompt' });
    this.requireRunning('run a turn');
    const m = this.roster.active(memberId);
    this.busy++;
    try {
      return await withLock(m, async () => {
        if (!isActive(m)) throw memberNotFound(memberId);
        this.requireRunning('run a turn');
        const items = m.inbox.splice(0);
        items.push({ kind: 'external', content: prompt });
        return runAgent(this, m, items, options.signal);
      });
    } finally {
      this.wake(m);
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
  }

  /** Starts a run for an idle autonomous member with queued work (drains the whole inbox into one run). */
  private wake(m: Member): void {
    if (
      m.runtimeMode !== 'autonomous_host' ||
      !isActive(m) ||
      m.pumpScheduled ||
      m.inbox.length === 0 ||
      this.state !== 'Running'
    )
      return;
    m.pumpScheduled = true;
    this.busy++;
    void withLock(m, async () => {
      m.pumpScheduled = false;
      if (!isActive(m) || this.state !== 'Running') return;
      const items = m.inbox.splice(0);
      if (items.length > 0) await runAgent(this, m, items).catch(() => undefined);
    }).finally(() => {
      this.wake(m);
      this.busyDone();
    });
  }
}

/**
 * Starts an embedded in-process mob from a definition. Every member runs a real agent loop over
 * its `LlmClient`; `status()` is `'Running'` when the promise resolves.
 */
export async function createEmbeddedMob(
  definition: MobDefinition,
  options: EmbeddedMobOptions = {},
): Promise<EmbeddedMob> {
  const mob = new EmbeddedMobImpl(definition, options);
  mob.start();
  return mob;
}
