import { deliveryRecordToWire } from '@mobkit/delivery';
import { z } from 'zod';
import { parseDeliverySendParams } from '../../delivery.js';
import { type RpcMethod, rpcMethod } from '../registry.js';

const HistoryParams = z.strictObject({
  recipient: z.string().optional(),
  sink: z.string().optional(),
  limit: z.number().int().min(1).max(200).default(20),
});

/** The delivery methods: send along a resolution, and the history. */
export const deliveryMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/delivery/send', { parseParams: parseDeliverySendParams }, async (request, { runtime }) =>
    deliveryRecordToWire(await runtime.sendDelivery(request)),
  ),
  rpcMethod('mobkit/delivery/history', HistoryParams, async (p, { runtime }) => ({
    deliveries: (await runtime.deliveryHistory({ recipient: p.recipient, sink: p.sink, limit: p.limit })).map(
      deliveryRecordToWire,
    ),
  })),
];
