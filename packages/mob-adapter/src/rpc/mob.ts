import type { MobDefinition, RuntimeMode } from '../definition.js';
import { MobRuntimeError, requireMemberId } from '../errors.js';
import { normalizeSpawnSpec, requireContent, SpawnMemberSpec as SpawnSpecs } from '../spec.js';
import type {
  AgentEventPayload,
  ContentInput,
  MemberSnapshot,
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
import { RkatRpcClient, type RkatRpcNotification } from './client.js';

/** Options of {@link createRkatRpcMob}. */
export interface RkatRpcMobOptions {
  /** The executable (default `rkat-rpc`, or `MEERKAT_BIN_PATH` when set). */
  command?: string;
  /** Arguments (e.g. `['--isolated']`, or `['--realm', 'x', '--state-root', dir]`). */
  args?: string[];
  /** Extra environment for the child (e.g. `RKAT_TEST_CLIENT=1`, provider keys). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Per request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** How often subscribers' mob log is polled with `mob/events` (default 100 ms). */
  pollIntervalMs?: number;
  /** Contract versions accepted, as `major.minor` (default `['0.8']`; for 0.x both must match). */
  contractVersions?: string[];
}

/** The rkat-rpc mob: the {@link MobRuntime} port plus access to the process. */
export interface RkatRpcMob extends MobRuntime {
  readonly kind: 'rkat-rpc';
  /** The contract version the server reported. */
  readonly contractVersion: string;
  /** The child's pid. */
  readonly pid: number | undefined;
  /** The mob log after `afterCursor` (`mob/events`). */
  events(afterCursor?: number, limit?: number): Promise<Array<Extract<MobEvent, { kind: 'mob' }>>>;
}

interface WireMember {
  agent_identity: string;
  role: string;
  runtime_mode?: RuntimeMode;
  status?: string;
  labels?: Record<string, string>;
  wired_to?: string[];
  member_ref?: string;
}

interface WireUsage {
  input_tokens?: number;
  output_tokens?: number;
}

function usageOf(u: WireUsage | undefined): { inputTokens: number; outputTokens: number } {
  return { inputTokens: u?.input_tokens ?? 0, outputTokens: u?.output_tokens ?? 0 };
}

/** Maps a Meerkat `AgentEvent` payload (snake_case) to {@link AgentEventPayload}. */
export function agentEventFromWire(payload: Record<string, unknown>, sessionId: string): AgentEventPayload {
  const p = payload;
  switch (payload.type) {
    case 'run_started':
      return {
        type: 'run_started',
        sessionId: (p.session_id as string) ?? sessionId,
        prompt: typeof p.prompt === 'string' ? p.prompt : JSON.stringify(p.prompt ?? ''),
      };
    case 'turn_started':
      return { type: 'turn_started', turnNumber: Number(p.turn_number ?? 0) };
    case 'text_delta':
      return { type: 'text_delta', delta: String(p.delta ?? '') };
    case 'text_complete':
      return { type: 'text_complete', content: String(p.content ?? '') };
    case 'tool_call_requested':
      return { type: 'tool_call_requested', id: String(p.id), name: String(p.name), args: p.args };
    case 'tool_execution_completed':
      return {
        type: 'tool_execution_completed',
        id: String(p.id),
        name: String(p.name),
        result:
          typeof (p.content ?? p.result) === 'string'
            ? ((p.content ?? p.result) as string)
            : JSON.stringify(p.content ?? p.result ?? null),
        isError: p.is_error === true,
        durationMs: Number(p.duration_ms ?? 0),
      };
    case 'turn_completed':
      return {
        type: 'turn_completed',
        stopReason: (p.stop_reason as never) ?? 'end_turn',
        usage: usageOf(p.usage as WireUsage),
      };
    case 'run_completed':
      return {
        type: 'run_completed',
        sessionId: (p.session_id as string) ?? sessionId,
        result: String(p.result ?? ''),
        usage: usageOf(p.usage as WireUsage),
      };
    case 'run_failed': {
      const report = (p.error_report ?? {}) as { class?: string; message?: string };
      return {
        type: 'run_failed',
        sessionId: (p.session_id as string) ?? sessionId,
        errorClass: report.class ?? 'unknown',
        error: report.message ?? String(p.error ?? ''),
      };
    }
    case 'peer_content_ingested':
      return { type: 'peer_content_ingested', peer: String(p.peer ?? '') };
    default:
      return { type: 'other', raw: payload };
  }
}

function logEventFromWire(kind: Record<string, unknown>): MobLogPayload {
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

const STATUS: Record<string, MobStatus> = {
  creating: 'Creating',
  running: 'Running',
  stopped: 'Stopped',
  completed: 'Completed',
  destroyed: 'Destroyed',
};

class RkatRpcMobImpl implements RkatRpcMob {
  readonly kind = 'rkat-rpc' as const;
  readonly mobId: string;
  readonly contractVersion: string;
  private readonly listeners = new Set<{ fn: (e: MobEvent) => void; member: string | undefined }>();
  private readonly agentWaiters = new Set<(e: Extract<MobEvent, { kind: 'agent' }>) => void>();
  private seq = 0;
  private cursor = 0;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;
  private streamId: string | undefined;
  private closed = false;

  constructor(
    private readonly client: RkatRpcClient,
    mobId: string,
    contractVersion: string,
    private readonly pollIntervalMs: number,
  ) {
    this.mobId = mobId;
    this.contractVersion = contractVersion;
    client.onNotification((n) => this.onNotification(n));
  }

  get pid(): number | undefined {
    return this.client.pid;
  }

  async openStream(): Promise<void> {
    const opened = await this.client.request<{ stream_id: string }>('mob/stream_open', { mob_id: this.mobId });
    this.streamId = opened.stream_id;
  }

  private onNotification(n: RkatRpcNotification): void {
    if (n.method === 'mob/stream_end' && n.params.stream_id === this.streamId && !this.closed) {
      // Meerkat: treat an end (other than our own close) as a reason to reopen
      this.streamId = undefined;
      void this.openStream().catch(() => undefined);
      return;
    }
    if (n.method !== 'mob/stream_event' || n.params.stream_id !== this.streamId) return;
    const attributed = (n.params.event ?? {}) as {
      source?: { identity?: string };
      role?: string;
      envelope?: Record<string, unknown>;
    };
    const envelope = attributed.envelope ?? {};
    const source = (envelope.source ?? {}) as { session_id?: string };
    const memberId = attributed.source?.identity ?? '';
    const event: Extract<MobEvent, { kind: 'agent' }> = {
      kind: 'agent',
      memberId,
      profile: attributed.role ?? '',
      sessionId: source.session_id,
      seq: ++this.seq,
      timestampMs: Number(envelope.timestamp_ms ?? Date.now()),
      event: agentEventFromWire((envelope.payload ?? {}) as Record<string, unknown>, source.session_id ?? ''),
    };
    for (const w of [...this.agentWaiters]) w(event);
    this.deliver(event, memberId);
  }

  private deliver(event: MobEvent, memberId: string | undefined): void {
    for (const l of this.listeners) {
      if (l.member !== undefined && (event.kind !== 'agent' || l.member !== memberId)) continue;
      try {
        l.fn(event);
      } catch {
        // ignore listener failures
      }
    }
  }

  subscribe(listener: (event: MobEvent) => void, options: SubscribeOptions = {}): () => void {
    const entry = { fn: listener, member: options.member };
    this.listeners.add(entry);
    this.ensurePoller();
    return () => {
      this.listeners.delete(entry);
      if (this.listeners.size === 0 && this.poller) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    };
  }

  private ensurePoller(): void {
    if (this.poller || this.closed) return;
    this.poller = setInterval(() => void this.pollOnce(), this.pollIntervalMs);
    this.poller.unref?.();
  }

  private async pollOnce(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      for (;;) {
        const batch = await this.events(this.cursor, 100);
        for (const e of batch) {
          this.cursor = Math.max(this.cursor, e.cursor);
          this.deliver(e, undefined);
        }
        if (batch.length < 100) break;
      }
    } catch {
      // the next tick retries; a dead process stops the poller in close()
    } finally {
      this.polling = false;
    }
  }

  async events(afterCursor = 0, limit = 100): Promise<Array<Extract<MobEvent, { kind: 'mob' }>>> {
    const r = await this.client.request<{
      events: Array<{ cursor: number; timestamp: string; kind: Record<string, unknown> }>;
    }>('mob/events', {
      mob_id: this.mobId,
      after_cursor: afterCursor,
      limit,
    });
    return r.events.map((e) => ({
      kind: 'mob' as const,
      seq: ++this.seq,
      timestampMs: Date.parse(e.timestamp) || Date.now(),
      cursor: e.cursor,
      event: logEventFromWire(e.kind),
    }));
  }

  async status(): Promise<MobStatus> {
    const r = await this.client.request<{ status: string }>('mob/status', { mob_id: this.mobId });
    return STATUS[r.status.toLowerCase()] ?? (r.status as MobStatus);
  }

  private toSnapshot(m: WireMember, sessionId?: string): MemberSnapshot {
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

  private async wireMembers(): Promise<WireMember[]> {
    const r = await this.client.request<{ members: WireMember[] }>('mob/members', { mob_id: this.mobId });
    return r.members;
  }

  async listMembers(): Promise<MemberSnapshot[]> {
    return (await this.wireMembers())
      .map((m) => this.toSnapshot(m))
      .sort((a, b) => (a.meerkatId < b.meerkatId ? -1 : a.meerkatId > b.meerkatId ? 1 : 0));
  }

  async getMember(memberId: string): Promise<MemberSnapshot | undefined> {
    requireMemberId(memberId);
    const m = (await this.wireMembers()).find((x) => x.agent_identity === memberId);
    if (!m) return undefined;
    const status = await this.client
      .request<{ current_session_id?: string }>('mob/member_status', { mob_id: this.mobId, agent_identity: memberId })
      .catch(() => undefined);
    return this.toSnapshot(m, status?.current_session_id);
  }

  async findMembers(labelKey: string, labelValue: string): Promise<MemberSnapshot[]> {
    return (await this.listMembers()).filter((m) => m.labels[labelKey] === labelValue);
  }

  async spawn(rawSpec: SpawnMemberSpec): Promise<MemberSnapshot> {
    const spec = normalizeSpawnSpec(rawSpec);
    const wire = SpawnSpecs.toWire(spec);
    const params: Record<string, unknown> = {
      mob_id: this.mobId,
      profile: spec.profile,
      agent_identity: spec.meerkatId,
    };
    if (wire.initial_message !== undefined) params.initial_message = wire.initial_message;
    if (wire.labels) params.labels = wire.labels;
    if (wire.context !== undefined) params.context = wire.context;
    if (wire.additional_instructions) params.additional_instructions = wire.additional_instructions;
    if (wire.runtime_mode) params.runtime_mode = wire.runtime_mode;
    if (wire.resume_session_id) params.launch_mode = { mode: 'resume', bridge_session_id: wire.resume_session_id };
    await this.client.request('mob/spawn', params);
    const member = await this.getMember(spec.meerkatId);
    if (!member)
      throw new MobRuntimeError(
        'MEMBER_NOT_FOUND',
        `mob member not found: ${spec.meerkatId} (spawned, then missing from mob/members)`,
      );
    return member;
  }

  async spawnMany(specs: SpawnMemberSpec[]): Promise<MemberSnapshot[]> {
    const settled = await Promise.allSettled(specs.map((s) => this.spawn(s)));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<MemberSnapshot>).value);
  }

  async ensureMember(rawSpec: SpawnMemberSpec): Promise<MemberSnapshot> {
    const spec = normalizeSpawnSpec(rawSpec);
    const existing = await this.getMember(spec.meerkatId);
    if (existing) return existing;
    try {
      return await this.spawn(spec);
    } catch (error) {
      if (!(error instanceof MobRuntimeError) || error.mobCode !== 'MEMBER_ALREADY_EXISTS') throw error;
      const raced = await this.getMember(spec.meerkatId);
      if (!raced) throw new MobRuntimeError('MEMBER_NOT_FOUND', `mob member not found: ${spec.meerkatId}`);
      return raced;
    }
  }

  async reconcile(desired: SpawnMemberSpec[], options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const retireStale = options.retireStale ?? true;
    const seen = new Set<string>();
    const specs: SpawnMemberSpec[] = [];
    desired.forEach((s, i) => {
      const n = normalizeSpawnSpec(s, `desired[${i}]`);
      if (seen.has(n.meerkatId)) return;
      seen.add(n.meerkatId);
      specs.push(n);
    });
    const active = new Set(
      (await this.wireMembers()).filter((m) => m.status !== 'retiring').map((m) => m.agent_identity),
    );
    const report: ReconcileReport = { desired: specs.map((s) => s.meerkatId), retained: [], spawned: [], retired: [] };
    for (const s of specs) if (active.has(s.meerkatId)) report.retained.push(s.meerkatId);
    for (const s of specs) {
      if (active.has(s.meerkatId)) continue;
      await this.spawn(s);
      report.spawned.push(s.meerkatId);
    }
    if (retireStale) {
      const stale = [...active].filter((id) => !seen.has(id)).sort();
      for (const id of stale) await this.retire(id);
      report.retired.push(...stale);
    }
    return report;
  }

  async retire(memberId: string): Promise<void> {
    requireMemberId(memberId);
    await this.client.request('mob/retire', { mob_id: this.mobId, agent_identity: memberId });
  }

  async respawn(memberId: string): Promise<MemberSnapshot> {
    requireMemberId(memberId);
    await this.client.request('mob/respawn', { mob_id: this.mobId, agent_identity: memberId });
    const member = await this.getMember(memberId);
    if (!member) throw new MobRuntimeError('MEMBER_NOT_FOUND', `mob member not found: ${memberId}`);
    return member;
  }

  async wire(a: string, b: string): Promise<void> {
    requireMemberId(a, 'member');
    requireMemberId(b, 'peer');
    await this.client.request('mob/wire', { mob_id: this.mobId, member: a, peer: { local: b } });
  }

  async unwire(a: string, b: string): Promise<void> {
    requireMemberId(a, 'member');
    requireMemberId(b, 'peer');
    await this.client.request('mob/unwire', { mob_id: this.mobId, member: a, peer: { local: b } });
  }

  async sendMessage(memberId: string, content: ContentInput, options: SendOptions = {}): Promise<string> {
    requireMemberId(memberId);
    requireContent(content);
    const r = await this.client.request<{ member_ref?: string }>('mob/member_send', {
      mob_id: this.mobId,
      agent_identity: memberId,
      content,
      handling_mode: options.handlingMode ?? 'queue',
    });
    const status = await this.client
      .request<{ current_session_id?: string }>('mob/member_status', { mob_id: this.mobId, agent_identity: memberId })
      .catch(() => undefined);
    return status?.current_session_id ?? r.member_ref ?? memberId;
  }

  async runTurn(memberId: string, prompt: ContentInput, options: RunTurnOptions = {}): Promise<RunResult> {
    requireMemberId(memberId);
    requireContent(prompt, 'prompt');
    const member = (await this.wireMembers()).find((m) => m.agent_identity === memberId);
    if (!member) throw new MobRuntimeError('MEMBER_NOT_FOUND', `mob member not found: ${memberId}`);
    if (options.signal?.aborted)
      throw new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled before it started`);
    if (member.runtime_mode === 'turn_driven') {
      const r = await this.client.request<{
        session_id: string;
        text: string;
        turns?: number;
        tool_calls?: number;
        usage?: WireUsage;
      }>('mob/turn_start', {
        mob_id: this.mobId,
        agent_identity: memberId,
        prompt,
      });
      return {
        sessionId: r.session_id,
        text: r.text,
        usage: usageOf(r.usage),
        turns: r.turns ?? 1,
        toolCalls: r.tool_calls ?? 0,
      };
    }
    // autonomous: the mob-wide stream is already open; send, then wait for this member's next terminal event
    let turns = 0;
    let toolCalls = 0;
    let waiter!: (e: Extract<MobEvent, { kind: 'agent' }>) => void;
    let onAbort: (() => void) | undefined;
    const done = new Promise<RunResult>((resolve, reject) => {
      waiter = (e) => {
        if (e.memberId !== memberId) return;
        if (e.event.type === 'turn_started') turns++;
        else if (e.event.type === 'tool_call_requested') toolCalls++;
        else if (e.event.type === 'run_completed')
          resolve({
            sessionId: e.event.sessionId,
            text: e.event.result,
            usage: e.event.usage,
            turns: Math.max(turns, 1),
            toolCalls,
          });
        else if (e.event.type === 'run_failed') {
          reject(
            e.event.errorClass === 'cancelled'
              ? new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled (${e.event.error})`)
              : new MobRuntimeError(
                  'INTERNAL',
                  `run of member ${memberId} failed: ${e.event.errorClass}: ${e.event.error}`,
                  { details: { errorClass: e.event.errorClass } },
                ),
          );
        }
      };
      if (options.signal) {
        onAbort = () => {
          void this.client
            .request('mob/force_cancel', { mob_id: this.mobId, agent_identity: memberId })
            .catch(() => undefined);
          reject(
            new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled`, { details: { memberId } }),
          );
        };
        options.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    done.catch(() => undefined); // it may settle (abort) while the send is still in flight; awaited below
    this.agentWaiters.add(waiter);
    try {
      await this.sendMessage(memberId, prompt);
      return await done;
    } finally {
      this.agentWaiters.delete(waiter);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async cancel(memberId: string): Promise<void> {
    requireMemberId(memberId);
    await this.client.request('mob/force_cancel', { mob_id: this.mobId, agent_identity: memberId });
  }

  async stop(): Promise<void> {
    if ((await this.status()) === 'Stopped') return;
    await this.client.request('mob/lifecycle', { mob_id: this.mobId, action: 'stop' });
  }

  async resume(): Promise<void> {
    if ((await this.status()) === 'Running') return;
    await this.client.request('mob/lifecycle', { mob_id: this.mobId, action: 'resume' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.client.closedReason) {
      await this.stop().catch(() => undefined);
      if (this.listeners.size > 0) await this.pollOnce();
    }
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.listeners.clear();
    await this.client.close();
  }
}

/**
 * Starts an `rkat-rpc` child, performs the initialize handshake (contract version and `mob/create`
 * support), creates the mob from `definition` and opens its event stream.
 */
export async function createRkatRpcMob(
  definition: MobDefinition,
  options: RkatRpcMobOptions = {},
): Promise<RkatRpcMob> {
  const command = options.command ?? process.env.MEERKAT_BIN_PATH ?? 'rkat-rpc';
  const client = RkatRpcClient.start({
    command,
    args: options.args ?? [],
    env: options.env,
    cwd: options.cwd,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  try {
    const init = await client.request<{ contract_version?: string; methods?: string[] }>('initialize', {});
    const version = String(init.contract_version ?? '');
    const accepted = options.contractVersions ?? ['0.8'];
    const majorMinor = version.split('.').slice(0, 2).join('.');
    if (!accepted.includes(majorMinor)) {
      throw new MobRuntimeError(
        'VERSION_MISMATCH',
        `rkat-rpc speaks contract ${version || '(none)'}, this adapter supports ${accepted.join(', ')}; install a matching Meerkat`,
        {
          details: { contractVersion: version, accepted },
        },
      );
    }
    const methods = init.methods ?? [];
    for (const needed of [
      'mob/create',
      'mob/spawn',
      'mob/members',
      'mob/member_send',
      'mob/events',
      'mob/stream_open',
    ]) {
      if (!methods.includes(needed)) {
        throw new MobRuntimeError('INTERNAL', `rkat-rpc does not offer ${needed}; build it with the mob feature`, {
          code: 'MobCapabilityMissing',
          details: { method: needed },
        });
      }
    }
    client.notify('initialized');
    const created = await client.request<{ mob_id: string }>('mob/create', { definition: definition.toWire() });
    const mob = new RkatRpcMobImpl(client, created.mob_id, version, options.pollIntervalMs ?? 100);
    await mob.openStream();
    return mob;
  } catch (error) {
    await client.close(200);
    throw error;
  }
}
