import { createHmac, timingSafeEqual } from 'node:crypto';
import { MobKitError } from '@mobkit/core';

/** Smallest accepted signing key, in bytes (128 bits). */
const MIN_SECRET_BYTES = 16;
/** Default tolerance of {@link verifyWebhookSignature} between the timestamp and now: 5 minutes. */
export const DEFAULT_WEBHOOK_TOLERANCE_S = 300;

/**
 * The signing key of a Standard Webhooks secret: `whsec_<base64>` (the prefix is optional), at
 * least 16 bytes once decoded. `InvalidConfig` for anything else (never echoing the secret).
 */
export function decodeWebhookSecret(secret: string): Buffer {
  const text = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
  if (key === undefined || key.length < MIN_SECRET_BYTES) {
    throw new MobKitError(
      'InvalidConfig',
      `webhook secret: expected whsec_<base64> of at least ${MIN_SECRET_BYTES} bytes (e.g. \`echo "whsec_$(openssl rand -base64 32)"\`)`,
      { details: { field: 'secret' } },
    );
  }
  return key;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` under `key`. */
function signature(key: Buffer, id: string, timestampS: string, body: string | Uint8Array): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampS}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/**
 * The Standard Webhooks headers of one request: `webhook-id` (the delivery id, the same on every
 * attempt), `webhook-timestamp` (unix seconds at `nowMs`) and `webhook-signature`.
 */
export function webhookSignatureHeaders(
  key: Buffer,
  id: string,
  body: string | Uint8Array,
  nowMs: number,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  const timestampS = String(Math.floor(nowMs / 1000));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestampS,
    'webhook-signature': signature(key, id, timestampS, body),
  };
}

/** Request headers as a receiver has them: a fetch `Headers`, or Node's `req.headers` (any case). */
export type WebhookHeaders = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function')
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function refuse(reason: string): MobKitError {
  return new MobKitError('WebhookSignatureInvalid', `webhook signature: ${reason}`, { details: { reason } });
}

/**
 * Verifies a signed webhook request (Standard Webhooks, as {@link WebhookSink} signs it) on the
 * receiving side: `body` must be the raw request body, exactly as received (not re-serialised
 * JSON). Checks that `webhook-timestamp` is within `toleranceS` (default 300) of now — refusing
 * replays of old requests — and that one of the space-separated `v1,` signatures in
 * `webhook-signature` is the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under
 * `secret` (`whsec_<base64>`), compared in constant time. Returns the verified `webhook-id` (use it
 * to drop duplicates); throws `WebhookSignatureInvalid` naming what failed otherwise.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: { toleranceS?: number; nowMs?: number } = {},
): string {
  const key = decodeWebhookSecret(secret);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    throw refuse('missing webhook-id, webhook-timestamp or webhook-signature header');
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw refuse('webhook-timestamp is not unix seconds');
  const toleranceS = options.toleranceS ?? DEFAULT_WEBHOOK_TOLERANCE_S;
  const skewS = Math.abs((options.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (skewS > toleranceS)
    throw refuse(`webhook-timestamp is ${Math.round(skewS)} s from now (tolerance ${toleranceS} s)`);
  const expected = Buffer.from(signature(key, id, timestamp, body));
  for (const candidate of signatures.split(' ')) {
    const given = Buffer.from(candidate);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return id;
  }
  throw refuse('no v1 signature matches');
}
