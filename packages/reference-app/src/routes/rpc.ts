import { errorCodeInfo, stringifyRpcResponses } from '@mobkit/core';
import express, { type Router } from 'express';
import { READ_ONLY_RPC_METHODS } from '../options.js';
import { requireJsonBody } from '../request-guards.js';
import type { RouteContext } from './context.js';

/** The methods of a JSON-RPC text that are not read-only, or undefined when it does not parse (the handler answers that). */
function mutatingMethods(text: string): string[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const entries = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const entry of entries) {
    const method = entry !== null && typeof entry === 'object' ? (entry as { method?: unknown }).method : undefined;
    if (typeof method === 'string' && !READ_ONLY_RPC_METHODS.includes(method)) out.push(method);
  }
  return out;
}

/**
 * `POST /rpc` and `POST /console/rpc`: JSON-RPC 2.0 text (a request or a batch) through the `rpcHandler`,
 * 200 with its answer or 204 when there is none (notifications only); the body must be `application/json` (415). With console auth off and
 * `rpcWithoutAuth: 'read-only'`, a request holding any other method than {@link READ_ONLY_RPC_METHODS}
 * is refused whole: a JSON-RPC error -32600 (as the original's `/console/rpc`) with the status of
 * `ScopeDenied` (403: the caller lacks the scope a mutating method needs).
 */
export function mountRpcRoutes(router: Router, ctx: RouteContext): void {
  const { options, guard } = ctx;
  const readOnly = !ctx.decisionState.console.requireAppAuth && options.rpcWithoutAuth === 'read-only';
  const body = express.text({ type: () => true, limit: options.maxRpcBodyBytes });

  router.post(['/rpc', '/console/rpc'], requireJsonBody, guard, body, async (req, res) => {
    const text = typeof req.body === 'string' ? req.body : '';
    const refused = readOnly ? mutatingMethods(text) : undefined;
    if (refused !== undefined && refused.length > 0) {
      res
        .status(errorCodeInfo('ScopeDenied').http)
        .set('cache-control', 'no-store')
        .json({
          jsonrpc: '2.0',
          id: null,
          error: {
            code: errorCodeInfo('RpcInvalidRequest').rpc,
            message: 'mutating RPC methods require console auth to be configured',
            data: { methods: [...new Set(refused)] },
          },
        });
      return;
    }
    const out = await options.rpcHandler.handleText(text);
    if (out === undefined) {
      res.status(204).set('cache-control', 'no-store').end();
      return;
    }
    res.status(200).set('cache-control', 'no-store').type('application/json').send(stringifyRpcResponses(out));
  });
}
