/**
 * @mobkit/delivery — sends payloads along trusted routing resolutions: forged-resolution checks,
 * idempotency with a durable ledger (JSONL, or a `MobKitStore`'s records), per-minute rate limits, real attempts with backoff
 * through sink adapters (memory, webhook, mob_member, email over SMTP) and history. The
 * `mobkit-delivery` MCP module's server is on the `@mobkit/delivery/module` subpath (this entry never
 * loads the MCP SDK).
 * @packageDocumentation
 */
export {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_HISTORY_PAGE,
  DEFAULT_IDEMPOTENCY_KEY_LIMIT,
  DEFAULT_IDEMPOTENCY_KEY_TTL_MS,
  DELIVERY_TARGET_MODULE,
  RATE_WINDOW_MS,
  DeliveryResolutionWireSchema,
  DeliveryResolutionSchema,
  deliveryResolutionToWire,
  DeliveryAttemptWireSchema,
  DeliveryAttemptSchema,
  DeliveryRecordWireSchema,
  DeliveryRecordSchema,
  parseDeliveryRecord,
  deliveryRecordToWire,
  DeliverySendRequestWireSchema,
  parseDeliverySendRequest,
  DeliveryHistoryQueryWireSchema,
  parseDeliveryHistoryQuery,
  canonicalJson,
  type DeliveryResolution,
  type DeliveryResolutionWire,
  type DeliveryAttempt,
  type DeliveryAttemptWire,
  type DeliveryAttemptStatus,
  type DeliveryStatus,
  type DeliveryRecord,
  type DeliveryRecordWire,
  type DeliverySendRequest,
  type DeliveryHistoryQuery,
} from './schema.js';
export {
  DeliveryService,
  type DeliveryServiceOptions,
  type DeliverySendEvent,
  type DeliverySendEventPayload,
} from './delivery.js';
/** Where delivery looks up issued resolutions (declared once, in `@mobkit/core`; re-exported for existing imports). */
export type { TrustedResolutionLookup } from '@mobkit/core';
export { PinnedResolutions } from './pinned.js';
export { DELIVERY_ID_PATTERN } from './delivery-id.js';
export {
  FileLedger,
  MemoryLedger,
  type FileLedgerOptions,
  type LedgerFile,
  type DeliveryLedger,
  type LedgerEntry,
  type LedgerBeginEntry,
  type LedgerRecordEntry,
} from './ledger.js';
export {
  StoreLedger,
  DELIVERY_NAMESPACE,
  DELIVERY_KEYS_NAMESPACE,
  type StoreLedgerOptions,
} from './store-ledger.js';
export { IN_DOUBT_ERROR } from './ledger-replay.js';
export {
  executeDeliveryAttempt,
  parseDeliveryAttemptRequest,
  DeliveryAttemptRequestWireSchema,
  type DeliveryAttemptRequest,
  type DeliveryAttemptOutcomeWire,
} from './execute.js';
export { SinkError, type SinkAdapter, type SinkMessage, type SinkOutcome } from './sinks/types.js';
export { MemorySink, type MemorySinkOptions } from './sinks/memory.js';
export { WebhookSink, type WebhookSinkOptions, type WebhookBody } from './sinks/webhook.js';
export {
  verifyWebhookSignature,
  DEFAULT_WEBHOOK_TOLERANCE_S,
  type WebhookHeaders,
} from './sinks/webhook-signature.js';
export { MobMemberSink, type MobMemberHandler } from './sinks/mob-member.js';
export { EmailSink, type EmailSinkOptions } from './sinks/email.js';
export { parseDeliveryConfig, loadDeliveryConfig, DeliveryConfigWireSchema, type DeliveryConfig } from './config.js';
