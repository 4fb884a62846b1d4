import { MobKitError, RuntimeModeSchema, parseRpcParams } from '@mobkit/core';
import { type HelperOptions, type MemberApiMethod, MobRuntimeError } from '@mobkit/mob-adapter';
import { z } from 'zod';
import {
  completedMemberToWire,
  helperResultToWire,
  memberSnapshotToWire,
  memberStatusToWire,
  sessionHistoryPageToWire,
  sessionRefToWire,
} from '../member-wire.js';
import { nonBlank } from '../params.js';
import { NO_PARAMS, type RpcMethod, type RpcParamsSpec, rpcMethod } from '../registry.js';

/** The default of `mobkit/wait_ready`'s `timeout_ms`: 10 minutes (the original's `DEFAULT_WAIT_READY_TIMEOUT`). */
const DEFAULT_WAIT_READY_TIMEOUT_MS = 600_000;

/** The largest `timeout_ms` a timer can hold (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** The member API's RPC name (`mobkit/<name>`) for a {@link MemberApiMethod}. */
export function memberApiRpcName(method: MemberApiMethod): string {
  return `mobkit/${method}`;
}

// ---------------------------------------------------------------- params

const MemberIdParams = z.strictObject({ member_id: nonBlank('member_id') });

const positiveInteger = (field: string) =>
  z
    .number({ error: `${field} must be a positive integer` })
    .int({ error: `${field} must be a positive integer` })
    .positive({ error: `${field} must be a positive integer` });

/**
 * `{primary}` or its older name `{alias}` (one of them; both only when equal): the schema keeps both
 * optional, this check names the primary field.
 */
function oneOf(primary: string, alias: string) {
  return (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const a = value[primary];
    const b = value[alias];
    if (a === undefined && b === undefined) {
      ctx.addIssue({ code: 'custom', path: [primary], message: `required (${primary} or ${alias})` });
    } else if (a !== undefined && b !== undefined && a !== b) {
      ctx.addIssue({ code: 'custom', path: [primary], message: `${primary} and ${alias} differ; send one of them` });
    }
  };
}

/**
 * `read_session_history`'s `limit` and `offset` are checked before the schema, with the original's
 * wording: a `limit` that is not a positive integer (0, -1, 1.5, "10", true) is `-32602 limit must
 * be a positive integer`, never "everything"; `null` or absent means no limit.
 */
const ReadSessionHistorySchema = z.strictObject({
  session_id: nonBlank('session_id'),
  offset: z.unknown().optional(),
  limit: z.unknown().optional(),
});
const readSessionHistoryParams: RpcParamsSpec<{ session_id: string; offset: number; limit: number | undefined }> = {
  parseParams: (params, method) => {
    const p = parseRpcParams(ReadSessionHistorySchema, params, method);
    const { limit, offset } = p;
    if (
      limit !== undefined &&
      limit !== null &&
      !(typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0)
    ) {
      throw new MobKitError('RpcInvalidParams', 'Invalid params: limit must be a positive integer', {
        details: { method, field: 'limit' },
      });
    }
    if (
      offset !== undefined &&
      offset !== null &&
      !(typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0)
    ) {
      throw new MobKitError('RpcInvalidParams', 'Invalid params: offset must be a non-negative integer', {
        details: { method, field: 'offset' },
      });
    }
    return {
      session_id: p.session_id,
      offset: (offset as number | null | undefined) ?? 0,
      limit: (limit as number | null | undefined) ?? undefined,
    };
  },
};

const WaitReadyParams = z.strictObject({
  timeout_ms: z
    .number({ error: 'timeout_ms must be a non-negative integer (milliseconds)' })
    .int({ error: 'timeout_ms must be a non-negative integer (milliseconds)' })
    .min(0, { error: 'timeout_ms must be a non-negative integer (milliseconds)' })
    .max(MAX_TIMEOUT_MS, { error: `timeout_ms must be at most ${MAX_TIMEOUT_MS}` })
    .nullish(),
  member_ids: z.array(nonBlank('member_ids[]')).nullish(),
});

