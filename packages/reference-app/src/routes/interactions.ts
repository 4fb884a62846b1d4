import { MobKitError, isMobKitError } from '@mobkit/core';
import express, { type Request, type Response, type Router } from 'express';
import { TERMINAL_EVENT_TYPES } from '../experience.js';
import { RouteError, snakeCode } from '../http-errors.js';
import { requireJsonBody } from '../request-guards.js';
import type { SseConnection } from '../sse.js';
import { type RouteContext, requireMember, requireMob } from './context.js';

/** A validated `POST /interactions/stream` body. */
interface InteractionRequest {
  memberId: string;
  /** Sent to the member after subscribing; without it the stream only observes. */
  message: string | undefined;
}

/** Parses the body `{"member_id": "...", "message"?: "..."}`: `invalid_json`, `invalid_member_id`, `invalid_message`. */
function parseInteractionRequest(text: unknown): InteractionRequest {
  let value: unknown;
  try {
    value = typeof text === 'string' && text.trim() !== '' ? JSON.parse(text) : undefined;
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MobKitError('InvalidJson', 'the body must be a JSON object {"member_id": "...", "message"?: "..."}');
  }
  const { member_id: memberId, message } = value as Record<string, unknown>;
  if (typeof memberId !== 'string' || memberId.trim() === '') {
    throw new RouteError('invalid_member_id', 'member_id must be a non-blank string');
  }
  if (message !== undefined && (typeof message !== 'string' || message.trim() === '')) {
    throw new RouteError('invalid_message', 'message, when given, must be a non-blank string');
  }
  return { memberId, message };
}

/**
 * `POST /interactions/stream` `{member_id, message?}`: one externally addressable member's events (SSE)
 * until a terminal event, or `interactionIdleTimeoutMs` without one. The body must be `application/json` (415). With a `message`, the stream
 * subscribes first, then sends it, and only the run that carries it ends the stream.
 */
export function mountInteractionRoutes(router: Router, ctx: RouteContext): void {
  const { surface, guard } = ctx;
  const body = express.text({ type: () => true, limit: ctx.options.maxInteractionBodyBytes });

  router.post('/interactions/stream', requireJsonBody, guard, body, async (req, res) => {
    const request = parseInteractionRequest(req.body);
    requireMob(surface, 'no mob runtime is attached');
    const member = await requireMember(surface, request.memberId);
    const profile = surface.profiles().find((p) => p.name === member.profile);
    if (!profile?.externalAddressable) {
      throw new MobKitError(
        'NotExternallyAddressable',
        `member ${JSON.stringify(request.memberId)} (profile ${JSON.stringify(member.profile)}) is not externally addressable`,
        { details: { memberId: request.memberId, profile: member.profile } },
      );
    }
    await streamInteraction(ctx, req, res, request);
  });
}

/** Opens the interaction's stream, follows the member's events and sends the message, if any. */
async function streamInteraction(
  ctx: RouteContext,
  req: Request,
  res: Response,
  { memberId, message }: InteractionRequest,
): Promise<void> {
  const { streams } = ctx;
  const { interactionIdleTimeoutMs } = ctx.options;
  const conn = streams.openStream(req, res, '/interactions/stream');
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      conn.send({
        event: 'interaction_timeout',
        data: JSON.stringify({ type: 'interaction_timeout', member_id: memberId, idle_ms: interactionIdleTimeoutMs }),
      });
      conn.end();
    }, interactionIdleTimeoutMs);
    idle.unref?.();
  };
  // With a message, only the run that carries it ends the stream: a run that started before the send
  // (or one whose prompt lacks the message) does not.
  let ours = message === undefined;
  let sentAfterSeq = Number.POSITIVE_INFINITY;
  const stop = streams.hub.listen((e) => {
    armIdle();
    if (!ours && e.type === 'run_started' && e.seq > sentAfterSeq) {
      const prompt = e.payload.prompt;
      ours = typeof prompt !== 'string' || prompt.includes(message as string);
    }
    if (!conn.sendRaw(streams.frame('agent', e))) return;
    if (ours && TERMINAL_EVENT_TYPES.includes(e.type)) conn.end();
  }, memberId);
  conn.onClose(() => {
    stop();
    clearTimeout(idle);
  });
  conn.send({ event: 'subscribed', data: JSON.stringify({ type: 'subscribed', member_id: memberId }) });
  armIdle();
  if (message === undefined || conn.isClosed) return;
  sentAfterSeq = streams.hub.lastSeq;
  await sendInto(ctx, conn, memberId, message);
}

/**
 * Sends the message and reports the outcome on the open stream: `message_accepted` with the session id,
 * or `interaction_failed` with the error's snake_case code (its message only below 500), ending the stream.
 */
async function sendInto(ctx: RouteContext, conn: SseConnection, memberId: string, message: string): Promise<void> {
  try {
    const sessionId = await ctx.surface.sendMessage(memberId, message);
    conn.send({
      event: 'message_accepted',
      data: JSON.stringify({ type: 'message_accepted', member_id: memberId, session_id: sessionId }),
    });
  } catch (err) {
    const expected = isMobKitError(err) && err.httpStatus < 500;
    conn.send({
      event: 'interaction_failed',
      data: JSON.stringify({
        type: 'interaction_failed',
        member_id: memberId,
        error: isMobKitError(err) ? snakeCode(err.code) : 'interaction_failed',
        ...(expected ? { message: err.message } : {}),
      }),
    });
    conn.end();
    if (!expected) ctx.options.onError?.(err);
  }
}
