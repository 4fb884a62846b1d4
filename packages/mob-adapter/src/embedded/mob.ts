import { randomUUID } from 'node:crypto';
import { type Clock, isMobKitError, systemClock } from '@mobkit/core';
import type { MobDefinition, Profile, RuntimeMode } from '../definition.js';
import { MobRuntimeError, invalidInput, memberNotFound, notExternallyAddressable, requireMemberId } from '../errors.js';
import { type ProviderEnv, resolveLlmClient } from '../llm/resolve.js';
import type {
  LlmClient,
  LlmMessage,
  LlmRequest,
  StopReason,
  ToolCall,
  ToolDef,
  ToolResult,
  Usage,
} from '../llm/types.js';
import { contentText, normalizeSpawnSpec, requireContent } from '../spec.js';
import type {
  AgentEventPayload,
  ContentInput,
  HandlingMode,
  MemberSnapshot,
  MemberState,
  MobEvent,
  MobLogPayload,
  MobRuntime,
  MobStatus,
  ReconcileOptions,
  ReconcileReport,
  RunResult,
  RunTurnOptions,
  SendOptions,
  SpawnMemberSpec,
  SubscribeOptions,
} from '../types.js';
import { COMMS_TOOLS, profileSystemPrompt } from './prompt.js';

/** What a tool sees when the embedded mob runs it. */
export interface ToolContext {
  memberId: string;
  profile: string;
  sessionId: string;
  /** Aborts when the run is cancelled or the tool times out. */
  signal: AbortSignal;
}

/** An application tool given to members of the embedded mob (besides the comms tools). */
export interface EmbeddedTool {
  definition: ToolDef;
  /** Profiles that get the tool (default: all). */
  profiles?: string[];
  /** Runs the tool; a string result is passed as is, anything else as JSON. Throwing makes an error result. */
  execute(args: unknown, context: ToolContext): Promise<unknown> | unknown;
}

/** Tuning of the embedded mob. */
export interface EmbeddedMobTuning {
  /** Max LLM turns per run before the run fails with MaxTurnsExceeded (default 16; a profile's `max_turns` wins). */
  maxTurns?: number;
  /** Per tool call timeout (default 60 s); a timed-out call becomes an error result. */
  toolTimeoutMs?: number;
  /** Output token cap per call (default 4096; a profile's `max_tokens` wins). */
  maxTokens?: number;
  /** Environment for provider keys (default `process.env`). */
  env?: ProviderEnv;
  /** Clock for event timestamps. */
  clock?: Clock;
  /** How many mob log events to keep for `events()` (default 10,000). */
  eventLogLimit?: number;
  /** Extra tools for members. */
  tools?: EmbeddedTool[];
  /** `fetch` for the real provider clients. */
  fetch?: typeof fetch;
  /** Retries of a retryable provider failure that happened before any output (default 2). */
  llmRetries?: number;
  /** First retry delay; it doubles per retry (default 250 ms). */
  llmRetryBaseMs?: number;
}

/** Options of {@link createEmbeddedMob}. */
export interface EmbeddedMobOptions {
  /** One client for every member, or a factory per profile (called once per profile). Default: a real provider client from the profile and env. */
  llm?: LlmClient | ((profile: Profile) => LlmClient);
  options?: EmbeddedMobTuning;
}

/** The embedded mob: the {@link MobRuntime} port plus a few in-process extras. */
export interface EmbeddedMob extends MobRuntime {
  readonly kind: 'embedded';
  /** The definition the mob runs. */
  readonly definition: MobDefinition;
  /** Resolves when no member is running or has queued work (or rejects with MobTimeout after `timeoutMs`). */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** The mob log after `afterCursor` (like `mob/events`). */
  events(afterCursor?: number, limit?: number): Array<Extract<MobEvent, { kind: 'mob' }>>;
  /** The member's conversation history (a copy). */
  history(memberId: string): LlmMessage[];
}

type Inbound = { kind: 'external'; content: ContentInput } | { kind: 'peer'; from: string; body: string };

