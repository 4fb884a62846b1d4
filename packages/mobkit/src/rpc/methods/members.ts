import { type ContentInput, MobKitError, parseRpcParams } from '@mobkit/core';
import { z } from 'zod';
import { spawnSpecFromParams } from '../../mob.js';
import { memberSnapshotToWire } from '../member-wire.js';
import { nonBlank } from '../params.js';
import { NO_PARAMS, type RpcMethod, rpcMethod } from '../registry.js';

const SpawnMemberParams = z.union([
  z.strictObject({ module_id: nonBlank('module_id') }),
  z.strictObject({
    profile: nonBlank('profile'),
    meerkat_id: nonBlank('meerkat_id'),
    initial_message: z.string().optional(),
  }),
]);
const MemberIdParams = z.strictObject({ member_id: nonBlank('member_id') });
const RetireMemberParams = z.strictObject({ member_id: nonBlank('member_id'), purge: z.boolean().optional() });
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

/** `mobkit/spawn_member` says which of its two forms it needs before the schema names a field. */
const spawnMemberParams = {
  parseParams: (params: unknown, method: string): z.output<typeof SpawnMemberParams> => {
    if (
      params === null ||
      typeof params !== 'object' ||
      (!('module_id' in params) && !('profile' in params || 'meerkat_id' in params))
    ) {
      throw new MobKitError('RpcInvalidParams', 'Invalid params: module_id or (profile + meerkat_id) required', {
        details: { method },
      });
    }
    return parseRpcParams(SpawnMemberParams, params, method);
  },
};

/**
 * What `send_message` sends: `message` (text), or `content` as given — a string, or content blocks
 * (`{type: "text", text}`, `{type: "image", media_type, data}` …) that reach the member whole, so its
 * model gets the images in its provider's own format.
 */
function messageContent(p: z.output<typeof SendMessageParams>): ContentInput {
  if (p.message !== undefined) return p.message;
  return p.content as ContentInput;
}

/** The roster methods: spawn (a member or a module), send, list, get, find, ensure, retire, respawn. */
export const memberMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/spawn_member', spawnMemberParams, async (p, { runtime, options }) => {
    if ('module_id' in p) {
      await runtime.spawnModule(p.module_id, options.moduleTimeoutMs);
      return { accepted: true, module_id: p.module_id };
    }
    await runtime.spawn(
      spawnSpecFromParams({ profile: p.profile, meerkat_id: p.meerkat_id, initial_message: p.initial_message }),
    );
    return { accepted: true, meerkat_id: p.meerkat_id };
  }),
  rpcMethod('mobkit/send_message', SendMessageParams, async (p, { runtime }) => {
    try {
      const sessionId = await runtime.sendMessage(p.member_id, messageContent(p));
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
  }),
  rpcMethod('mobkit/list_members', NO_PARAMS, async (_p, { runtime }) =>
    (await runtime.listMembers()).map(memberSnapshotToWire),
  ),
  rpcMethod('mobkit/get_member', MemberIdParams, async ({ member_id }, { runtime }) => {
    const member = await runtime.getMember(member_id);
    if (!member) throw new MobKitError('MemberNotFound', `member not found: ${member_id}`, { details: { member_id } });
    return memberSnapshotToWire(member);
  }),
  rpcMethod('mobkit/find_members', FindMembersParams, async (p, { runtime }) =>
    (await runtime.findMembers(p.label_key, p.label_value)).map(memberSnapshotToWire),
  ),
  rpcMethod('mobkit/ensure_member', EnsureMemberParams, async (p, { runtime }) =>
    memberSnapshotToWire(await runtime.ensureMember(spawnSpecFromParams(p))),
  ),
  /** `{member_id, purge?}`: with `purge: true` the member's sessions and history are deleted and its events redacted too (as `mobkit/purge_member`). */
  rpcMethod('mobkit/retire_member', RetireMemberParams, async ({ member_id, purge }, { runtime }) => {
    if (purge === true) {
      const report = await runtime.purgeMember(member_id);
      return {
        accepted: true,
        purged: {
          sessions: report.sessions,
          messages: report.messages,
          inbox_items: report.inboxItems,
          ...(report.tasks === undefined ? {} : { tasks: report.tasks }),
          events_redacted: report.eventsRedacted,
        },
      };
    }
    await runtime.retireMember(member_id);
    return { accepted: true };
  }),
  rpcMethod('mobkit/respawn_member', MemberIdParams, async ({ member_id }, { runtime }) => {
    await runtime.respawnMember(member_id);
    return { accepted: true };
  }),
];
