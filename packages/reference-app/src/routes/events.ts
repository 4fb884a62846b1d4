import { MobKitError } from '@mobkit/core';
import type { Router } from 'express';
import { agentFrame, mobFrame } from '../streams.js';
import { type RouteContext, requireMember, requireMob } from './context.js';

const NO_MOB = 'no mob runtime is attached, so there are no agent events';

/**
 * The agent event streams (SSE): `GET /mob/events` (every member, ids `mob:<seq>`) and
 * `GET /agents/:agentId/events` (one member, ids `<agent>:<seq>`), both resumable with `Last-Event-ID`.
 */
export function mountEventRoutes(router: Router, ctx: RouteContext): void {
  const { surface, streams, guard } = ctx;

  router.get('/mob/events', guard, (req, res) => {
    requireMob(surface, NO_MOB);
    const conn = streams.openStream(req, res, '/mob/events');
    streams.replayAndFollow(req, conn, { prefix: 'mob', frame: mobFrame });
  });

  router.get('/agents/:agentId/events', guard, async (req, res) => {
    const agentId = String(req.params.agentId);
    if (agentId.trim() === '') throw new MobKitError('InvalidAgentId', 'agent id must not be blank');
    requireMob(surface, NO_MOB);
    await requireMember(surface, agentId);
    const conn = streams.openStream(req, res, '/agents/:id/events');
    streams.replayAndFollow(req, conn, { prefix: agentId, member: agentId, frame: agentFrame });
  });
}
