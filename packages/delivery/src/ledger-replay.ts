import type { LedgerBeginEntry, LedgerEntry } from './ledger.js';
import {
  type DeliveryRecord,
  DeliveryRecordSchema,
  type DeliveryResolution,
  DeliveryResolutionSchema,
} from './schema.js';

/** Freezes a record and its attempts (records are immutable once made). */
export function freezeRecord(record: DeliveryRecord): DeliveryRecord {
  for (const attempt of record.attempts) Object.freeze(attempt);
  Object.freeze(record.attempts);
  return Object.freeze(record);
}

/** One delivery an earlier run left in the ledger. */
interface ReplayedDelivery {
  record: DeliveryRecord;
  resolution: DeliveryResolution;
  /** True for a delivery that began but never finished: its failed record is not in the ledger yet. */
  interrupted: boolean;
}

/**
 * The error of an in-doubt delivery's one recorded attempt. Its status is `failed` (the spec's two
 * statuses), and this text says why: the sink may or may not have received it.
 */
export const IN_DOUBT_ERROR =
  'in_doubt: interrupted — the process stopped during this delivery, so the sink may or may not have received it; it is never attempted again (check the sink before sending it under a new idempotency key)';

/**
 * A delivery that began but never finished (the process died mid-delivery): in doubt, recorded as
 * failed with {@link IN_DOUBT_ERROR} rather than risking a second send of a payload that may already
 * have been handed over. A repeat of its idempotency key returns this record.
 */
export function interruptedRecord(begin: LedgerBeginEntry, resolution: DeliveryResolution): DeliveryRecord {
  return freezeRecord({
    deliveryId: begin.delivery_id,
    routeId: resolution.routeId,
    recipient: resolution.recipient,
    sink: resolution.sink,
    targetModule: resolution.targetModule,
    payload: begin.payload,
    status: 'failed',
    attempts: [{ attempt: 1, status: 'failed', atMs: begin.at_ms, backoffMs: 0, error: IN_DOUBT_ERROR }],
    firstAttemptMs: begin.at_ms,
    finalAttemptMs: begin.at_ms,
    ...(begin.idempotency_key === undefined ? {} : { idempotencyKey: begin.idempotency_key }),
  });
}

/**
 * Reads ledger entries (oldest first) into the deliveries they describe, decoded with the record
 * and resolution codecs: finished ones in ledger order, then interrupted ones.
 */
export function readLedger(entries: Iterable<LedgerEntry>): ReplayedDelivery[] {
  const open = new Map<string, LedgerBeginEntry>();
  const deliveries: ReplayedDelivery[] = [];
  for (const entry of entries) {
    if (entry.kind === 'begin') {
      open.set(entry.delivery_id, entry);
      continue;
    }
    const record = freezeRecord(DeliveryRecordSchema.parse(entry.record));
    const resolution = DeliveryResolutionSchema.parse(entry.resolution);
    open.delete(record.deliveryId);
    deliveries.push({ record, resolution, interrupted: false });
  }
  for (const begin of open.values()) {
    const resolution = DeliveryResolutionSchema.parse(begin.resolution);
    deliveries.push({ record: interruptedRecord(begin, resolution), resolution, interrupted: true });
  }
  return deliveries;
}
