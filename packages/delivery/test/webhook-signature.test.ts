import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '@mobkit/core';
import {
  DeliveryService,
  WebhookSink,
  parseDeliveryConfig,
  verifyWebhookSignature,
  type SinkAdapter,
} from '../src/index.js';
import { Issuer } from './fixtures.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  reason?: string;
}

/** A loopback receiver that verifies every request as the README tells receivers to: 204 when valid, 401 otherwise. */
async function verifyingReceiver(secret: string): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        verifyWebhookSignature(secret, req.headers, raw);
        received.push({ status: 204, headers: req.headers, raw });
        res.writeHead(204).end();
      } catch (error) {
        received.push({ status: 401, headers: req.headers, raw, reason: (error as Error).message });
        res.writeHead(401).end();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

async function sendOnce(sink: SinkAdapter, payload: unknown) {
  const issuer = new Issuer();
  const delivery = new DeliveryService({ sinks: { webhook: sink }, trusted: issuer });
  return delivery.send({ resolution: issuer.issue({ recipient: 'ops', sink: 'webhook', retryMax: 0 }), payload });
}

describe('Standard Webhooks signatures', () => {
  it('a receiver accepts a request signed with its secret: webhook-id is the delivery id, v1 HMAC over id.timestamp.body', async () => {
    const { url, received } = await verifyingReceiver(SECRET);
    const record = await sendOnce(new WebhookSink({ url, secret: SECRET }), { alert: 'disk' });
    expect(record.status).toBe('sent');
    expect(received).toHaveLength(1);
    const hit = received[0] as Received;
    expect(hit.status).toBe(204);
    expect(hit.headers['webhook-id']).toBe(record.deliveryId);
    expect(Number(hit.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(hit.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(hit.raw)).toMatchObject({ delivery_id: record.deliveryId, payload: { alert: 'disk' } });
  });

  it('rejects a request signed with another secret, and unsigned requests', async () => {
    const { url, received } = await verifyingReceiver(SECRET);
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect((await sendOnce(new WebhookSink({ url, secret: other }), 1)).status).toBe('failed');
    expect((await sendOnce(new WebhookSink({ url }), 1)).status).toBe('failed');
    expect(received.map((r) => [r.status, r.reason])).toEqual([
      [401, 'webhook signature: no v1 signature matches'],
      [401, 'webhook signature: missing webhook-id, webhook-timestamp or webhook-signature header'],
    ]);
  });

  it('rejects a replayed old request (timestamp outside the tolerance) and a tampered body', async () => {
    const { url, received } = await verifyingReceiver(SECRET);
    const old = new ManualClock(Date.now() - 10 * 60_000);
    expect((await sendOnce(new WebhookSink({ url, secret: SECRET, clock: old }), 1)).status).toBe('failed');
    expect(received[0]?.reason).toMatch(/webhook-timestamp is 60[01] s from now \(tolerance 300 s\)/);
    // A captured good request, replayed later, or with its body changed.
    await sendOnce(new WebhookSink({ url, secret: SECRET }), { amount: 1 });
    const good = received[1] as Received;
    expect(good.status).toBe(204);
    expect(verifyWebhookSignature(SECRET, good.headers, good.raw)).toBe(good.headers['webhook-id']);
    expect(() => verifyWebhookSignature(SECRET, good.headers, good.raw, { nowMs: Date.now() + 301_000 })).toThrow(
      /tolerance 300 s/,
    );
    expect(() => verifyWebhookSignature(SECRET, good.headers, good.raw.replace('"amount":1', '"amount":9'))).toThrow(
      expect.objectContaining({ code: 'WebhookSignatureInvalid' }),
    );
    // Key rotation: any one of several space-separated signatures may match.
    const rotated = { ...good.headers, 'webhook-signature': `v1,AAAA ${good.headers['webhook-signature']}` };
    expect(verifyWebhookSignature(SECRET, rotated, good.raw)).toBe(good.headers['webhook-id']);
  });

  it('the configured headers cannot replace the signature headers', async () => {
    const { url, received } = await verifyingReceiver(SECRET);
    const sink = new WebhookSink({ url, secret: SECRET, headers: { 'webhook-signature': 'v1,forged' } });
    expect((await sendOnce(sink, 1)).status).toBe('sent');
    expect(received[0]?.status).toBe(204);
  });

  it('config: secret or secret_env (from the environment), never both; a malformed secret is refused without echoing it', () => {
    const toml = (keys: string) => `[sinks.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\n${keys}\n`;
    const fromEnv = parseDeliveryConfig(toml('secret_env = "HOOK_SECRET"'), 'c', '/', { HOOK_SECRET: SECRET });
    expect((fromEnv.sinks.hook as WebhookSink).signed).toBe(true);
    expect((parseDeliveryConfig(toml(`secret = "${SECRET}"`), 'c').sinks.hook as WebhookSink).signed).toBe(true);
    expect((parseDeliveryConfig(toml(''), 'c').sinks.hook as WebhookSink).signed).toBe(false);
    expect(() => parseDeliveryConfig(toml('secret_env = "HOOK_SECRET"'), 'c', '/', {})).toThrow(
      /sinks\.hook\.secret_env: environment variable HOOK_SECRET is not set/,
    );
    expect(() => parseDeliveryConfig(toml(`secret = "${SECRET}"\nsecret_env = "X"`), 'c', '/', { X: SECRET })).toThrow(
      /give secret or secret_env, not both/,
    );
    let message = '';
    try {
      parseDeliveryConfig(toml('secret = "whsec_short-and-not-base64!"'), 'c');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/expected whsec_<base64> of at least 16 bytes/);
    expect(message).not.toContain('short-and-not-base64');
  });
});
