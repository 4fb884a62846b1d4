import { MobKitError } from '@mobkit/core';
import type { Router } from 'express';
import type { ReferenceAppRuntimeSurface } from '../surface.js';
import { type RouteContext, requireMember, requireMob } from './context.js';

const NO_MOB = 'no mob runtime is attached, so there are no agent events';

/** Throws unless `agentId` is a non-blank id of a member of the attached mob. */
async function requireAgent(surface: ReferenceAppRuntimeSurface, agentId: string): Promise<void> {
  if (agentId.trim() === '') throw new MobKitError('InvalidAgentId', 'agent id must not be blank');
  requireMob(surface, NO_MOB);
  await requireMember(surface, agentId);
}

/**
 * The agent event streams (SSE): `GET /mob/events` (every member) and `GET /agents/:agentId/events` (one
 * member), both resumable with `Last-Event-ID`. With the runtime's durable log the ids are the log's
 * `<seq>` and resume reaches back as far as retention, across restarts; without one they are `mob:<seq>` /
 * `<agent>:<seq>` and resume reaches back as far as the replay buffer. HEAD on either answers the same
 * status and head with no body, opening nothing.
 */
export function mountEventRoutes(router: Router, ctx: RouteContext): void {
  const { surface, streams, guard } = ctx;

  // HEAD answers what a GET would get, headers only (Express would otherwise run the GET handler and open
  // a stream that never ends and holds a slot of the cap).
  router.head('/mob/events', guard, (_req, res) => {
    requireMob(surface, NO_MOB);
    streams.answerHead(res);
  });

  router.head('/agents/:agentId/events', guard, async (req, res) => {
    await requireAgent(surface, String(req.params.agentId));
    streams.answerHead(res);
  });

  router.get('/mob/events', guard, (req, res) => {
    requireMob(surface, NO_MOB);
    const conn = streams.openStream(req, res, '/mob/events');
    streams.replayAndFollow(req, conn, { kind: 'mob' });
  });

  router.get('/agents/:agentId/events', guard, async (req, res) => {
    const agentId = String(req.params.agentId);
    await requireAgent(surface, agentId);
    const conn = streams.openStream(req, res, '/agents/:id/events');
    streams.replayAndFollow(req, conn, { kind: 'agent', member: agentId });
  });
}
