import type { Router } from 'express';
import { CONSOLE_CONTRACT_VERSION, buildConsoleExperience } from '../experience.js';
import type { RouteContext } from './context.js';

/** `GET /console/experience` and `GET /console/modules`: the console's v0.2.0 JSON contracts. */
export function mountConsoleJsonRoutes(router: Router, ctx: RouteContext): void {
  const { surface, trustedModules, guard } = ctx;
  const { keepAliveMs } = ctx.options;

  router.get('/console/experience', guard, async (_req, res) => {
    const body = await buildConsoleExperience({ surface, trustedModules, keepAliveMs });
    res.status(200).set('cache-control', 'no-store').json(body);
  });

  router.get('/console/modules', guard, (_req, res) => {
    res
      .status(200)
      .set('cache-control', 'no-store')
      .json({ contract_version: CONSOLE_CONTRACT_VERSION, modules: trustedModules });
  });
}
