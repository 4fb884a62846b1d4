// What the edge refuses before any route runs, over a real socket (console auth off, the default that relies
// on 127.0.0.1): a JSON body that is not `application/json` (415: a cross-site form or `text/plain` fetch
// cannot send one without a CORS preflight), a cross-origin `Origin` on a state-changing route (403), and a
// `Host` that is not the bound address, a localhost name or a configured one (403: DNS rebinding). And HEAD
// on an SSE route answers headers only, without opening a stream or taking a slot of the stream cap.
// Requests go through node:http, which (unlike fetch) lets a test forge `Host`.
import { once } from 'node:events';
import { request } from 'node:http';
import { type Socket, createConnection } from 'node:net';
import { waitFor } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReferenceAppRouter } from '../src/index.js';
import { type ProbeAnswer, type TestApp, decisionState, rpcProbe, startTestApp } from './helpers.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over node:http with exactly these headers (`host` included); resolves when the answer ended. */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const STATUS = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'mobkit/status' });
const JSON_TYPE = { 'content-type': 'application/json' };

let app: TestApp;
let hostPort: string;

beforeAll(async () => {
  app = await startTestApp({ withModule: false });
  hostPort = new URL(app.url).host;
});
afterAll(async () => {
  await app?.close();
});

describe('JSON bodies must be application/json (415 unsupported_media_type)', () => {
  it('refuses text/plain, a form type and a missing content type on every JSON route; the handler never runs', async () => {
    const interaction = JSON.stringify({ member_id: 'lead-1' });
    for (const [path, body] of [
      ['/rpc', STATUS],
      ['/console/rpc', STATUS],
      ['/interactions/stream', interaction],
    ] as const) {
      for (const headers of [
        { 'content-type': 'text/plain;charset=UTF-8' },
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'multipart/form-data; boundary=x' },
        { 'content-type': 'application/jsonx' },
        {},
      ] as Record<string, string>[]) {
        const res = await raw(app.url, 'POST', path, headers, body);
        expect([path, headers, res.status], res.body).toEqual([path, headers, 415]);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(JSON.parse(res.body)).toEqual({
          error: 'unsupported_media_type',
          message: 'the request body must be JSON sent as Content-Type: application/json',
        });
      }
    }
    expect(app.rpc.calls).toEqual([]);
  });

  it('accepts application/json with parameters and in any case', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON']) {
      const res = await raw(app.url, 'POST', '/rpc', { 'content-type': type }, STATUS);
      expect([type, res.status]).toEqual([type, 200]);
      expect((JSON.parse(res.body) as ProbeAnswer).result?.echo.method).toBe('mobkit/status');
    }
  });
});

describe('cross-origin requests to state-changing routes (403 cross_origin_refused)', () => {
  it('refuses a foreign Origin and the opaque "null" origin; the handler never runs', async () => {
    const before = app.rpc.calls.length;
    for (const origin of ['https://evil.example', 'http://127.0.0.1:1', `http://${hostPort}.evil.example`, 'null']) {
      for (const path of ['/rpc', '/console/rpc', '/interactions/stream']) {
        const res = await raw(app.url, 'POST', path, { ...JSON_TYPE, origin }, STATUS);
        expect([origin, path, res.status]).toEqual([origin, path, 403]);
        expect(JSON.parse(res.body)).toEqual({
          error: 'cross_origin_refused',
          message: `requests from origin ${JSON.stringify(origin)} are refused; allow it with [http] allowed_origins in mobkit.toml (router option allowedOrigins)`,
        });
      }
    }
    expect(app.rpc.calls.length).toBe(before);
  });

  it('lets through a request without Origin and one from the same origin as the Host', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { origin: app.url },
      { origin: `http://localhost:${new URL(app.url).port}`, host: `localhost:${new URL(app.url).port}` },
    ]) {
      const res = await raw(app.url, 'POST', '/rpc', { ...JSON_TYPE, ...headers }, STATUS);
      expect([headers, res.status]).toEqual([headers, 200]);
    }
  });

  it('reads are not refused for their Origin (the browser keeps a cross-origin answer from the page)', async () => {
    const res = await raw(app.url, 'GET', '/console/experience', { origin: 'https://evil.example' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a configured allowed origin passes; others are still refused', async () => {
    const allowed = await startTestApp({
      withModule: false,
      router: { allowedOrigins: ['https://console.example.com'] },
    });
    try {
      const ok = await raw(
        allowed.url,
        'POST',
        '/rpc',
        { ...JSON_TYPE, origin: 'https://console.example.com' },
        STATUS,
      );
      expect(ok.status).toBe(200);
      const refused = await raw(allowed.url, 'POST', '/rpc', { ...JSON_TYPE, origin: 'https://evil.example' }, STATUS);
      expect(refused.status).toBe(403);
    } finally {
      await allowed.close();
    }
  });
});

