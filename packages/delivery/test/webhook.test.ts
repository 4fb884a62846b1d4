import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DELIVERY_ID_PATTERN, DeliveryService, WebhookSink, type WebhookBody } from '../src/index.js';
import { Issuer } from './fixtures.js';

const servers: Server[] = [];
afterEach(async () => {
  while (servers.length > 0) {
    const s = servers.pop() as Server;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

interface Hit {
  body: WebhookBody;
  headers: IncomingMessage['headers'];
}

async function serve(
  handler: (hit: Hit, n: number, res: ServerResponse) => void,
): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const hit = { body: JSON.parse(text) as WebhookBody, headers: req.headers };
      hits.push(hit);
      handler(hit, hits.length, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

function service(sink: WebhookSink) {
  const issuer = new Issuer();
  return { issuer, delivery: new DeliveryService({ sinks: { webhook: sink }, trusted: issuer }) };
}

describe('webhook sink against a loopback HTTP server', () => {
  it('fails twice with 503, then accepts: 3 attempts, sent', async () => {
    const { url, hits } = await serve((_, n, res) => {
      res.writeHead(n <= 2 ? 503 : 204).end();
    });
    const { issuer, delivery } = service(new WebhookSink({ url, headers: { authorization: 'Bearer t' } }));
    const r = issuer.issue({ recipient: 'ops', sink: 'webhook', retryMax: 3, backoffMs: 5 });
    const record = await delivery.send({ resolution: r, payload: { alert: 'disk' }, idempotencyKey: 'a-1' });
    expect(record.status).toBe('sent');
    expect(record.attempts.map((a) => a.status)).toEqual(['transient_failure', 'transient_failure', 'sent']);
    expect(record.attempts[0]?.error).toContain('HTTP 503');
    expect(record.attempts.map((a) => a.backoffMs)).toEqual([5, 10, 0]);
    expect(record.sinkAdapter).toBe('webhook');
    expect(hits).toHaveLength(3);
    expect(hits.map((h) => h.body.attempt)).toEqual([1, 2, 3]);
    expect(hits[0]?.body).toMatchObject({
      delivery_id: record.deliveryId,
      route_id: r.routeId,
      recipient: 'ops',
      channel: 'notification',
      payload: { alert: 'disk' },
      idempotency_key: 'a-1',
    });
    expect(record.deliveryId).toMatch(DELIVERY_ID_PATTERN);
    // The send's key is the receiver's idempotency key (a keyless send carries its delivery id, below).
    expect(hits.map((h) => h.headers['idempotency-key'])).toEqual(['a-1', 'a-1', 'a-1']);
    expect(hits[0]?.headers.authorization).toBe('Bearer t');
    expect(hits[0]?.headers['content-type']).toBe('application/json');
  });

  it('a 4xx stops at once: 1 attempt, failed', async () => {
    const { url, hits } = await serve((_, __, res) => res.writeHead(400).end('bad'));
    const { issuer, delivery } = service(new WebhookSink({ url }));
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'ops', sink: 'webhook', retryMax: 5, backoffMs: 1 }),
      payload: 1,
    });
    expect(record.status).toBe('failed');
    expect(record.attempts).toHaveLength(1);
    expect(record.attempts[0]?.error).toContain('HTTP 400');
    expect(hits).toHaveLength(1);
    expect(hits[0]?.headers['idempotency-key']).toBe(record.deliveryId);
    expect(hits[0]?.body.idempotency_key).toBeNull();
  });

  it('a timeout is retryable', async () => {
    const { url, hits } = await serve((_, n, res) => {
      if (n >= 2) res.writeHead(200).end();
      // first request: never answered
    });
    const { issuer, delivery } = service(new WebhookSink({ url, timeoutMs: 150 }));
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'ops', sink: 'webhook', retryMax: 1, backoffMs: 1 }),
      payload: 1,
    });
    expect(record.attempts.map((a) => a.status)).toEqual(['transient_failure', 'sent']);
    expect(record.attempts[0]?.error).toContain('timed out after 150 ms');
    expect(hits).toHaveLength(2);
  });

  it('a refused connection is retryable and ends failed when retries run out', async () => {
    const { url } = await serve((_, __, res) => res.writeHead(200).end());
    const closed = servers.pop() as Server;
    await new Promise((resolve) => closed.close(resolve));
    const { issuer, delivery } = service(new WebhookSink({ url }));
    const record = await delivery.send({
      resolution: issuer.issue({ recipient: 'ops', sink: 'webhook', retryMax: 1, backoffMs: 1 }),
      payload: 1,
    });
    expect(record.attempts.map((a) => a.status)).toEqual(['transient_failure', 'failed']);
    expect(record.attempts[0]?.error).toContain('ECONNREFUSED');
  });

  it('without a url the recipient must be an http(s) URL', async () => {
    const { url, hits } = await serve((_, __, res) => res.writeHead(200).end());
    const { issuer, delivery } = service(new WebhookSink());
    expect(
      (await delivery.send({ resolution: issuer.issue({ recipient: url, sink: 'webhook' }), payload: 1 })).status,
    ).toBe('sent');
    const bad = await delivery.send({
      resolution: issuer.issue({ recipient: 'ops-team', sink: 'webhook', retryMax: 3 }),
      payload: 1,
    });
    expect(bad.attempts).toHaveLength(1);
    expect(bad.attempts[0]?.error).toContain('not an http(s) URL');
    expect(hits).toHaveLength(1);
  });
});
