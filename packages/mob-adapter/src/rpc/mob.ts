import { type Clock, agentEventPayloadFromWire, systemClock } from '@mobkit/core';
import type { MobDefinition } from '../definition.js';
import { MobRuntimeError, invalidInput, memberNotFound, requireMemberId } from '../errors.js';
import type {
  CompletedMember,
  ForkContext,
  HelperOptions,
  HelperResult,
  MemberApiMethod,
  MemberStatus,
  MobCapabilities,
  MobMemberApi,
  PurgeReport,
  SessionHistoryPage,
  SessionHistoryQuery,
  SessionMessage,
  SessionRef,
  WaitReadyOptions,
  WaitReadyResult,
} from '../member-api.js';
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
import {
  UNSUPPORTED_WHY,
  type WireHelperResult,
  type WireMemberSnapshot,
  type WireSessionMessage,
  helperResultFromWire,
  memberApiFor,
  memberStatusFromWire,
  sessionMessagesFromWire,
  unsupportedOnRkat,
} from './member-wire.js';
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

/**
 * The rkat-rpc mob: the {@link MobRuntime} port and the {@link MobMemberApi} (mapped onto Meerkat's
 * own methods; persistence is Meerkat's), plus access to the process.
 *
 * `capabilities.memberApi` lists the member API methods whose Meerkat methods the connected build
 * offers (its `initialize` method list); the others reject with `UnsupportedForMode` naming the
 * method. Mob labels and `purgeMember` have no Meerkat counterpart and are never listed. A method
 * the build lists but answers `-32601` for rejects with `MobCapabilityMissing` naming the Meerkat method.
 *
 * `capabilities.persistent` is false: Meerkat keeps a mob only in a named realm with a state root
 * (`--realm` + `--state-root`; the default is a new isolated realm per process), and this adapter
 * always creates its mob afresh (`mob/create`) rather than reattaching one after a restart, so it
 * cannot promise that roster, sessions and inboxes survive one.
 */
export interface RkatRpcMob extends MobRuntime, MobMemberApi {
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
  /** The methods the server's `initialize` listed. */
  methods: readonly string[];
}

/** Meerkat's default for `mob/wait_ready` (newer meerkat-mob's `DEFAULT_READY_WAIT_TIMEOUT`). */
const DEFAULT_WAIT_READY_MS = 10 * 60_000;
/** How long a helper run may take when `HelperOptions.timeoutMs` is not set. */
const DEFAULT_HELPER_TIMEOUT_MS = 10 * 60_000;
/** `session/history`'s largest page (Meerkat caps `limit` at 1000). */
const HISTORY_PAGE = 1000;
/** What a blocking call may take beyond its own timeout before the client gives up on the answer. */
const ANSWER_MARGIN_MS = 5000;