describe('Host must be the bound address, a localhost name or a configured name (403 host_not_allowed)', () => {
  it('refuses a foreign Host (DNS rebinding) on reads, streams and RPC alike; the handler never runs', async () => {
    const before = app.rpc.calls.length;
    const { port } = new URL(app.url);
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `localhost:${Number(port) + 1}`,
      `127.0.0.2:${port}`,
      `app.localhost:${port}`,
    ]) {
      for (const [method, path, body] of [
        ['GET', '/console/experience', undefined],
        ['GET', '/console', undefined],
        ['GET', '/mob/events', undefined],
        ['POST', '/rpc', STATUS],
      ] as const) {
        const res = await raw(app.url, method, path, { ...JSON_TYPE, host }, body);
        expect([host, path, res.status]).toEqual([host, path, 403]);
        expect(JSON.parse(res.body)).toEqual({
          error: 'host_not_allowed',
          message: `Host ${JSON.stringify(host)} is not this server's address; allow it with [http] allowed_hosts in mobkit.toml (router option allowedHosts)`,
        });
      }
    }
    expect(app.rpc.calls.length).toBe(before);
  });

  it('accepts the bound address and the localhost names with the bound port', async () => {
    const { port } = new URL(app.url);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const res = await raw(app.url, 'GET', '/console/modules', { host });
      expect([host, res.status]).toEqual([host, 200]);
    }
  });

  it('GET /healthz answers whatever the Host (it holds no data; load balancers probe it by IP)', async () => {
    const res = await raw(app.url, 'GET', '/healthz', { host: 'evil.example' });
    expect([res.status, res.body]).toEqual([200, 'ok']);
  });

  it('configured names pass (with any port, or only the one given)', async () => {
    const named = await startTestApp({
      withModule: false,
      router: { allowedHosts: ['mobkit.internal', 'console.example.com:8443'] },
    });
    try {
      for (const [host, status] of [
        ['mobkit.internal', 200],
        ['MobKit.Internal:443', 200],
        ['console.example.com:8443', 200],
        ['console.example.com', 403],
        ['console.example.com:443', 403],
        ['evil.example', 403],
      ] as const) {
        const res = await raw(named.url, 'POST', '/rpc', { ...JSON_TYPE, host }, STATUS);
        expect([host, res.status]).toEqual([host, status]);
      }
      // Behind a proxy the browser's origin is the public name: same origin as that Host.
      const proxied = await raw(
        named.url,
        'POST',
        '/rpc',
        { ...JSON_TYPE, host: 'console.example.com:8443', origin: 'https://console.example.com:8443' },
        STATUS,
      );
      expect(proxied.status).toBe(200);
    } finally {
      await named.close();
    }
  });
});

/** A raw client connection that stays open: what it reads so far, and a way to send more requests on it. */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => string }> {
  const { hostname, port } = new URL(url);
  const socket = createConnection({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  return { socket, received: () => text };
}

describe('HEAD on SSE routes', () => {
  it('answers the stream headers only, ends the answer, opens no stream and takes no slot of the cap', async () => {
    const capped = await startTestApp({ withModule: false, router: { maxStreams: 1 } });
    const { host } = new URL(capped.url);
    // One kept-alive connection sends every HEAD in turn: each answer must end (else the next never comes),
    // and the connection staying open must not hold a stream slot.
    const conn = await rawConnection(capped.url);
    try {
      const paths = ['/mob/events', '/agents/lead-1/events', '/mob/events', '/agents/nobody/events'];
      for (const [i, path] of paths.entries()) {
        conn.socket.write(`HEAD ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        await waitFor(`answer ${i + 1} to HEAD ${path}`, () => conn.received().split('HTTP/1.1 ').length > i + 1, 3000);
      }
      const answers = conn.received().split('HTTP/1.1 ').slice(1);
      expect(answers.map((a) => a.slice(0, 3))).toEqual(['200', '200', '200', '404']);
      for (const answer of answers.slice(0, 3)) {
        expect(answer).toMatch(/\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/i);
        expect(answer).toMatch(/\r\ncache-control: no-store\r\n/i);
        // Headers only: nothing after the blank line (no `retry:` or `: connected` preamble).
        expect(answer.endsWith('\r\n\r\n')).toBe(true);
      }
      // The one slot is still free while the HEAD connection stays open: a real stream opens.
      const controller = new AbortController();
      const stream = await fetch(`${capped.url}/mob/events`, { signal: controller.signal });
      expect(stream.status).toBe(200);
      // With it open, HEAD says what a GET would get (503), still without taking anything.
      const full = await raw(capped.url, 'HEAD', '/mob/events');
      expect(full.status).toBe(503);
      controller.abort();
    } finally {
      conn.socket.destroy();
      await capped.close();
    }
  });
});

describe('options', () => {
  it('allowedOrigins and allowedHosts are checked at build time (a TypeError naming the entry)', () => {
    const build = (extra: object) =>
      buildReferenceAppRouter(app.surface, decisionState(false), { rpcHandler: rpcProbe(), ...extra });
    expect(() =>
      build({ allowedOrigins: ['https://console.example.com', 'https://Other.example:8443'] }),
    ).not.toThrow();
    for (const bad of ['console.example.com', 'https://console.example.com/path', 'ftp://x.example', 'null', '*']) {
      expect(() => build({ allowedOrigins: [bad] }), bad).toThrow(/options\.allowedOrigins\[0\] must be an origin/);
    }
    expect(() => build({ allowedHosts: ['mobkit.internal', 'mobkit.internal:8443', '[::1]:80'] })).not.toThrow();
    for (const bad of ['http://mobkit.internal', 'mobkit.internal/x', 'host:99999', '', '*']) {
      expect(() => build({ allowedHosts: [bad] }), bad).toThrow(/options\.allowedHosts\[0\] must be a host name/);
    }
  });
});