const HelperOptionsParams = z.strictObject({
  role: nonBlank('options.role').optional(),
  runtime_mode: RuntimeModeSchema.optional(),
  backend: z.enum(['session', 'external']).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  timeout_ms: positiveInteger('options.timeout_ms').max(MAX_TIMEOUT_MS).optional(),
});

const helperFields = {
  agent_identity: nonBlank('agent_identity').optional(),
  meerkat_id: nonBlank('meerkat_id').optional(),
  task: z.string({ error: 'task must be a string' }).trim().min(1, { error: 'task must not be blank' }),
  result_label: nonBlank('result_label').optional(),
  max_text_bytes: positiveInteger('max_text_bytes').optional(),
  options: HelperOptionsParams.nullish(),
};

const SpawnHelperParams = z.strictObject(helperFields).superRefine(oneOf('agent_identity', 'meerkat_id'));

const ForkContextParams = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('full_history') }),
    z.strictObject({ type: z.literal('last_messages'), count: positiveInteger('fork_context.count') }),
  ],
  { error: 'fork_context must be {"type":"full_history"} or {"type":"last_messages","count":<positive integer>}' },
);

const ForkHelperParams = z
  .strictObject({
    source_member_id: nonBlank('source_member_id'),
    fork_context: ForkContextParams.nullish(),
    ...helperFields,
  })
  .superRefine(oneOf('agent_identity', 'meerkat_id'));

const AttachExistingSessionParams = z
  .strictObject({
    role: nonBlank('role').optional(),
    profile: nonBlank('profile').optional(),
    agent_identity: nonBlank('agent_identity').optional(),
    meerkat_id: nonBlank('meerkat_id').optional(),
    session_id: nonBlank('session_id'),
  })
  .superRefine(oneOf('role', 'profile'))
  .superRefine(oneOf('agent_identity', 'meerkat_id'));

const LabelsParams = z.strictObject({
  labels: z.record(z.string(), z.string(), { error: 'labels must be a map of string to string' }).nullish(),
});

const PurgeMemberParams = z.strictObject({
  member_id: nonBlank('member_id'),
  retire: z.boolean({ error: 'retire must be a boolean' }).optional(),
});

/** A helper's options from the wire; `backend: "external"` is refused (the mob runs helpers as its own sessions). */
function helperOptions(p: z.output<typeof SpawnHelperParams>): HelperOptions {
  const o = p.options ?? {};
  if (o.backend === 'external') {
    throw new MobRuntimeError(
      'UNSUPPORTED_FOR_MODE',
      "options.backend 'external' is not supported: helpers run as sessions of this mob (use 'session' or leave it out)",
      { details: { field: 'options.backend' } },
    );
  }
  return {
    ...(p.result_label === undefined ? {} : { resultLabel: p.result_label }),
    ...(p.max_text_bytes === undefined ? {} : { maxTextBytes: p.max_text_bytes }),
    ...(o.role === undefined ? {} : { profile: o.role }),
    ...(o.runtime_mode === undefined ? {} : { runtimeMode: o.runtime_mode }),
    ...(o.labels === undefined ? {} : { labels: o.labels }),
    ...(o.timeout_ms === undefined ? {} : { timeoutMs: o.timeout_ms }),
  };
}

/** The helper's member id: `agent_identity`, or the older `meerkat_id` (the schema ensured one). */
const identity = (p: { agent_identity?: string; meerkat_id?: string }): string =>
  (p.agent_identity ?? p.meerkat_id) as string;

// ---------------------------------------------------------------- methods

/**
 * The member API of MobKit 0.5+ with the original's snake_case shapes (the results are documented
 * on their encoders in `../member-wire.ts`): status, sessions and histories, completion and
 * readiness, cancel, helpers, attach, mob labels, and mobkit's `purge_member`. Each calls the mob
 * port's camelCase member API (`MobMemberApi`); a method the mob implementation cannot back answers
 * `UnsupportedForMode` (`-32602`), and `runtime_capabilities.member_api` says which it answers. Params: `member_id` everywhere; `read_session_history {session_id, offset?, limit?}`;
 * `wait_ready {timeout_ms? (default 10 min), member_ids?}`; `spawn_helper {agent_identity |
 * meerkat_id, task, result_label?, max_text_bytes?, options?: {role?, runtime_mode?, backend?,
 * labels?, timeout_ms?}}`; `fork_helper` adds `source_member_id` and `fork_context?`;
 * `attach_existing_session {role | profile, agent_identity | meerkat_id, session_id}`;
 * `mob_labels/set {labels}` (replaces; null or `{}` clears); `purge_member {member_id, retire?}`.
 */