/** A positive integer option, or `InvalidInput` naming it. */
function positiveInt(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidInput(field, 'must be a positive integer');
  return value;
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
  /** What this mob answers of the member API (see {@link RkatRpcMob}). */
  readonly capabilities: MobCapabilities;

  constructor(
    private readonly client: RkatRpcClient,
    readonly mobId: string,
    readonly definition: MobDefinition,
    readonly contractVersion: string,
    private readonly settings: Settings,
  ) {
    this.clock = settings.clock;
    this.capabilities = Object.freeze({ persistent: false, memberApi: Object.freeze(memberApiFor(settings.methods)) });
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

  private wireStatus(memberId: string): Promise<WireMemberStatus | undefined> {
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
    return snapshotFromWire(m, (await this.wireStatus(memberId))?.current_session_id);
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
    return (await this.wireStatus(memberId))?.current_session_id ?? r.member_ref ?? memberId;
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
        async (m) => progressBusy(await this.wireStatus(m.agent_identity)) ?? this.activity.busy(m.agent_identity),
      ),
    );
    return !busy.includes(true);
  }

  // ---- member API ---------------------------------------------------------
  /** Rejects with `UnsupportedForMode` unless the connected build offers what `method` needs. */
  private requireMemberApi(method: MemberApiMethod): void {
    if (!this.capabilities.memberApi.includes(method))
      throw unsupportedOnRkat(
        method,
        'the connected rkat-rpc build does not offer the Meerkat methods it maps to (not in its initialize method list); upgrade Meerkat or build it with the mob feature',
      );
  }

  /** `mob/member_status` as Meerkat answers it (`MemberNotFound` for an unknown id). */
  private snapshot(memberId: string): Promise<WireMemberSnapshot> {
    return this.client.request<WireMemberSnapshot>('mob/member_status', {
      mob_id: this.mobId,
      agent_identity: memberId,
    });
  }

  private async profileOf(memberId: string): Promise<string> {
    const m = (await this.wireMembers()).find((x) => x.agent_identity === memberId);
    if (!m) throw memberNotFound(memberId);
    return m.role;
  }

  /** `SessionNotFound` for Meerkat's SESSION_NOT_FOUND (−32001) or a session id it cannot parse. */
  private sessionError(error: unknown, sessionId: string): unknown {
    if (!(error instanceof MobRuntimeError)) return error;
    const { rpcCode, rpcMessage } = (error.details ?? {}) as { rpcCode?: number; rpcMessage?: string };
    const unparsable = rpcCode === -32602 && /^invalid session_id/i.test(rpcMessage ?? '');
    if (rpcCode !== -32001 && !unparsable) return error;
    return new MobRuntimeError(
      'SESSION_NOT_FOUND',
      `session not found: ${sessionId} (rkat-rpc knows no such session in its realm; pass a session id from memberStatus or a helper result)`,
      { details: { sessionId, rpcCode, rpcMessage }, cause: error },
    );
  }

  private async readSession(sessionId: string): Promise<{ created_at: number; message_count: number }> {
    try {
      return await this.client.request<{ created_at: number; message_count: number }>('session/read', {
        session_id: sessionId,
      });
    } catch (error) {
      throw this.sessionError(error, sessionId);
    }
  }

  /** `mob/member_status` decoded; the profile comes from the roster (`mob/members`). */
  async memberStatus(memberId: string): Promise<MemberStatus> {
    requireMemberId(memberId);
    this.requireMemberApi('member_status');
    const [wire, profile] = await Promise.all([this.snapshot(memberId), this.profileOf(memberId)]);
    return memberStatusFromWire(this.mobId, memberId, profile, wire);
  }

  /** `mob/member_status`'s `current_session_id`; `SessionNotFound` when the member has none. */
  async memberCurrentSessionId(memberId: string): Promise<string> {
    requireMemberId(memberId);
    this.requireMemberApi('member_current_session_id');
    const sessionId = (await this.snapshot(memberId)).current_session_id;
    if (typeof sessionId !== 'string')
      throw new MobRuntimeError('SESSION_NOT_FOUND', `member ${memberId} has no current session`, {
        details: { memberId },
      });
    return sessionId;
  }

  /** The current session (`mob/member_status`), with its creation time and size (`session/read`). */
  async memberSessionRef(memberId: string): Promise<SessionRef | undefined> {
    requireMemberId(memberId);
    this.requireMemberApi('member_session_ref');
    const wire = await this.snapshot(memberId);
    const sessionId = wire.current_session_id;
    if (typeof sessionId !== 'string') return undefined;
    const info = await this.readSession(sessionId);
    return {
      memberId,
      sessionId,
      memberRef: memberStatusFromWire(this.mobId, memberId, '', wire).memberRef,
      // Meerkat's WireSessionInfo.created_at is whole seconds since the epoch
      createdAtMs: info.created_at * 1000,
      messageCount: info.message_count,
    };
  }

  /**
   * `session/history`, paged by 1000 (Meerkat's cap) until `limit` messages or the end. Any session
   * of the realm answers, a retired member's too; `memberId` is the roster member whose current
   * session it is (undefined for a retired member's or a helper's).
   */
  async readSessionHistory(sessionId: string, query: SessionHistoryQuery = {}): Promise<SessionHistoryPage> {
    if (typeof sessionId !== 'string' || sessionId.trim() === '') throw invalidInput('session_id', 'must not be empty');
    const offset = query.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidInput('offset', 'must be a non-negative integer');
    const limit = positiveInt(query.limit, 'limit');
    this.requireMemberApi('read_session_history');
    const messages: SessionMessage[] = [];
    const calls = new Map<string, string>();
    let at = offset;
    let total = 0;
    let hasMore = false;
    let start: number | undefined;
    for (;;) {
      const want = limit === undefined ? HISTORY_PAGE : Math.min(HISTORY_PAGE, limit - messages.length);
      let page: { message_count: number; offset: number; has_more: boolean; messages: WireSessionMessage[] };
      try {
        page = await this.client.request('session/history', { session_id: sessionId, offset: at, limit: want });
      } catch (error) {
        throw this.sessionError(error, sessionId);
      }
      start ??= page.offset;
      total = page.message_count;
      hasMore = page.has_more;
      messages.push(...sessionMessagesFromWire(page.messages, page.offset, calls));
      at = page.offset + page.messages.length;
      if (!hasMore || page.messages.length === 0 || (limit !== undefined && messages.length >= limit)) break;
    }
    return {
      sessionId,
      memberId: await this.memberOfSession(sessionId),
      messageCount: total,
      offset: start ?? offset,
      limit,
      hasMore,
      messages,
    };
  }

  private async memberOfSession(sessionId: string): Promise<string | undefined> {
    for (const m of await this.wireMembers()) {
      if ((await this.wireStatus(m.agent_identity))?.current_session_id === sessionId) return m.agent_identity;
    }
    return undefined;
  }

  /**
   * Meerkat's `collect_completed`, composed as meerkat-mob does it: the roster members that are
   * final (`mob/members`' `is_final`), each with its `mob/member_status`; a member whose status
   * lookup fails is skipped. Not draining: the same members answer again.
   */
  async collectCompleted(): Promise<CompletedMember[]> {
    this.requireMemberApi('collect_completed');
    const finals = (await this.wireMembers()).filter((m) => m.is_final === true);
    const done = await Promise.all(
      finals.map(async (m): Promise<CompletedMember | undefined> => {
        const wire = await this.snapshot(m.agent_identity).catch(() => undefined);
        if (!wire?.is_final) return undefined;
        return { memberId: m.agent_identity, status: memberStatusFromWire(this.mobId, m.agent_identity, m.role, wire) };
      }),
    );
    return done
      .filter((c): c is CompletedMember => c !== undefined)
      .sort((a, b) => a.memberId.localeCompare(b.memberId));
  }

  /**
   * `mob/wait_ready {member_ids?, timeout_ms}` (default 10 minutes, Meerkat's); Meerkat's
   * "member ready wait timed out" answers `{ready: [], timedOut: true}`.
   */
  async waitReady(options: WaitReadyOptions = {}): Promise<WaitReadyResult> {
    const timeoutMs = positiveInt(options.timeoutMs, 'timeoutMs') ?? DEFAULT_WAIT_READY_MS;
    if (options.memberIds !== undefined) {
      if (!Array.isArray(options.memberIds)) throw invalidInput('memberIds', 'must be an array of member ids');
      for (const id of options.memberIds) requireMemberId(id, 'memberIds[]');
    }
    this.requireMemberApi('wait_ready');
    let r: { members: Array<{ agent_identity?: string; snapshot?: WireMemberSnapshot }> };
    try {
      r = await this.client.request(
        'mob/wait_ready',
        {
          mob_id: this.mobId,
          ...(options.memberIds ? { member_ids: options.memberIds } : {}),
          timeout_ms: timeoutMs,
        },
        timeoutMs + ANSWER_MARGIN_MS,
      );
    } catch (error) {
      if (error instanceof MobRuntimeError && error.mobCode === 'TIMEOUT' && error.details?.rpcCode !== undefined)
        return { ready: [], timedOut: true };
      throw error;
    }
    const roles = new Map((await this.wireMembers()).map((m) => [m.agent_identity, m.role]));
    const ready = r.members.map((entry): CompletedMember => {
      const memberId = String(entry.agent_identity ?? '');
      return {
        memberId,
        status: memberStatusFromWire(this.mobId, memberId, roles.get(memberId) ?? '', entry.snapshot ?? {}),
      };
    });
    return { ready, timedOut: false };
  }

  /**
   * `mob/force_cancel` (cooperative; the member stays). Meerkat answers `cancelled: true` whether or
   * not a run was open, so this answers false when `mob/member_status`'s progress reported no open
   * run and nothing in flight just before the cancel.
   */
  async forceCancelMember(memberId: string): Promise<boolean> {
    requireMemberId(memberId);
    this.requireMemberApi('force_cancel_member');
    const busy = progressBusy({ progress: (await this.snapshot(memberId)).progress });
    const r = await this.client.request<{ cancelled?: boolean }>('mob/force_cancel', {
      mob_id: this.mobId,
      agent_identity: memberId,
    });
    return r.cancelled === true && busy !== false;
  }

  /** The params `mob/spawn_helper` and `mob/fork_helper` share, from {@link HelperOptions}. */
  private helperParams(
    method: MemberApiMethod,
    memberId: string,
    task: string,
    options: HelperOptions,
  ): { params: Record<string, unknown>; timeoutMs: number } {
    requireMemberId(memberId);
    requireContent(task, 'task');
    if (typeof task !== 'string') throw invalidInput('task', 'must be a string');
    requireMessageSize(task, this.settings.maxMessageBytes, { memberId, field: 'task' });
    if (options.labels !== undefined && Object.keys(options.labels).length > 0)
      throw unsupportedOnRkat(
        method,
        `HelperOptions.labels: Meerkat's mob/${method} takes no labels for the helper; leave labels out`,
      );
    if (options.resultLabel !== undefined && (typeof options.resultLabel !== 'string' || options.resultLabel === ''))
      throw invalidInput('resultLabel', 'must be a non-empty string');
    const maxTextBytes = positiveInt(options.maxTextBytes, 'maxTextBytes') ?? this.settings.maxMessageBytes;
    const timeoutMs = positiveInt(options.timeoutMs, 'timeoutMs') ?? DEFAULT_HELPER_TIMEOUT_MS;
    this.requireMemberApi(method);
    return {
      params: {
        mob_id: this.mobId,
        prompt: task,
        result_label: options.resultLabel ?? 'result',
        max_text_bytes: maxTextBytes,
        agent_identity: memberId,
        ...(options.profile !== undefined ? { role_name: options.profile } : {}),
        runtime_mode: options.runtimeMode ?? 'turn_driven',
      },
      timeoutMs,
    };
  }

  /** Runs a helper call; past `timeoutMs` it cancels the helper's run (`mob/force_cancel`) and rejects with `MobTimeout`. */
  private async runHelper(
    rpc: 'mob/spawn_helper' | 'mob/fork_helper',
    memberId: string,
    params: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<HelperResult> {
    try {
      return helperResultFromWire(memberId, await this.client.request<WireHelperResult>(rpc, params, timeoutMs));
    } catch (error) {
      if (error instanceof MobRuntimeError && error.mobCode === 'TIMEOUT' && error.details?.rpcCode === undefined) {
        await this.client
          .request('mob/force_cancel', { mob_id: this.mobId, agent_identity: memberId })
          .catch(() => undefined);
        throw new MobRuntimeError(
          'TIMEOUT',
          `helper ${memberId} did not finish within ${timeoutMs} ms (its run was cancelled)`,
          {
            details: { memberId, method: rpc, timeoutMs },
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  /** `mob/spawn_helper`: Meerkat spawns the helper, runs `task`, bounds the output to `maxTextBytes` and retires it. */
  async spawnHelper(memberId: string, task: string, options: HelperOptions = {}): Promise<HelperResult> {
    const { params, timeoutMs } = this.helperParams('spawn_helper', memberId, task, options);
    return this.runHelper('mob/spawn_helper', memberId, params, timeoutMs);
  }

  /** `mob/fork_helper`: like {@link spawnHelper}, from the source member's history (`fork_context`, default full). */
  async forkHelper(
    sourceMemberId: string,
    memberId: string,
    task: string,
    forkContext: ForkContext = { type: 'full_history' },
    options: HelperOptions = {},
  ): Promise<HelperResult> {
    requireMemberId(sourceMemberId, 'source_member_id');
    if (forkContext.type === 'last_messages') {
      if (!Number.isSafeInteger(forkContext.count) || forkContext.count < 0)
        throw invalidInput('fork_context.count', 'must be a non-negative integer');
    } else if (forkContext.type !== 'full_history')
      throw invalidInput('fork_context.type', "must be 'full_history' or 'last_messages'");
    const { params, timeoutMs } = this.helperParams('fork_helper', memberId, task, options);
    return this.runHelper(
      'mob/fork_helper',
      memberId,
      { ...params, source_member_id: sourceMemberId, fork_context: forkContext },
      timeoutMs,
    );
  }

  /**
   * Checks the session exists (`session/read`: `SessionNotFound` otherwise), then spawns the member
   * with `launch_mode: {mode: "resume", bridge_session_id}` (`mob/spawn`).
   */
  async attachExistingSession(profile: string, memberId: string, sessionId: string): Promise<MemberSnapshot> {
    requireMemberId(memberId);
    if (typeof profile !== 'string' || profile.trim() === '') throw invalidInput('profile', 'must not be empty');
    if (typeof sessionId !== 'string' || sessionId.trim() === '') throw invalidInput('session_id', 'must not be empty');
    this.requireMemberApi('attach_existing_session');
    await this.readSession(sessionId);
    return this.spawn({ profile, meerkatId: memberId, resumeSessionId: sessionId });
  }

  /** `UnsupportedForMode` for a member API method Meerkat has no counterpart for. */
  private unsupported(method: MemberApiMethod): MobRuntimeError {
    return unsupportedOnRkat(method, UNSUPPORTED_WHY[method] ?? 'Meerkat has no method for it');
  }

  /** Rejects with `UnsupportedForMode`: Meerkat has no mob-label methods. */
  async mobLabels(): Promise<Record<string, string>> {
    throw this.unsupported('mob_labels/get');
  }

  /** Rejects with `UnsupportedForMode`: Meerkat has no mob-label methods. */
  async setMobLabels(_labels: Record<string, string>): Promise<void> {
    throw this.unsupported('mob_labels/set');
  }

  /** Rejects with `UnsupportedForMode`: Meerkat has no mob-label methods. */
  async deleteMobLabels(): Promise<void> {
    throw this.unsupported('mob_labels/delete');
  }

  /** Rejects with `UnsupportedForMode`: Meerkat cannot delete a member's sessions and history. */
  async purgeMember(_memberId: string): Promise<PurgeReport> {
    throw this.unsupported('purge_member');
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
      methods: init.methods ?? [],
    });
    await mob.openStream();
    return mob;
  } catch (error) {
    await client.close(200);
    throw error;
  }
}
