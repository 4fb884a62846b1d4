import { type Clock, agentEventPayloadFromWire, systemClock } from '@mobkit/core';
import type { MobDefinition } from '../definition.js';
import { MobRuntimeError, memberNotFound, requireMemberId } from '../errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, positiveLimit, requireMessageSize } from '../message-size.js';
import { EventFanout, type MobLogEvent } from '../shared/event-log.js';
import { applyReconcile, byMemberId, planReconcile, spawnAll, withLabel } from '../shared/roster.js';
import { SpawnMemberSpec as SpawnSpecs, normalizeSpawnSpec, requireContent } from '../spec.js';
import type {
  ContentInput,
  MemberSnapshot,
  MobEvent,
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
import { RunActivity } from './activity.js';
import { RkatRpcClient, type RkatRpcNotification } from './client.js';
import { checkContract } from './handshake.js';
import { MobLogPoller } from './log-poller.js';
import { type AgentMobEvent, watchNextRun } from './next-run.js';
import {
  agentEventFromStream,
  type WireMember,
  type WireMemberStatus,
  type WireUsage,
  logEventFromWire,
  mobStatusFromWire,
  progressBusy,
  snapshotFromWire,
  usageOf,
} from './wire.js';

/**
 * Maps a Meerkat `AgentEvent` payload (snake_case) to an `AgentEventPayload`: the decode direction
 * of core's agent-event codec (`agentEventPayloadFromWire`); `sessionId` fills a missing `session_id`.
 */
export const agentEventFromWire: (
  payload: unknown,
  sessionId?: string,
) => ReturnType<typeof agentEventPayloadFromWire> = agentEventPayloadFromWire;

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
  /** How often subscribers' mob log is polled with `mob/events`, and `waitForIdle` polls (default 100 ms). */
  pollIntervalMs?: number;
  /** Contract versions accepted, as `major.minor` (default `['0.8']`; for 0.x both must match). */
  contractVersions?: string[];
  /** The time seam (default core's `systemClock`): timestamps the server leaves out, the poll waits and `waitForIdle`'s timeout. */
  clock?: Clock;
  /** The largest single message in UTF-8 bytes (default 1 MiB); a bigger one is refused with `MessageTooLarge` before it is sent. */
  maxMessageBytes?: number;
}

/** The rkat-rpc mob: the {@link MobRuntime} port plus access to the process. */
export interface RkatRpcMob extends MobRuntime {
  readonly kind: 'rkat-rpc';
  /** The contract version the server reported. */
  readonly contractVersion: string;
  /** The child's pid. */
  readonly pid: number | undefined;
  /** The mob log after `afterCursor` (`mob/events`). */
  events(afterCursor?: number, limit?: number): Promise<MobLogEvent[]>;
}

interface Settings {
  pollIntervalMs: number;
  clock: Clock;
  maxMessageBytes: number;
}

class RkatRpcMobImpl implements RkatRpcMob {
  readonly kind = 'rkat-rpc' as const;
  private readonly fanout = new EventFanout();
  private readonly agentWaiters = new Set<(e: AgentMobEvent) => void>();
  private readonly activity = new RunActivity();
  private readonly clock: Clock;
  private readonly poller: MobLogPoller;
  private streamId: string | undefined;
  private closed = false;

  constructor(
    private readonly client: RkatRpcClient,
    readonly mobId: string,
    readonly definition: MobDefinition,
    readonly contractVersion: string,
    private readonly settings: Settings,
  ) {
    this.clock = settings.clock;
    this.poller = new MobLogPoller(
      (after, limit) => this.events(after, limit),
      (event) => this.fanout.publish(event),
      settings.clock,
      settings.pollIntervalMs,
    );
    client.onNotification((n) => this.onNotification(n));
  }

  get pid(): number | undefined {
    return this.client.pid;
  }

  async openStream(): Promise<void> {
    const opened = await this.client.request<{ stream_id: string }>('mob/stream_open', { mob_id: this.mobId });
    this.streamId = opened.stream_id;
  }

  // ---- events -------------------------------------------------------------
  private onNotification(n: RkatRpcNotification): void {
    if (n.method === 'mob/stream_end' && n.params.stream_id === this.streamId && !this.closed) {
      // Meerkat: treat an end (other than our own close) as a reason to reopen
      this.streamId = undefined;
      void this.openStream().catch(() => undefined);
      return;
    }
    if (n.method !== 'mob/stream_event' || n.params.stream_id !== this.streamId) return;
    const event = agentEventFromStream(n.params.event, this.fanout.nextSeq(), this.clock.nowMs());
    this.activity.observe(event.memberId, event.event.type);
    for (const w of [...this.agentWaiters]) w(event);
    this.fanout.publish(event);
  }