export const memberApiMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/member_status', MemberIdParams, async ({ member_id }, { runtime }) =>
    memberStatusToWire(await runtime.mobHandle().memberStatus(member_id)),
  ),
  rpcMethod('mobkit/member_current_session_id', MemberIdParams, async ({ member_id }, { runtime }) => ({
    member_id,
    session_id: await runtime.mobHandle().memberCurrentSessionId(member_id),
  })),
  rpcMethod('mobkit/member_session_ref', MemberIdParams, async ({ member_id }, { runtime }) => {
    const ref = await runtime.mobHandle().memberSessionRef(member_id);
    return ref === undefined ? null : sessionRefToWire(ref);
  }),
  rpcMethod('mobkit/read_session_history', readSessionHistoryParams, async (p, { runtime }) =>
    sessionHistoryPageToWire(
      await runtime.mobHandle().readSessionHistory(p.session_id, {
        offset: p.offset,
        ...(p.limit === undefined ? {} : { limit: p.limit }),
      }),
    ),
  ),
  rpcMethod('mobkit/collect_completed', NO_PARAMS, async (_p, { runtime }) => ({
    completed: (await runtime.mobHandle().collectCompleted()).map(completedMemberToWire),
  })),
  rpcMethod('mobkit/wait_ready', WaitReadyParams, async (p, { runtime }) => {
    const result = await runtime.mobHandle().waitReady({
      timeoutMs: p.timeout_ms ?? DEFAULT_WAIT_READY_TIMEOUT_MS,
      ...(p.member_ids == null ? {} : { memberIds: p.member_ids }),
    });
    return { ready: result.ready.map(completedMemberToWire), timeout: result.timedOut };
  }),
  rpcMethod('mobkit/force_cancel_member', MemberIdParams, async ({ member_id }, { runtime }) => ({
    accepted: true,
    was_running: await runtime.mobHandle().forceCancelMember(member_id),
  })),
  rpcMethod('mobkit/spawn_helper', SpawnHelperParams, async (p, { runtime }) => {
    const options = helperOptions(p);
    return helperResultToWire(await runtime.mobHandle().spawnHelper(identity(p), p.task, options));
  }),
  rpcMethod('mobkit/fork_helper', ForkHelperParams, async (p, { runtime }) => {
    const options = helperOptions(p);
    const forked = await runtime
      .mobHandle()
      .forkHelper(p.source_member_id, identity(p), p.task, p.fork_context ?? { type: 'full_history' }, options);
    return helperResultToWire(forked);
  }),
  rpcMethod('mobkit/attach_existing_session', AttachExistingSessionParams, async (p, { runtime }) => {
    const snapshot = await runtime
      .mobHandle()
      .attachExistingSession((p.role ?? p.profile) as string, identity(p), p.session_id);
    return memberSnapshotToWire(snapshot);
  }),
  rpcMethod('mobkit/mob_labels/get', NO_PARAMS, async (_p, { runtime }) => ({
    labels: await runtime.mobHandle().mobLabels(),
  })),
  rpcMethod('mobkit/mob_labels/set', LabelsParams, async (p, { runtime }) => {
    await runtime.mobHandle().setMobLabels(p.labels ?? {});
    return { accepted: true };
  }),
  rpcMethod('mobkit/mob_labels/delete', NO_PARAMS, async (_p, { runtime }) => {
    await runtime.mobHandle().deleteMobLabels();
    return { accepted: true };
  }),
  rpcMethod('mobkit/purge_member', PurgeMemberParams, async (p, { runtime }) => {
    const report = await runtime.purgeMember(p.member_id, p.retire === undefined ? {} : { retire: p.retire });
    return {
      member_id: report.memberId,
      sessions: report.sessions,
      messages: report.messages,
      inbox_items: report.inboxItems,
      ...(report.tasks === undefined ? {} : { tasks: report.tasks }),
      events_redacted: report.eventsRedacted,
    };
  }),
];