interface Member {
  id: string;
  profile: Profile;
  spec: SpawnMemberSpec;
  sessionId: string;
  runtimeMode: RuntimeMode;
  labels: Record<string, string>;
  state: MemberState;
  wired: Set<string>;
  history: LlmMessage[];
  inbox: Inbound[];
  lock: Promise<void>;
  pumpScheduled: boolean;
  running: AbortController | undefined;
  replyTo: string | undefined;
  llm: LlmClient;
  retired: boolean;
  /** The system prompt: the profile's (skills, comms) plus the spawn's additional instructions. Built once. */
  system: string;
}

function isActive(m: Member | undefined): m is Member {
  return m !== undefined && m.state === 'active' && !m.retired;
}

function renderInbound(item: Inbound): string {
  return item.kind === 'peer' ? `Peer message from ${item.from}:\n${item.body}` : contentText(item.content);
}

/** Iterates `source`, but stops waiting as soon as `signal` aborts (even if the source ignores it). */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    if (signal.aborted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function addUsage(a: Usage, b: Usage): Usage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}

function cancelled(memberId: string, reason?: unknown): MobRuntimeError {
  const why = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted';
  return new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled (${why})`, {
    details: { memberId },
  });
}

class EmbeddedMobImpl implements EmbeddedMob {
  readonly kind = 'embedded' as const;
  readonly mobId: string;
  readonly definition: MobDefinition;
  private state: MobStatus = 'Creating';
  private readonly members = new Map<string, Member>();
  private readonly byProfile = new Map<string, Set<string>>();
  private readonly listeners = new Set<{ fn: (e: MobEvent) => void; member: string | undefined }>();
  private readonly log: Array<Extract<MobEvent, { kind: 'mob' }>> = [];
  private readonly llmByProfile = new Map<string, LlmClient>();
  private readonly promptByProfile = new Map<string, string>();
  private readonly toolsByProfile = new Map<string, ToolDef[]>();
  private seq = 0;
  private cursor = 0;
  private busy = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly clock: Clock;
  private readonly tuning: EmbeddedMobTuning;
  private readonly llmOption: EmbeddedMobOptions['llm'];

  constructor(definition: MobDefinition, options: EmbeddedMobOptions) {
    this.definition = definition;
    this.mobId = definition.id;
    this.tuning = options.options ?? {};
    this.clock = this.tuning.clock ?? systemClock;
    this.llmOption = options.llm;
  }

  start(): void {
    this.state = 'Running';
    this.logEvent({ type: 'mob_created' });
  }

  // ---- events -------------------------------------------------------------
  private deliver(event: MobEvent, memberId: string | undefined): void {
    for (const l of this.listeners) {
      if (l.member !== undefined && l.member !== memberId) continue;
      try {
        l.fn(event);
      } catch {
        // a listener's failure must not break the mob
      }
    }
  }

  private emit(member: Member, event: AgentEventPayload): void {
    if (this.listeners.size === 0) {
      this.seq++;
      return;
    }
    const e: MobEvent = {
      kind: 'agent',
      memberId: member.id,
      profile: member.profile.name,
      sessionId: member.sessionId,
      seq: ++this.seq,
      timestampMs: this.clock.nowMs(),
      event,
    };
    this.deliver(e, member.id);
  }

  private logEvent(event: MobLogPayload): void {
    const e = { kind: 'mob' as const, seq: ++this.seq, timestampMs: this.clock.nowMs(), cursor: ++this.cursor, event };
    this.log.push(e);
    const limit = this.tuning.eventLogLimit ?? 10_000;
    if (this.log.length > limit) this.log.splice(0, this.log.length - limit);
    this.deliver(e, undefined); // member-filtered listeners skip mob log events
  }

  subscribe(listener: (event: MobEvent) => void, options: SubscribeOptions = {}): () => void {
    const entry = { fn: listener, member: options.member };
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  events(afterCursor = 0, limit = 100): Array<Extract<MobEvent, { kind: 'mob' }>> {
    const first = this.log[0];
    if (first && afterCursor > 0 && afterCursor < first.cursor - 1) {
      throw new MobRuntimeError(
        'STALE_CURSOR',
        `event cursor ${afterCursor} was pruned (oldest kept is ${first.cursor}); re-read from 0`,
        {
          details: { watermark: first.cursor - 1, requested: afterCursor },
        },
      );
    }
    return this.log.filter((e) => e.cursor > afterCursor).slice(0, limit);
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
        {
          details: { state: this.state, operation: op },
        },
      );
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'Stopped') return;
    this.state = 'Stopped';
    for (const m of this.members.values()) m.running?.abort(new Error('mob stopped'));
    this.logEvent({ type: 'mob_stopped' });
    await Promise.all([...this.members.values()].map((m) => this.withLock(m, async () => undefined)));
  }

  async close(): Promise<void> {
    await this.stop();
    this.listeners.clear();
  }

  async resume(): Promise<void> {
    if (this.state === 'Running') return;
    this.requireState('Stopped', 'resume');
    this.state = 'Running';
    this.logEvent({ type: 'mob_resumed' });
    for (const m of this.members.values()) this.wake(m);
  }

  private requireState(state: MobStatus, op: string): void {
    if (this.state !== state)
      throw new MobRuntimeError(
        'INVALID_TRANSITION',
        `invalid state transition: cannot ${op} while the mob is ${this.state}`,
      );
  }

  // ---- roster -------------------------------------------------------------
  private getActive(id: string): Member {
    requireMemberId(id);
    const m = this.members.get(id);
    if (!isActive(m)) throw memberNotFound(id);
    return m;
  }

  private snapshot(m: Member): MemberSnapshot {
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

  private llmFor(profile: Profile): LlmClient {
    const cached = this.llmByProfile.get(profile.name);
    if (cached) return cached;
    let client: LlmClient;
    if (this.llmOption === undefined)
      client = resolveLlmClient(profile, this.tuning.env ?? process.env, this.tuning.fetch);
    else if (typeof this.llmOption === 'function') client = this.llmOption(profile);
    else client = this.llmOption;
    this.llmByProfile.set(profile.name, client);
    return client;
  }

  private systemPromptFor(profile: Profile): string {
    let prompt = this.promptByProfile.get(profile.name);
    if (prompt === undefined) {
      prompt = profileSystemPrompt(this.definition, profile);
      this.promptByProfile.set(profile.name, prompt);
    }
    return prompt;
  }

  private toolsFor(profile: Profile): ToolDef[] {
    let tools = this.toolsByProfile.get(profile.name);
    if (!tools) {
      tools = [...(profile.tools.comms ? COMMS_TOOLS : [])];
      for (const t of this.tuning.tools ?? [])
        if (!t.profiles || t.profiles.includes(profile.name)) tools.push(t.definition);
      this.toolsByProfile.set(profile.name, tools);
    }
    return tools;
  }

  async spawn(spec: SpawnMemberSpec): Promise<MemberSnapshot> {
    return this.snapshot(this.spawnSync(spec));
  }

  private spawnSync(rawSpec: SpawnMemberSpec, restoreWires?: Iterable<string>): Member {
    this.requireRunning('spawn');
    const spec = normalizeSpawnSpec(rawSpec);
    const existing = this.members.get(spec.meerkatId);
    if (existing) {
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
    const llm = this.llmFor(profile);
    const base = this.systemPromptFor(profile); // fails here, at spawn, for a missing path skill
    const extra = spec.additionalInstructions;
    const member: Member = {
      system: extra && extra.length > 0 ? `${base}\n\n${extra.join('\n\n')}` : base,
      id: spec.meerkatId,
      profile,
      spec,
      sessionId: spec.resumeSessionId ?? randomUUID(),
      runtimeMode: spec.runtimeMode ?? profile.runtimeMode,
      labels: spec.labels ?? {},
      state: 'active',
      wired: new Set(),
      history: [],
      inbox: [],
      lock: Promise.resolve(),
      pumpScheduled: false,
      running: undefined,
      replyTo: undefined,
      llm,
      retired: false,
    };
    this.members.set(member.id, member);
    let set = this.byProfile.get(profile.name);
    if (!set) this.byProfile.set(profile.name, (set = new Set()));
    set.add(member.id);
    this.logEvent({
      type: 'member_spawned',
      memberId: member.id,
      profile: profile.name,
      runtimeMode: member.runtimeMode,
      labels: { ...member.labels },
    });
    // spawn-time wiring (Meerkat's spawn_wiring_targets): orchestrator and role wiring
    const orch = this.definition.orchestrator;
    if (this.definition.wiring.autoWireOrchestrator && orch !== undefined) {
      if (profile.name === orch) {
        for (const other of this.members.values())
          if (other !== member && isActive(other) && other.profile.name !== orch) this.link(member, other);
      } else {
        for (const id of this.byProfile.get(orch) ?? []) this.link(member, this.members.get(id));
      }
    }
    for (const edge of this.definition.wiring.roleWiring) {
      if (edge.a === profile.name)
        for (const id of this.byProfile.get(edge.b) ?? []) this.link(member, this.members.get(id));
      if (edge.b === profile.name)
        for (const id of this.byProfile.get(edge.a) ?? []) this.link(member, this.members.get(id));
    }
    for (const id of restoreWires ?? []) this.link(member, this.members.get(id));
    if (spec.initialMessage !== undefined) {
      member.inbox.push({ kind: 'external', content: spec.initialMessage });
      this.wake(member);
    }
    return member;
  }

  async spawnMany(specs: SpawnMemberSpec[]): Promise<MemberSnapshot[]> {
    const settled = await Promise.allSettled(specs.map((s) => this.spawn(s)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<MemberSnapshot>).value);
  }

  async ensureMember(spec: SpawnMemberSpec): Promise<MemberSnapshot> {
    const normalized = normalizeSpawnSpec(spec);
    const existing = this.members.get(normalized.meerkatId);
    if (existing && isActive(existing)) return this.snapshot(existing);
    if (existing) await this.withLock(existing, async () => undefined); // a retiring member: let it finish
    return this.spawn(normalized);
  }

  async reconcile(desired: SpawnMemberSpec[], options: ReconcileOptions = {}): Promise<ReconcileReport> {
    this.requireRunning('reconcile');
    const retireStale = options.retireStale ?? true;
    const seen = new Set<string>();
    const specs: SpawnMemberSpec[] = [];
    desired.forEach((s, i) => {
      const n = normalizeSpawnSpec(s, `desired[${i}]`);
      if (seen.has(n.meerkatId)) return;
      seen.add(n.meerkatId);
      specs.push(n);
    });
    const report: ReconcileReport = { desired: specs.map((s) => s.meerkatId), retained: [], spawned: [], retired: [] };
    for (const s of specs) {
      if (isActive(this.members.get(s.meerkatId))) report.retained.push(s.meerkatId);
    }
    for (const s of specs) {
      if (isActive(this.members.get(s.meerkatId))) continue;
      this.spawnSync(s);
      report.spawned.push(s.meerkatId);
    }
    if (retireStale) {
      const stale = [...this.members.values()]
        .filter((m) => isActive(m) && !seen.has(m.id))
        .map((m) => m.id)
        .sort();
      await Promise.all(stale.map((id) => this.retire(id)));
      report.retired.push(...stale);
    }
    return report;
  }

  async retire(memberId: string): Promise<void> {
    const m = this.getActive(memberId);
    m.state = 'retiring';
    m.running?.abort(new Error('member retired'));
    await this.withLock(m, async () => undefined);
    m.retired = true;
    for (const peer of [...m.wired]) this.unlink(m, this.members.get(peer));
    m.inbox.length = 0;
    this.members.delete(m.id);
    this.byProfile.get(m.profile.name)?.delete(m.id);
    this.logEvent({ type: 'member_retired', memberId: m.id, profile: m.profile.name });
  }

  async respawn(memberId: string): Promise<MemberSnapshot> {
    this.requireRunning('respawn');
    const m = this.getActive(memberId);
    const peers = [...m.wired];
    const { initialMessage: _drop, resumeSessionId: _old, ...spec } = m.spec;
    await this.retire(memberId);
    return this.snapshot(this.spawnSync(spec, peers));
  }

  async listMembers(): Promise<MemberSnapshot[]> {
    return [...this.members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => this.snapshot(m));
  }

  async getMember(memberId: string): Promise<MemberSnapshot | undefined> {
    requireMemberId(memberId);
    const m = this.members.get(memberId);
    return m ? this.snapshot(m) : undefined;
  }

  async findMembers(labelKey: string, labelValue: string): Promise<MemberSnapshot[]> {
    return (await this.listMembers()).filter((m) => m.labels[labelKey] === labelValue);
  }

  history(memberId: string): LlmMessage[] {
    const m = this.members.get(memberId);
    if (!m) throw memberNotFound(memberId);
    return structuredClone(m.history);
  }

  // ---- wiring -------------------------------------------------------------
  private link(a: Member, b: Member | undefined): void {
    if (!isActive(b) || a === b || a.wired.has(b.id)) return;
    a.wired.add(b.id);
    b.wired.add(a.id);
    const [x, y] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    this.logEvent({ type: 'members_wired', a: x, b: y });
  }

  private unlink(a: Member, b: Member | undefined): void {
    if (!b || !a.wired.has(b.id)) return;
    a.wired.delete(b.id);
    b.wired.delete(a.id);
    const [x, y] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
    this.logEvent({ type: 'members_unwired', a: x, b: y });
  }

  async wire(a: string, b: string): Promise<void> {
    this.requireRunning('wire');
    const ma = this.getActive(a);
    const mb = this.getActive(b);
    if (ma === mb) throw invalidInput('peer', `must differ from member (${a})`);
    this.link(ma, mb);
  }

  async unwire(a: string, b: string): Promise<void> {
    const ma = this.getActive(a);
    const mb = this.getActive(b);
    this.unlink(ma, mb);
  }

  // ---- work ---------------------------------------------------------------
  async sendMessage(memberId: string, content: ContentInput, options: SendOptions = {}): Promise<string> {
    requireMemberId(memberId);
    requireContent(content);
    this.requireRunning('send a message');
    const m = this.getActive(memberId);
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
    this.requireRunning('run a turn');
    const m = this.getActive(memberId);
    this.busyInc();
    try {
      return await this.withLock(m, async () => {
        if (!isActive(m)) throw memberNotFound(memberId);
        this.requireRunning('run a turn');
        const items = m.inbox.splice(0);
        items.push({ kind: 'external', content: prompt });
        return this.execute(m, items, options.signal);
      });
    } finally {
      this.wake(m);
      this.busyDec();
    }
  }

  async cancel(memberId: string): Promise<void> {
    const m = this.getActive(memberId);
    m.running?.abort(new Error('cancelled by host'));
  }

  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    if (this.busy === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        reject(new MobRuntimeError('TIMEOUT', `mob did not become idle within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.idleWaiters.push(done);
    });
  }

  private busyInc(): void {
    this.busy++;
  }

  private busyDec(): void {
    this.busy--;
    if (this.busy === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async withLock<T>(m: Member, fn: () => Promise<T>): Promise<T> {
    const previous = m.lock;
    let release!: () => void;
    m.lock = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
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
    this.busyInc();
    void this.withLock(m, async () => {
      m.pumpScheduled = false;
      if (!isActive(m) || this.state !== 'Running') return;
      const items = m.inbox.splice(0);
      if (items.length > 0) await this.execute(m, items).catch(() => undefined);
    }).finally(() => {
      this.wake(m);
      this.busyDec();
    });
  }

  /** One agent run: render the trigger, then LLM turns with concurrent tool calls until the model ends its turn. */
  private async execute(m: Member, items: Inbound[], externalSignal?: AbortSignal): Promise<RunResult> {
    const controller = new AbortController();
    const onExternalAbort = () => controller.abort(externalSignal?.reason ?? new Error('aborted'));
    if (externalSignal?.aborted) controller.abort(externalSignal.reason);
    externalSignal?.addEventListener('abort', onExternalAbort, { once: true });
    m.running = controller;
    const prompt = items.map(renderInbound).join('\n\n');
    m.replyTo = undefined;
    for (const item of items) {
      m.history.push({ role: 'user', content: renderInbound(item) });
      if (item.kind === 'peer') m.replyTo = item.from;
    }
    this.emit(m, { type: 'run_started', sessionId: m.sessionId, prompt });
    for (const item of items)
      if (item.kind === 'peer') this.emit(m, { type: 'peer_content_ingested', peer: item.from });
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let text = '';
    let turns = 0;
    let toolCallCount = 0;
    const maxTurns = m.profile.maxTurns ?? this.tuning.maxTurns ?? 16;
    try {
      for (;;) {
        if (controller.signal.aborted) throw cancelled(m.id, controller.signal.reason);
        if (turns >= maxTurns) {
          throw new MobRuntimeError(
            'INTERNAL',
            `member ${m.id} hit the max-turns guard (${maxTurns} LLM turns) without ending its turn`,
            {
              code: 'MaxTurnsExceeded',
              details: { memberId: m.id, maxTurns },
            },
          );
        }
        turns++;
        this.emit(m, { type: 'turn_started', turnNumber: turns });
        const request: LlmRequest = {
          model: m.profile.model,
          system: m.system,
          messages: m.history.slice(),
          tools: this.toolsFor(m.profile),
          maxTokens: m.profile.maxTokens ?? this.tuning.maxTokens ?? 4096,
          caller: { memberId: m.id, profile: m.profile.name },
        };
        let turnText = '';
        const calls: ToolCall[] = [];
        let stopReason: StopReason = 'end_turn';
        let turnUsage: Usage = { inputTokens: 0, outputTokens: 0 };
        const maxRetries = this.tuning.llmRetries ?? 2;
        for (let attempt = 0; ; attempt++) {
          let produced = false;
          try {
            for await (const ev of abortable(m.llm.stream(request, controller.signal), controller.signal)) {
              produced = true;
              if (ev.type === 'text_delta') {
                turnText += ev.delta;
                this.emit(m, { type: 'text_delta', delta: ev.delta });
              } else if (ev.type === 'tool_call_complete') {
                calls.push({ id: ev.id, name: ev.name, args: ev.args });
                this.emit(m, { type: 'tool_call_requested', id: ev.id, name: ev.name, args: ev.args });
              } else if (ev.type === 'usage') {
                turnUsage = addUsage(turnUsage, ev.usage);
              } else if (ev.type === 'done') {
                stopReason = ev.stopReason;
              }
            }
            break;
          } catch (error) {
            // transient provider failures before any output are retried with backoff (Meerkat's `retrying`)
            const retryable = error instanceof MobRuntimeError && error.retryable && error.mobCode === 'PROVIDER_ERROR';
            if (produced || !retryable || attempt >= maxRetries || controller.signal.aborted) throw error;
            const delayMs = (this.tuning.llmRetryBaseMs ?? 250) * 2 ** attempt;
            this.emit(m, { type: 'retrying', attempt: attempt + 1, delayMs, error: (error as Error).message });
            await abortableSleep(delayMs, controller.signal);
          }
        }
        if (controller.signal.aborted) throw cancelled(m.id, controller.signal.reason);
        usage = addUsage(usage, turnUsage);
        if (turnText !== '') {
          this.emit(m, { type: 'text_complete', content: turnText });
          text = turnText;
        }
        m.history.push({ role: 'assistant', content: turnText, toolCalls: calls });
        this.emit(m, {
          type: 'turn_completed',
          stopReason: calls.length > 0 ? 'tool_use' : stopReason,
          usage: turnUsage,
        });
        if (calls.length === 0) break;
        toolCallCount += calls.length;
        const results = await Promise.all(calls.map((c) => this.runTool(m, c, controller.signal)));
        m.history.push({ role: 'tool_results', results });
      }
      this.emit(m, { type: 'run_completed', sessionId: m.sessionId, result: text, usage });
      return { sessionId: m.sessionId, text, usage, turns, toolCalls: toolCallCount };
    } catch (error) {
      const last = m.history[m.history.length - 1];
      if (last?.role === 'assistant' && last.toolCalls.length > 0) {
        m.history.push({
          role: 'tool_results',
          results: last.toolCalls.map((c) => ({
            toolCallId: c.id,
            name: c.name,
            content: 'cancelled before the tool finished',
            isError: true,
          })),
        });
      }
      const err = controller.signal.aborted ? cancelled(m.id, controller.signal.reason) : error;
      const errorClass = isMobKitError(err)
        ? err instanceof MobRuntimeError
          ? err.mobCode.toLowerCase()
          : err.code
        : 'internal';
      this.emit(m, {
        type: 'run_failed',
        sessionId: m.sessionId,
        errorClass: isMobKitError(err) && err.code === 'MaxTurnsExceeded' ? 'max_turns_exceeded' : errorClass,
        error: (err as Error).message,
      });
      throw err;
    } finally {
      externalSignal?.removeEventListener('abort', onExternalAbort);
      m.running = undefined;
    }
  }

  private async runTool(m: Member, call: ToolCall, runSignal: AbortSignal): Promise<ToolResult> {
    const startedReal = performance.now();
    let content: string;
    let isError = false;
    const timeoutMs = this.tuning.toolTimeoutMs ?? 60_000;
    const controller = new AbortController();
    // One listener per call both aborts the tool and fails the race; the finally removes it.
    let rejectRun!: (error: Error) => void;
    const aborted = new Promise<never>((_, reject) => {
      rejectRun = reject;
    });
    const onAbort = () => {
      controller.abort(runSignal.reason);
      rejectRun(new Error('run cancelled'));
    };
    if (runSignal.aborted) onAbort();
    else runSignal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = Promise.resolve().then(() => this.executeTool(m, call, controller.signal));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`tool ${call.name} timed out after ${timeoutMs} ms`));
          controller.abort(new Error('tool timed out'));
        }, timeoutMs);
      });
      const value = await Promise.race([work, timeout, aborted]);
      content = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    } catch (error) {
      isError = true;
      content = (error as Error).message ?? String(error);
    } finally {
      clearTimeout(timer);
      runSignal.removeEventListener('abort', onAbort);
    }
    this.emit(m, {
      type: 'tool_execution_completed',
      id: call.id,
      name: call.name,
      result: content,
      isError,
      durationMs: Math.round(performance.now() - startedReal),
    });
    return { toolCallId: call.id, name: call.name, content, isError };
  }

  private async executeTool(m: Member, call: ToolCall, signal: AbortSignal): Promise<unknown> {
    const args = (call.args ?? {}) as Record<string, unknown>;
    if (m.profile.tools.comms) {
      if (call.name === 'peers') {
        return {
          peers: [...m.wired].sort().map((id) => {
            const p = this.members.get(id);
            return {
              peer_id: id,
              name: `${this.mobId}/${p?.profile.name ?? '?'}/${id}`,
              description: p?.profile.peerDescription ?? '',
            };
          }),
        };
      }
      if (call.name === 'send_message') {
        const peer = args.peer_id;
        if (typeof peer !== 'string' || peer.trim() === '')
          throw new Error('send_message: peer_id is required (call peers to list wired peers)');
        return this.sendPeer(m, peer, args.body, args.handling_mode);
      }
      if (call.name === 'reply_to_peer') {
        if (m.replyTo === undefined)
          throw new Error('reply_to_peer: no peer message started this run; use send_message with a peer_id');
        return this.sendPeer(m, m.replyTo, args.body, args.handling_mode);
      }
    }
    const tool = (this.tuning.tools ?? []).find(
      (t) => t.definition.name === call.name && (!t.profiles || t.profiles.includes(m.profile.name)),
    );
    if (!tool) throw new Error(`unknown tool: ${call.name}`);
    return tool.execute(call.args, { memberId: m.id, profile: m.profile.name, sessionId: m.sessionId, signal });
  }

  private sendPeer(from: Member, peerId: string, body: unknown, mode: unknown): { sent: true; peer_id: string } {
    if (typeof body !== 'string' || body.trim() === '') throw new Error('send_message: body must be non-empty text');
    const target = this.members.get(peerId);
    if (!from.wired.has(peerId) || !isActive(target)) {
      throw new Error(
        `peer_not_found_or_not_trusted: '${peerId}' is not a wired peer of '${from.id}' (call peers to list wired peers)`,
      );
    }
    this.enqueue(target, { kind: 'peer', from: from.id, body }, mode === 'steer' ? 'steer' : 'queue');
    return { sent: true, peer_id: peerId };
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