  subscribe(listener: (event: MobEvent) => void, options: SubscribeOptions = {}): () => void {
    const unsubscribe = this.fanout.subscribe(listener, options);
    if (!this.closed) this.poller.start();
    return () => {
      unsubscribe();
      if (this.fanout.size === 0) this.poller.stop();
    };
  }

  async events(afterCursor = 0, limit = 100): Promise<MobLogEvent[]> {
    const r = await this.client.request<{
      events: Array<{ cursor: number; timestamp: string; kind: Record<string, unknown> }>;
    }>('mob/events', { mob_id: this.mobId, after_cursor: afterCursor, limit });
    return r.events.map((e) => ({
      kind: 'mob' as const,
      seq: this.fanout.nextSeq(),
      timestampMs: Date.parse(e.timestamp) || this.clock.nowMs(),
      cursor: e.cursor,
      event: logEventFromWire(e.kind),
    }));
  }

  // ---- roster -------------------------------------------------------------
  async status(): Promise<MobStatus> {
    const r = await this.client.request<{ status: string }>('mob/status', { mob_id: this.mobId });
    return mobStatusFromWire(r.status);
  }

  private async wireMembers(): Promise<WireMember[]> {
    const r = await this.client.request<{ members: WireMember[] }>('mob/members', { mob_id: this.mobId });
    return r.members;
  }

  private memberStatus(memberId: string): Promise<WireMemberStatus | undefined> {
    return this.client
      .request<WireMemberStatus>('mob/member_status', { mob_id: this.mobId, agent_identity: memberId })
      .catch(() => undefined);
  }

  async listMembers(): Promise<MemberSnapshot[]> {
    return (await this.wireMembers()).map((m) => snapshotFromWire(m)).sort(byMemberId);
  }

  async getMember(memberId: string): Promise<MemberSnapshot | undefined> {
    requireMemberId(memberId);
    const m = (await this.wireMembers()).find((x) => x.agent_identity === memberId);
    if (!m) return undefined;
    return snapshotFromWire(m, (await this.memberStatus(memberId))?.current_session_id);
  }

  async findMembers(labelKey: string, labelValue: string): Promise<MemberSnapshot[]> {
    return withLabel(await this.listMembers(), labelKey, labelValue);
  }

  async spawn(rawSpec: SpawnMemberSpec): Promise<MemberSnapshot> {
    const spec = normalizeSpawnSpec(rawSpec);
    if (spec.initialMessage !== undefined)
      requireMessageSize(spec.initialMessage, this.settings.maxMessageBytes, {
        memberId: spec.meerkatId,
        field: 'initial_message',
      });
    const { meerkat_id, resume_session_id, ...wire } = SpawnSpecs.toWire(spec);
    const params: Record<string, unknown> = { mob_id: this.mobId, ...wire, agent_identity: meerkat_id };
    if (resume_session_id) params.launch_mode = { mode: 'resume', bridge_session_id: resume_session_id };
    await this.client.request('mob/spawn', params);
    const member = await this.getMember(spec.meerkatId);
    if (!member)
      throw new MobRuntimeError(
        'MEMBER_NOT_FOUND',
        `mob member not found: ${spec.meerkatId} (spawned, then missing from mob/members)`,
      );
    return member;
  }

