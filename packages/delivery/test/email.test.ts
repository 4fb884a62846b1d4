import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { DELIVERY_ID_PATTERN, DeliveryService, EmailSink } from '../src/index.js';
import { Issuer } from './fixtures.js';

interface Mail {
  from: string;
  to: string[];
  data: string;
}

const servers: SMTPServer[] = [];
const sinks: EmailSink[] = [];
afterEach(async () => {
  while (sinks.length > 0) await sinks.pop()?.close();
  while (servers.length > 0) {
    const s = servers.pop() as SMTPServer;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function smtp(rcptReply: (n: number) => Error | null = () => null): Promise<{ port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  let rcpt = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      const error = rcptReply(++rcpt);
      callback(error ?? undefined);
    },
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        callback();
      });
    },
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, mails };
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function service(port: number) {
  const sink = new EmailSink({ host: '127.0.0.1', port, from: 'mobkit@example.com', timeoutMs: 5_000 });
  sinks.push(sink);
  const issuer = new Issuer();
  return { issuer, delivery: new DeliveryService({ sinks: { email: sink }, trusted: issuer }) };
}

describe('email sink over SMTP on loopback (smtp-server)', () => {
  it('delivers user@example.com on transactional: status sent, mail received with headers', async () => {
    const { port, mails } = await smtp();
    const { issuer, delivery } = service(port);
    const r = issuer.issue({ recipient: 'user@example.com', channel: 'transactional', sink: 'email' });
    const record = await delivery.send({
      resolution: r,
      payload: { subject: 'Your receipt', text: 'Thanks for your order.' },
      idempotencyKey: 'order-1',
    });
    expect(record).toMatchObject({ status: 'sent', sinkAdapter: 'smtp' });
    expect(mails).toHaveLength(1);
    expect(mails[0]?.from).toBe('mobkit@example.com');
    expect(mails[0]?.to).toEqual(['user@example.com']);
    expect(mails[0]?.data).toContain('Subject: Your receipt');
    expect(mails[0]?.data).toContain('Thanks for your order.');
    // nodemailer normalises header-name case (X-Mobkit-Delivery-ID).
    expect(record.deliveryId).toMatch(DELIVERY_ID_PATTERN);
    expect(mails[0]?.data).toMatch(new RegExp(`^x-mobkit-delivery-id: ${record.deliveryId}$`, 'im'));
    expect(mails[0]?.data).toMatch(/^x-mobkit-idempotency-key: order-1$/im);
    expect(mails[0]?.data).toContain(`Message-ID: <${record.deliveryId}.route-000000@mobkit.local>`);
  });

  it('an SMTP 4xx is retried; a 5xx stops at once', async () => {
    const { port, mails } = await smtp((n) => (n === 1 ? smtpError(451, 'try again later') : null));
    const { issuer, delivery } = service(port);
    const retried = await delivery.send({
      resolution: issuer.issue({ recipient: 'a@example.com', sink: 'email', retryMax: 2, backoffMs: 1 }),
      payload: 'hello',
    });
    expect(retried.attempts.map((a) => a.status)).toEqual(['transient_failure', 'sent']);
    expect(retried.attempts[0]?.error).toContain('451');
    expect(mails).toHaveLength(1);

    const rejecting = await smtp(() => smtpError(550, 'no such mailbox'));
    const s2 = service(rejecting.port);
    const failed = await s2.delivery.send({
      resolution: s2.issuer.issue({ recipient: 'ghost@example.com', sink: 'email', retryMax: 3, backoffMs: 1 }),
      payload: 'x',
    });
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]?.error).toContain('550');
  });

  it('a refused connection is retryable', async () => {
    const { port } = await smtp();
    const s = servers.pop() as SMTPServer;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const { issuer, delivery } = service(port);
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'a@example.com', sink: 'email', retryMax: 1, backoffMs: 1 }),
      payload: 'x',
    });
    expect(record.attempts.map((a) => a.status)).toEqual(['transient_failure', 'failed']);
  });
});
