import {
  type EventEnvelope,
  MOBKIT_CONTRACT_VERSION,
  MAX_SCHEDULES_PER_REQUEST,
  MobKitError,
  type RpcHandler,
  type RpcRequest,
  type RpcResponse,
  type UnifiedEvent,
  eventEnvelopeToWire,
  handleRpcText,
  methodNotFound,
  parseRpcParams,
  unifiedEventToWire,
} from '@mobkit/core';
import { parseRoutingResolveRequest, routingResolutionToWire, runtimeRouteToWire } from '@mobkit/routing';
import { z } from 'zod';
import { deliveryRecordToWire, parseDeliverySendParams } from './delivery.js';
import { type MobMemberSnapshot, spawnSpecFromParams } from './mob.js';
import type { UnifiedRuntime } from './runtime.js';
import { dispatchReportToWire, evaluationToWire, parseScheduleParams } from './scheduling.js';

/** Replay window of `mobkit/events/subscribe` (the original's `SUBSCRIBE_REPLAY_EVENT_CAP`). */
export const SUBSCRIBE_REPLAY_EVENT_CAP = 3;
/** Keep-alive interval advertised to event subscribers. */
export const KEEP_ALIVE_INTERVAL_MS = 15_000;

/** Extra facts the RPC surface reports (e.g. the gateway's HTTP base URL). */
export interface RpcHandlerOptions {
  /** Reported by `mobkit/status` when set. */
  httpBaseUrl?: () => string | undefined;
  /** Default timeout for `mobkit/reconcile`, `mobkit/spawn_member`, `call_tool` and module proxy calls. Default 5 s. */
  moduleTimeoutMs?: number;
}

const nonBlank = (field: string) =>
  z
    .string()
    .trim()
    .min(1, { message: `${field} must not be blank` });
const ModulesParams = z.strictObject({ modules: z.array(z.string()) });
const SpawnMemberParams = z.union([
  z.strictObject({ module_id: nonBlank('module_id') }),
  z.strictObject({
    profile: nonBlank('profile'),
    meerkat_id: nonBlank('meerkat_id'),
    initial_message: z.string().optional(),
  }),
]);
const MemberIdParams = z.strictObject({ member_id: nonBlank('member_id') });
const SendMessageParams = z
  .strictObject({
    member_id: nonBlank('member_id'),
    message: z.string().optional(),
    content: z.union([z.string(), z.array(z.object({ type: z.string() }).loose())]).optional(),
  })
  .refine((p) => p.message !== undefined || p.content !== undefined, {
    message: 'message (or content) is required',
    path: ['message'],
  });
const FindMembersParams = z.strictObject({ label_key: nonBlank('label_key'), label_value: z.string() });
const EnsureMemberParams = z.strictObject({
  profile: nonBlank('profile'),
  meerkat_id: nonBlank('meerkat_id'),
  labels: z.record(z.string(), z.string()).optional(),
  context: z.unknown().optional(),
  resume_session_id: z.string().optional(),
  additional_instructions: z.array(z.string()).optional(),
  initial_message: z.string().optional(),
});
const RouteDeleteParams = z.strictObject({ route_key: nonBlank('route_key') });
const HistoryParams = z.strictObject({
  recipient: z.string().optional(),
  sink: z.string().optional(),
  limit: z.number().int().min(1).max(200).default(20),
});
const SubscribeParams = z.strictObject({
  scope: z.enum(['mob', 'agent', 'interaction']).default('mob'),
  last_event_id: z.string().optional(),
  agent_id: z.string().optional(),
});
const CallToolParams = z.strictObject({
  module_id: nonBlank('module_id'),
  tool: nonBlank('tool'),
  arguments: z.record(z.string(), z.unknown()).default({}),
  timeout_ms: z.number().int().positive().optional(),
});

function noParams(method: string, params: unknown): void {
  if (params === undefined || params === null) return;
  if (Array.isArray(params) ? params.length === 0 : Object.keys(params as object).length === 0) return;
  throw new MobKitError('RpcInvalidParams', `Invalid params: ${method} takes no params`, { details: { method } });
}

