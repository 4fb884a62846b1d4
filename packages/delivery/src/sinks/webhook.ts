import { type Clock, MobKitError, systemClock } from '@mobkit/core';
import type { SinkAdapter, SinkMessage, SinkOutcome } from './types.js';
import { decodeWebhookSecret, webhookSignatureHeaders } from './webhook-signature.js';

/** Options of {@link WebhookSink}. */
export interface WebhookSinkOptions {
  /** Where to POST. When omitted, the recipient must be an `http(s)://` URL. */
  url?: string;
  /** Per-attempt timeout (default 10 000 ms); a timeout is retryable. */
  timeoutMs?: number;
  /** Extra request headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /** The fetch implementation (default the global `fetch`). */
  fetch?: typeof fetch;
  /**
   * Standard Webhooks signing secret, `whsec_<base64>` (at least 16 bytes). With it every request
   * carries `webhook-id`, `webhook-timestamp` and `webhook-signature`; without it requests are
   * unsigned (`signed` is false) and a receiver cannot tell them from forged ones.
   */
  secret?: string;
  /** Source of `webhook-timestamp` (default the system clock). */
  clock?: Clock;
}

/** The JSON body a webhook receives. */
export interface WebhookBody {
  delivery_id: string;
  route_id: string;
  recipient: string;
  channel: string;
  sink: string;
  payload: unknown;
  idempotency_key: string | null;
  attempt: number;
}

/**
 * POSTs JSON to a URL. 2xx → sent; 5xx, 408, 429, network errors and timeouts → retryable; any
 * other status (4xx) → permanent. Sends `Idempotency-Key: <idempotency_key>` (the send's key, or
 * its delivery id when it has none — unique across restarts) so a receiver can drop the duplicates
 * that retries after a lost response produce, and, with a `secret`, signs every request in the
 * Standard Webhooks form (see {@link verifyWebhookSignature}).
 */
export class WebhookSink implements SinkAdapter {
  readonly adapter = 'webhook';
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly key: Buffer | undefined;
  private readonly clock: Clock;

  constructor(private readonly options: WebhookSinkOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
    this.key = options.secret === undefined ? undefined : decodeWebhookSecret(options.secret);
    this.clock = options.clock ?? systemClock;
    if (options.url !== undefined && !/^https?:\/\/[^/]/i.test(options.url)) {
      throw new MobKitError(
        'InvalidConfig',
        `webhook url: expected an http(s) URL, got ${JSON.stringify(options.url)}`,
        { details: { field: 'url' } },
      );
    }
  }

  /** True when requests are signed (a `secret` is configured). */
  get signed(): boolean {
    return this.key !== undefined;
  }

  async send(message: SinkMessage): Promise<SinkOutcome> {
    const url = this.options.url ?? message.recipient;
    if (!/^https?:\/\//i.test(url)) {
      return {
        ok: false,
        retryable: false,
        error: `webhook: no url configured and recipient ${JSON.stringify(message.recipient)} is not an http(s) URL`,
      };
    }
    const body: WebhookBody = {
      delivery_id: message.deliveryId,
      route_id: message.routeId,
      recipient: message.recipient,
      channel: message.channel,
      sink: message.sink,
      payload: message.payload,
      idempotency_key: message.idempotencyKey ?? null,
      attempt: message.attempt,
    };
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': message.idempotencyKey ?? message.deliveryId,
      ...this.options.headers,
      // After the configured headers, so none of them can replace the signature.
      ...(this.key === undefined
        ? {}
        : webhookSignatureHeaders(this.key, message.deliveryId, text, this.clock.nowMs())),
    };
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers,
        body: text,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      const name = (error as Error)?.name;
      const reason =
        name === 'TimeoutError' || name === 'AbortError'
          ? `timed out after ${this.timeoutMs} ms`
          : describeFetchError(error);
      return { ok: false, retryable: true, error: `webhook POST ${url}: ${reason}` };
    }
    // Drain the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    const status = response.status;
    if (status >= 200 && status < 300) return { ok: true };
    const retryable = status >= 500 || status === 408 || status === 429;
    return { ok: false, retryable, error: `webhook POST ${url}: HTTP ${status}${retryable ? '' : ' (not retried)'}` };
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return (error as Error)?.message ?? String(error);
}
