import type { Transporter } from 'nodemailer';
import type { SinkAdapter, SinkMessage, SinkOutcome } from './types.js';

/** Options of {@link EmailSink} (SMTP through nodemailer). */
export interface EmailSinkOptions {
  host: string;
  port: number;
  /** TLS from the start (port 465); otherwise STARTTLS when offered. */
  secure?: boolean;
  /** SMTP AUTH credentials. */
  auth?: { user: string; pass: string };
  /** The From address. */
  from: string;
  /** Subject when the payload has none (default `MobKit <channel>`). */
  defaultSubject?: string;
  /** Connection/greeting/socket timeout (default 10 000 ms). */
  timeoutMs?: number;
  /** Refuse self-signed certificates (default true). */
  rejectUnauthorized?: boolean;
}

const RETRYABLE_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPROTOCOL',
  'EAUTH_TEMP',
]);

/**
 * Sends e-mail over SMTP. The recipient is the To address. From the payload: `subject`, `text`
 * (or `body`), `html`; anything else is sent as pretty JSON text. The Message-ID derives from
 * the delivery id so retries of one delivery share it. SMTP 4xx and connection errors are
 * retryable; 5xx replies (bad mailbox, rejected) are permanent. nodemailer is loaded on the first
 * send, so a process that configures no email sink (or never sends one) does not pay for loading it.
 */
export class EmailSink implements SinkAdapter {
  readonly adapter = 'smtp';
  private transport: Promise<Transporter> | undefined;

  constructor(private readonly options: EmailSinkOptions) {}

  /** The SMTP transport, created (and nodemailer loaded) on first use. */
  private transporter(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ default: nodemailer }) => {
      const { options } = this;
      const timeout = options.timeoutMs ?? 10_000;
      return nodemailer.createTransport({
        host: options.host,
        port: options.port,
        secure: options.secure ?? false,
        ...(options.auth === undefined ? {} : { auth: options.auth }),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
        tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
      });
    });
    return this.transport;
  }

  async send(message: SinkMessage): Promise<SinkOutcome> {
    const payload = (message.payload ?? {}) as Record<string, unknown>;
    const isObject = typeof message.payload === 'object' && message.payload !== null && !Array.isArray(message.payload);
    const subject =
      isObject && typeof payload.subject === 'string'
        ? payload.subject
        : (this.options.defaultSubject ?? `MobKit ${message.channel}`);
    const text =
      isObject && typeof payload.text === 'string'
        ? payload.text
        : isObject && typeof payload.body === 'string'
          ? payload.body
          : typeof message.payload === 'string'
            ? message.payload
            : JSON.stringify(message.payload, null, 2);
    try {
      const transport = await this.transporter();
      await transport.sendMail({
        from: this.options.from,
        to: message.recipient,
        subject,
        text,
        ...(isObject && typeof payload.html === 'string' ? { html: payload.html } : {}),
        messageId: `<${message.deliveryId}.${message.routeId}@mobkit.local>`,
        headers: {
          'X-MobKit-Delivery-Id': message.deliveryId,
          'X-MobKit-Route-Id': message.routeId,
          ...(message.idempotencyKey === undefined ? {} : { 'X-MobKit-Idempotency-Key': message.idempotencyKey }),
        },
      });
      return { ok: true };
    } catch (error) {
      const e = error as { responseCode?: number; code?: string; message?: string };
      const retryable =
        typeof e.responseCode === 'number'
          ? e.responseCode >= 400 && e.responseCode < 500
          : e.code === undefined || RETRYABLE_CODES.has(e.code);
      const what = typeof e.responseCode === 'number' ? `SMTP ${e.responseCode}` : (e.code ?? 'error');
      return { ok: false, retryable, error: `email to ${message.recipient}: ${what}: ${e.message ?? String(error)}` };
    }
  }

  /** Closes the transport if one was created (waiting for a creation in progress); a later send opens a new one. */
  async close(): Promise<void> {
    const pending = this.transport;
    if (pending === undefined) return;
    this.transport = undefined;
    const transport = await pending.catch(() => undefined);
    transport?.close();
  }
}