/** A member snapshot on the wire (`labels` omitted when empty, as the original). */
export function memberSnapshotToWire(snapshot: MobMemberSnapshot): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    meerkat_id: snapshot.meerkatId,
    profile: snapshot.profile,
    state: snapshot.state,
    wired_to: [...snapshot.wiredTo].sort(),
  };
  if (snapshot.sessionId !== undefined) wire.session_id = snapshot.sessionId;
  if (snapshot.labels && Object.keys(snapshot.labels).length > 0) wire.labels = { ...snapshot.labels };
  return wire;
}

function subscribeEvents(runtime: UnifiedRuntime, params: z.output<typeof SubscribeParams>): Record<string, unknown> {
  let matches: EventEnvelope<UnifiedEvent>[];
  const all = runtime.moduleEvents();
  if (params.scope === 'agent') {
    if (params.agent_id === undefined)
      throw new MobKitError('MissingAgentId', 'Invalid params: agent_id is required for scope "agent"', {
        details: { field: 'agent_id' },
      });
    const agentId = params.agent_id.trim();
    if (agentId === '')
      throw new MobKitError('InvalidAgentId', 'Invalid params: agent_id must not be blank', {
        details: { field: 'agent_id' },
      });
    matches = all.filter((e) => e.event.kind === 'agent' && e.event.agentId === agentId);
  } else if (params.scope === 'interaction') {
    matches = all.filter((e) => e.event.eventType.startsWith('interaction'));
  } else {
    matches = all;
  }
  let replay = matches.slice(-SUBSCRIBE_REPLAY_EVENT_CAP);
  let replayFrom: string | null = replay[0]?.eventId ?? null;
  if (params.last_event_id !== undefined) {
    const checkpoint = params.last_event_id.trim();
    if (checkpoint === '')
      throw new MobKitError('EmptyCheckpoint', 'Invalid params: last_event_id must not be blank', {
        details: { field: 'last_event_id' },
      });
    const at = replay.findIndex((e) => e.eventId === checkpoint);
    if (at < 0) {
      throw new MobKitError(
        'UnknownCheckpoint',
        `Invalid params: last_event_id "${checkpoint}" is not among the last ${SUBSCRIBE_REPLAY_EVENT_CAP} events of scope ${params.scope}`,
        {
          details: { field: 'last_event_id', last_event_id: checkpoint },
        },
      );
    }
    replay = replay.slice(at);
    replayFrom = checkpoint;
  }
  return {
    scope: params.scope,
    replay_from_event_id: replayFrom,
    keep_alive: { interval_ms: KEEP_ALIVE_INTERVAL_MS, event: 'keep-alive' },
    keep_alive_comment: ': keep-alive\n\n',
    event_frames: replay.map(
      (e) => `id: ${e.eventId}\nevent: ${e.event.eventType}\ndata: ${JSON.stringify(unifiedEventToWire(e.event))}\n\n`,
    ),
    events: replay.map((e) => eventEnvelopeToWire(e)),
  };
}

type MethodImpl = (params: unknown, request: RpcRequest) => unknown;

/**
 * The JSON-RPC 2.0 surface of a {@link UnifiedRuntime} (spec section 16): every method validates its
 * params with a schema (`-32602` naming the parameter), results use the spec's snake_case shapes,
 * errors map through the one code table. `<module>/<method>` (not `mobkit/`) is proxied to the module.
 * Returns a function serving one request object, and `handleText` serving raw text (batches,
 * notifications, parse errors).
 */
