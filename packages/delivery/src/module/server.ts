import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { jsonTool } from '@mobkit/module-kit';
import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import type { DeliveryConfig } from '../config.js';
import { DeliveryService } from '../delivery.js';
import { executeDeliveryAttempt, parseDeliveryAttemptRequest } from '../execute.js';
import { PinnedResolutions } from '../pinned.js';
import { deliveryRecordToWire, parseDeliveryHistoryQuery, parseDeliverySendRequest } from '../schema.js';

const anyField = (description: string) => z.unknown().optional().describe(description);

/**
 * Builds the `delivery` module as an MCP server (not yet connected), announced as `mobkit-delivery`
 * with this package's version, around a {@link DeliveryService} with the configured sinks, a
 * {@link PinnedResolutions} trust store and the configured ledger. Tools: `delivery.send`
 * (`{resolution, payload, idempotency_key?}` → the DeliveryRecord, plus `adapter` and `force_fail`
 * so an original MobKit runtime reads it too) and `delivery.history` (`{recipient?, sink?, limit?}`
 * → `{deliveries}`), and `delivery.attempt` (`{delivery_id, resolution, payload, idempotency_key?,
 * attempt}` → `{delivery_id, attempt, ok, retryable, error, adapter}`): exactly one attempt through
 * the configured sink, for a runtime that owns the delivery (its ledger, keys, rate limits and
 * retries) — no ledger line, no idempotency, no rate charge here. Errors answer `isError` with `{code, message}`. Close the returned `delivery`
 * (its ledger) when the server stops.
 */
export async function createDeliveryMcpServer(
  config: DeliveryConfig,
): Promise<{ server: McpServer; delivery: DeliveryService }> {
  const trusted = new PinnedResolutions(config.trustedCapacity);
  const delivery = await DeliveryService.open({
    sinks: config.sinks,
    trusted,
    ...(config.ledgerPath === undefined ? {} : { ledgerPath: config.ledgerPath }),
    ...(config.historyLimit === undefined ? {} : { historyLimit: config.historyLimit }),
    ...(config.idempotencyKeyLimit === undefined ? {} : { idempotencyKeyLimit: config.idempotencyKeyLimit }),
    ...(config.idempotencyKeyTtlMs === undefined ? {} : { idempotencyKeyTtlMs: config.idempotencyKeyTtlMs }),
    ...(config.inFlight === undefined ? {} : { inFlight: config.inFlight }),
    ...(config.maxBackoffMs === undefined ? {} : { maxBackoffMs: config.maxBackoffMs }),
  });
  const server = new McpServer({ name: 'mobkit-delivery', version: pkg.version });
  server.registerTool(
    'delivery.send',
    {
      description:
        'Deliver a payload along a routing resolution, once (idempotency_key), within its rate limit, with real retries. Returns the DeliveryRecord.',
      inputSchema: z.looseObject({
        resolution: anyField('the RoutingResolution issued by routing.resolve (object, required)'),
        payload: anyField('any JSON value (required)'),
        idempotency_key: anyField('non-blank string; the same key and payload on a route return the same record'),
      }),
    },
    jsonTool(async (args) => {
      const request = parseDeliverySendRequest(args);
      trusted.pin(request.resolution);
      const record = await delivery.send(request);
      const wire = deliveryRecordToWire(record);
      return { ...wire, adapter: record.sinkAdapter ?? null, force_fail: record.status === 'failed' };
    }),
  );
  const sinks = new Map(Object.entries(config.sinks));
  server.registerTool(
    'delivery.attempt',
    {
      description:
        "Make exactly one attempt of a delivery the caller owns (its ledger, idempotency, rate limits and retries), under the caller's delivery_id. Returns {ok, retryable, error, adapter}.",
      inputSchema: z.looseObject({
        delivery_id: anyField("the owner's delivery id (string, required); the sink sees it on every retry"),
        resolution: anyField('the RoutingResolution the owner checked (object, required)'),
        payload: anyField('any JSON value (required)'),
        idempotency_key: anyField("the owner's idempotency key, if any (string)"),
        attempt: anyField('1-based attempt number (integer, required)'),
      }),
    },
    jsonTool(async (args) => ({ ...(await executeDeliveryAttempt(sinks, parseDeliveryAttemptRequest(args))) })),
  );
  server.registerTool(
    'delivery.history',
    {
      description:
        'The newest deliveries (default 20, at most 200), optionally filtered by recipient and sink, oldest first.',
      inputSchema: z.looseObject({
        recipient: anyField('only this recipient (string)'),
        sink: anyField('only this sink (string)'),
        limit: anyField('how many (integer 1..200, default 20)'),
      }),
    },
    jsonTool((args) => ({
      deliveries: delivery.history(parseDeliveryHistoryQuery(args)).map(deliveryRecordToWire),
    })),
  );
  return { server, delivery };
}