  spawnMany(specs: SpawnMemberSpec[]): Promise<MemberSnapshot[]> {
    return spawnAll(specs, (s) => this.spawn(s));
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
      if (!raced) throw memberNotFound(spec.meerkatId);
      return raced;
    }
  }

  async reconcile(desired: SpawnMemberSpec[], options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const active = new Set(
      (await this.wireMembers()).filter((m) => m.status !== 'retiring').map((m) => m.agent_identity),
    );
    return applyReconcile(planReconcile(desired, active, options), {
      spawn: (spec) => this.spawn(spec),
      retire: (id) => this.retire(id),
    });
  }

  async retire(memberId: string): Promise<void> {
    requireMemberId(memberId);
    await this.client.request('mob/retire', { mob_id: this.mobId, agent_identity: memberId });
    this.activity.forget(memberId);
  }

  async respawn(memberId: string): Promise<MemberSnapshot> {
    requireMemberId(memberId);
    await this.client.request('mob/respawn', { mob_id: this.mobId, agent_identity: memberId });
    this.activity.forget(memberId);
    const member = await this.getMember(memberId);
    if (!member) throw memberNotFound(memberId);
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

  // ---- work ---------------------------------------------------------------
  /** `mob/member_send`: returns on ingress acceptance. */
  private async send(memberId: string, content: ContentInput, options: SendOptions): Promise<{ member_ref?: string }> {
    // Pending before the request: the run's `run_started` can reach the stream before the send's answer.
    this.activity.sent(memberId);
    try {
      return await this.client.request<{ member_ref?: string }>('mob/member_send', {
        mob_id: this.mobId,
        agent_identity: memberId,
        content,
        handling_mode: options.handlingMode ?? 'queue',
      });
    } catch (error) {
      this.activity.unsent(memberId);
      throw error;
    }
  }

  async sendMessage(memberId: string, content: ContentInput, options: SendOptions = {}): Promise<string> {
    requireMemberId(memberId);
    requireContent(content);
    requireMessageSize(content, this.settings.maxMessageBytes, { memberId, field: 'content' });
    const r = await this.send(memberId, content, options);
    return (await this.memberStatus(memberId))?.current_session_id ?? r.member_ref ?? memberId;
  }

  async runTurn(memberId: string, prompt: ContentInput, options: RunTurnOptions = {}): Promise<RunResult> {
    requireMemberId(memberId);
    requireContent(prompt, 'prompt');
    requireMessageSize(prompt, this.settings.maxMessageBytes, { memberId, field: 'prompt' });
    const member = (await this.wireMembers()).find((m) => m.agent_identity === memberId);
    if (!member) throw memberNotFound(memberId);
    if (options.signal?.aborted)
      throw new MobRuntimeError('CANCELLED', `run of member ${memberId} was cancelled before it started`);
    if (member.runtime_mode === 'turn_driven') {
      const r = await this.client.request<{
        session_id: string;
        text: string;
        turns?: number;
        tool_calls?: number;
        usage?: WireUsage;
      }>('mob/turn_start', { mob_id: this.mobId, agent_identity: memberId, prompt });
      return {
        sessionId: r.session_id,
        text: r.text,
        usage: usageOf(r.usage),
        turns: r.turns ?? 1,
        toolCalls: r.tool_calls ?? 0,
      };
    }
    // autonomous: the mob-wide stream is already open; send, then wait for this member's next terminal event
    const run = watchNextRun(memberId, options.signal, {
      listen: (waiter) => {
        this.agentWaiters.add(waiter);
        return () => {
          this.agentWaiters.delete(waiter);
        };
      },
      forceCancel: () => {
        void this.client
          .request('mob/force_cancel', { mob_id: this.mobId, agent_identity: memberId })
          .catch(() => undefined);
      },
    });
    try {
      await this.send(memberId, prompt, {});
      return await run.result;
    } finally {
      run.dispose();
    }
  }

  async cancel(memberId: string): Promise<void> {
    requireMemberId(memberId);
    await this.client.request('mob/force_cancel', { mob_id: this.mobId, agent_identity: memberId });
  }

  /**
   * Polls until every member is idle: by the server's `progress` in `mob/member_status`
   * (`run_state` not `run_open`, no `in_flight_work`), or, for a server that does not report it,
   * by what this adapter saw (its sends and the stream's run events).
   */
  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = this.clock.nowMs() + timeoutMs;
    for (;;) {
      if (await this.isIdle()) return;
      const left = deadline - this.clock.nowMs();
      if (left <= 0) throw new MobRuntimeError('TIMEOUT', `mob did not become idle within ${timeoutMs} ms`);
      await this.clock.sleep(Math.min(this.settings.pollIntervalMs, left));
    }
  }

  private async isIdle(): Promise<boolean> {
    const members = await this.wireMembers();
    const busy = await Promise.all(
      members.map(
        async (m) => progressBusy(await this.memberStatus(m.agent_identity)) ?? this.activity.busy(m.agent_identity),
      ),
    );
    return !busy.includes(true);
  }

  // ---- lifecycle ----------------------------------------------------------
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
      if (this.fanout.size > 0) await this.poller.drain();
    }
    this.closed = true;
    this.poller.stop();
    this.fanout.clear();
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
  const maxMessageBytes = positiveLimit(options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes');
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
    checkContract(version, init.methods ?? [], options.contractVersions ?? ['0.8']);
    client.notify('initialized');
    const created = await client.request<{ mob_id: string }>('mob/create', { definition: definition.toWire() });
    const mob = new RkatRpcMobImpl(client, created.mob_id, definition, version, {
      pollIntervalMs: options.pollIntervalMs ?? 100,
      clock: options.clock ?? systemClock,
      maxMessageBytes,
    });
    await mob.openStream();
    return mob;
  } catch (error) {
    await client.close(200);
    throw error;
  }
}
