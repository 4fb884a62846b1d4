import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toMobKitError } from '@mobkit/core';
import type { DeliveryConfig } from './config.js';
import { DeliveryService } from './delivery.js';
import { PinnedResolutions } from './pinned.js';
import { deliveryRecordToWire, parseDeliveryHistoryQuery, parseDeliverySendRequest } from './schema.js';

/** Package version reported as the MCP server version. */
export const DELIVERY_PACKAGE_VERSION = '0.1.0';

/** A tool result carrying JSON as one text block (as the original's modules answer; no duplicate structured copy, which halves the bytes per call). */
function json(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function failure(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(toMobKitError(error).toJSON()) }] };
}

const anyField = (description: string) => z.unknown().optional().describe(description);

/**
 * Builds the `delivery` module as an MCP server (not yet connected) around a {@link DeliveryService}
 * with the configured sinks, a {@link PinnedResolutions} trust store and the configured ledger.
 * Tools: `delivery.send` (`{resolution, payload, idempotency_key?}` → the DeliveryRecord, plus
 * `adapter` and `force_fail` so an original MobKit runtime reads it too) and `delivery.history`
 * (`{recipient?, sink?, limit?}` → `{deliveries}`). Errors answer `isError` with `{code, message}`.
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
    ...(config.inFlight === undefined ? {} : { inFlight: config.inFlight }),
    ...(config.maxBackoffMs === undefined ? {} : { maxBackoffMs: config.maxBackoffMs }),
  });
  const server = new McpServer({ name: 'mobkit-delivery', version: DELIVERY_PACKAGE_VERSION });
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
    async (args) => {
      try {
        const request = parseDeliverySendRequest(args);
        trusted.pin(request.resolution);
        const record = await delivery.send(request);
        const wire = deliveryRecordToWire(record);
        return json({ ...wire, adapter: record.sinkAdapter ?? null, force_fail: record.status === 'failed' });
      } catch (error) {
        return failure(error);
      }
    },
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
    async (args) => {
      try {
        return json({ deliveries: delivery.history(parseDeliveryHistoryQuery(args)).map(deliveryRecordToWire) });
      } catch (error) {
        return failure(error);
      }
    },
  );
  return { server, delivery };
}