export function createRpcHandler(
  runtime: UnifiedRuntime,
  options: RpcHandlerOptions = {},
): RpcHandler & {
  /** Method names `mobkit/capabilities` advertises: exactly the implemented ones. */
  readonly methods: readonly string[];
  /** Serves raw JSON-RPC text; `undefined` means nothing to send (notifications). */
  handleText(text: string): Promise<RpcResponse | RpcResponse[] | undefined>;
} {
  const moduleTimeoutMs = options.moduleTimeoutMs ?? 5_000;
  const table: Record<string, MethodImpl> = {
    'mobkit/status': (params) => {
      noParams('mobkit/status', params);
      const status: Record<string, unknown> = {
        contract_version: MOBKIT_CONTRACT_VERSION,
        running: runtime.moduleIsRunning() && !runtime.isShuttingDown(),
        loaded_modules: runtime.loadedModules(),
        mob_state: runtime.isShuttingDown() ? 'Stopping' : 'Running',
      };
      const url = options.httpBaseUrl?.();
      if (url !== undefined) status.http_base_url = url;
      return status;
    },
    'mobkit/capabilities': (params) => {
      noParams('mobkit/capabilities', params);
      return {
        contract_version: MOBKIT_CONTRACT_VERSION,
        runtime_type: 'unified',
        methods,
        loaded_modules: runtime.loadedModules(),
        runtime_capabilities: {
          spawn_modes: ['module', 'member'],
          can_send_message: true,
          can_reconcile_members: true,
          can_route: true,
          can_deliver: true,
          can_schedule: true,
          can_subscribe_events: true,
          max_schedules_per_request: MAX_SCHEDULES_PER_REQUEST,
        },
      };
    },
    'mobkit/reconcile': async (params) => {
      const { modules } = parseRpcParams(ModulesParams, params, 'mobkit/reconcile');
      const added = await runtime.reconcileModules(modules, moduleTimeoutMs);
      return { accepted: true, reconciled_modules: modules, added };
    },
    'mobkit/spawn_member': async (params) => {
      if (
        params === null ||
        typeof params !== 'object' ||
        (!('module_id' in params) && !('profile' in params || 'meerkat_id' in params))
      ) {
        throw new MobKitError('RpcInvalidParams', 'Invalid params: module_id or (profile + meerkat_id) required', {
          details: { method: 'mobkit/spawn_member' },
        });
      }
      const p = parseRpcParams(SpawnMemberParams, params, 'mobkit/spawn_member');
      if ('module_id' in p) {
        await runtime.spawnModule(p.module_id, moduleTimeoutMs);
        return { accepted: true, module_id: p.module_id };
      }
      await runtime.spawn(
        spawnSpecFromParams({ profile: p.profile, meerkat_id: p.meerkat_id, initial_message: p.initial_message }),
      );
      return { accepted: true, meerkat_id: p.meerkat_id };
    },
    'mobkit/send_message': async (params) => {
      const p = parseRpcParams(SendMessageParams, params, 'mobkit/send_message');
      const text =
        p.message ??
        (typeof p.content === 'string'
          ? p.content
          : (p.content ?? [])
              .filter((b) => b.type === 'text' && typeof b.text === 'string')
              .map((b) => b.text as string)
              .join('\n'));
      try {
        const sessionId = await runtime.sendMessage(p.member_id, text);
        return { accepted: true, member_id: p.member_id, session_id: sessionId };
      } catch (error) {
        if (error instanceof MobKitError) {
          throw new MobKitError(error.code, `send_message failed: ${error.message}`, {
            cause: error,
            details: error.details,
          });
        }
        throw error;
      }
    },
    'mobkit/list_members': async (params) => {
      noParams('mobkit/list_members', params);
      return (await runtime.listMembers()).map(memberSnapshotToWire);
    },
    'mobkit/get_member': async (params) => {
      const { member_id } = parseRpcParams(MemberIdParams, params, 'mobkit/get_member');
      const member = await runtime.getMember(member_id);
      if (!member)
        throw new MobKitError('MemberNotFound', `member not found: ${member_id}`, { details: { member_id } });
      return memberSnapshotToWire(member);
    },
    'mobkit/find_members': async (params) => {
      const p = parseRpcParams(FindMembersParams, params, 'mobkit/find_members');
      return (await runtime.findMembers(p.label_key, p.label_value)).map(memberSnapshotToWire);
    },
    'mobkit/ensure_member': async (params) => {
      const p = parseRpcParams(EnsureMemberParams, params, 'mobkit/ensure_member');
      const snapshot = await runtime.ensureMember(spawnSpecFromParams(p));
      return memberSnapshotToWire(snapshot);
    },
    'mobkit/retire_member': async (params) => {
      const { member_id } = parseRpcParams(MemberIdParams, params, 'mobkit/retire_member');
      await runtime.retireMember(member_id);
      return { accepted: true };
    },
    'mobkit/respawn_member': async (params) => {
      const { member_id } = parseRpcParams(MemberIdParams, params, 'mobkit/respawn_member');
      await runtime.respawnMember(member_id);
      return { accepted: true };
    },
    'mobkit/routing/resolve': async (params) => {
      const request = parseRoutingResolveRequest(params ?? {});
      return routingResolutionToWire(await runtime.resolveRouting(request));
    },
    'mobkit/routing/routes/list': (params) => {
      noParams('mobkit/routing/routes/list', params);
      return { routes: runtime.listRuntimeRoutes().map(runtimeRouteToWire) };
    },
    'mobkit/routing/routes/add': (params) => {
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw new MobKitError('RpcInvalidParams', 'Invalid params: route (object) required', {
          details: { field: 'route' },
        });
      }
      const raw = 'route' in params ? (params as { route: unknown }).route : params;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new MobKitError('RpcInvalidParams', 'Invalid params: route must be an object', {
          details: { field: 'route' },
        });
      }
      return { route: runtimeRouteToWire(runtime.addRuntimeRoute(raw as Record<string, unknown>)) };
    },
    'mobkit/routing/routes/delete': (params) => {
      const { route_key } = parseRpcParams(RouteDeleteParams, params, 'mobkit/routing/routes/delete');
      return { deleted: runtimeRouteToWire(runtime.deleteRuntimeRoute(route_key)) };
    },
    'mobkit/delivery/send': async (params) => {
      const request = parseDeliverySendParams(params);
      return deliveryRecordToWire(await runtime.sendDelivery(request));
    },
    'mobkit/delivery/history': (params) => {
      const p = parseRpcParams(HistoryParams, params, 'mobkit/delivery/history');
      return {
        deliveries: runtime
          .deliveryHistory({ recipient: p.recipient, sink: p.sink, limit: p.limit })
          .map(deliveryRecordToWire),
      };
    },
    'mobkit/scheduling/evaluate': (params) => {
      const { schedules, tickMs } = parseScheduleParams(params, 'mobkit/scheduling/evaluate');
      return evaluationToWire(runtime.evaluateScheduleTick(schedules, tickMs));
    },
    'mobkit/scheduling/dispatch': async (params) => {
      const { schedules, tickMs } = parseScheduleParams(params, 'mobkit/scheduling/dispatch');
      return dispatchReportToWire(await runtime.dispatchScheduleTick(schedules, tickMs));
    },
    'mobkit/events/subscribe': (params) =>
      subscribeEvents(runtime, parseRpcParams(SubscribeParams, params, 'mobkit/events/subscribe')),
    'mobkit/call_tool': async (params) => {
      const p = parseRpcParams(CallToolParams, params, 'mobkit/call_tool');
      const result = await runtime.callTool(p.module_id, p.tool, p.arguments, p.timeout_ms ?? moduleTimeoutMs);
      return { module_id: p.module_id, tool: p.tool, result: result.payload };
    },
  };
  const methods: readonly string[] = Object.freeze(Object.keys(table).sort());

  const handler = async (request: RpcRequest): Promise<unknown> => {
    const impl = table[request.method];
    if (impl) return impl(request.params, request);
    if (request.method.startsWith('mobkit/')) throw methodNotFound(request.method);
    const slash = request.method.indexOf('/');
    if (slash <= 0 || slash === request.method.length - 1) throw methodNotFound(request.method);
    const moduleId = request.method.slice(0, slash);
    if (!runtime.loadedModules().includes(moduleId)) {
      throw new MobKitError('UnloadedModule', `Module '${moduleId}' not loaded`, { details: { module_id: moduleId } });
    }
    const routed = await runtime.routeModuleCall(
      { moduleId, method: request.method.slice(slash + 1), params: request.params ?? {} },
      moduleTimeoutMs,
    );
    return { module_id: routed.moduleId, method: routed.method, payload: routed.payload };
  };
  return Object.assign(handler, {
    methods,
    handleText: (text: string) => handleRpcText(text, handler),
  });
}
