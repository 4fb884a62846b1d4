// Console auth ON (`console.require_app_auth = true`), over a real socket: every route but /healthz (and
// the static page shell) needs a token that verifies against the trusted OIDC config — console JSON, SSE,
// interactions and RPC alike (the original left SSE open). Tokens are HS256, signed with jose, accepted
// because the trusted issuer and jwks_uri are localhost-class.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleExperienceWire } from '../src/index.js';
import { type ProbeAnswer, SseReader, type TestApp, signToken, startTestApp } from './helpers.js';

let app: TestApp;
let shellGuarded: TestApp;
let token: string;

beforeAll(async () => {
  app = await startTestApp({ requireAppAuth: true });
  shellGuarded = await startTestApp({
    requireAppAuth: true,
    withModule: false,
    router: { guardConsoleShell: true, rpcWithoutAuth: 'read-only' },
  });
  token = await signToken();
});
afterAll(async () => {
  await app?.close();
  await shellGuarded?.close();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

const guarded: Array<[string, string, unknown?]> = [
  ['GET', '/console/experience'],
  ['GET', '/console/modules'],
  ['GET', '/mob/events'],
  ['GET', '/agents/lead-1/events'],
  ['POST', '/interactions/stream', { member_id: 'lead-1' }],
  ['POST', '/rpc', { jsonrpc: '2.0', id: 1, method: 'mobkit/status' }],
  ['POST', '/console/rpc', { jsonrpc: '2.0', id: 1, method: 'mobkit/status' }],
];

function call(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
}

describe('require_app_auth = true', () => {
  it('GET /healthz needs no token', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });

  it('the console page shell and its script load without a token (they hold no data) and ask for one', async () => {
    const page = await fetch(`${app.url}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-require-auth="true"');
    expect((await fetch(`${app.url}/console/assets/console-app.js`)).status).toBe(200);
  });

  it.each(guarded)('%s %s without a token is 401 missing_credentials', async (method, path, body) => {
    const res = await call(app.url, method, path, body);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ error: 'unauthorized', reason: 'missing_credentials' });
  });

  it.each(guarded)('%s %s refuses bad tokens with the reason code', async (method, path, body) => {
    const forged = `${token.slice(0, token.lastIndexOf('.') + 1)}${Buffer.from('not the signature').toString('base64url')}`;
    const stranger = await signToken('stranger@example.com');
    const cases: Array<[string, string]> = [
      [forged, 'invalid_token'],
      [stranger, 'email_not_allowlisted'],
      ['not-a-jwt', 'invalid_token_header'],
    ];
    for (const [t, reason] of cases) {
      const res = await call(app.url, method, path, body, bearer(t));
      expect(res.status, reason).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized', reason });
    }
  });

  it('console JSON and RPC answer with a Bearer token or ?auth_token=', async () => {
    const exp = await fetch(`${app.url}/console/experience`, { headers: bearer(token) });
    expect(exp.status).toBe(200);
    expect(((await exp.json()) as ConsoleExperienceWire).contract_version).toBe('0.2.0');
    const mods = await fetch(`${app.url}/console/modules?auth_token=${encodeURIComponent(token)}`);
    expect(await mods.json()).toEqual({ contract_version: '0.2.0', modules: ['beacon'] });
    for (const path of ['/rpc', '/console/rpc']) {
      const rpc = await call(
        app.url,
        'POST',
        path,
        [{ jsonrpc: '2.0', id: 1, method: 'mobkit/status' }],
        bearer(token),
      );
      expect(rpc.status).toBe(200);
      expect((await rpc.json()) as ProbeAnswer[]).toEqual([
        { jsonrpc: '2.0', id: 1, result: { echo: { method: 'mobkit/status', params: null } } },
      ]);
    }
  });

  it('SSE streams with a token: /mob/events via ?auth_token= (EventSource style), /agents/:id/events via Bearer', async () => {
    const controller = new AbortController();
    const mob = await fetch(`${app.url}/mob/events?auth_token=${encodeURIComponent(token)}`, {
      signal: controller.signal,
    });
    const agent = await fetch(`${app.url}/agents/worker-1/events`, {
      headers: bearer(token),
      signal: controller.signal,
    });
    expect(mob.status).toBe(200);
    expect(agent.status).toBe(200);
    const a = new SseReader(mob);
    const b = new SseReader(agent);
    await a.until(() => a.comments.includes('connected'));
    await b.until(() => b.comments.includes('connected'));
    await app.mob.sendMessage('worker-1', 'authenticated hello');
    await a.frame((f) => f.event === 'run_completed');
    await b.frame((f) => f.event === 'run_completed');
    controller.abort();
  });

  it('an SSE stream ends with auth_expired when its token expires (the client must come back with a fresh one)', async () => {
    // The console auth accepts a token up to 30 s (its leeway) after exp: this one has 2 s left.
    const shortLived = await signToken(undefined, {}, Math.floor(Date.now() / 1000) - 28);
    const res = await fetch(`${app.url}/mob/events`, { headers: bearer(shortLived) });
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    await sse.end(6000);
    expect(sse.frames.at(-1)?.event).toBe('auth_expired');
    expect(JSON.parse(sse.frames.at(-1)?.data as string)).toMatchObject({
      type: 'auth_expired',
      expired_at_epoch_seconds: expect.any(Number),
    });
  }, 10_000);

  it('POST /interactions/stream with a token streams the reply to a message', async () => {
    const res = await call(
      app.url,
      'POST',
      '/interactions/stream',
      { member_id: 'lead-1', message: 'hi with auth' },
      bearer(token),
    );
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    await sse.end();
    expect(sse.frames[0]?.event).toBe('subscribed');
    expect(
      sse.frames
        .filter((f) => f.event === 'text_delta')
        .map((f) => JSON.parse(f.data).delta)
        .join(''),
    ).toBe('pong');
    expect(sse.frames.at(-1)?.event).toBe('run_completed');
  });

  it('guardConsoleShell: the page needs a token too, and forwards ?auth_token= to its script', async () => {
    const refused = await fetch(`${shellGuarded.url}/console`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'unauthorized', reason: 'missing_credentials' });
    expect((await fetch(`${shellGuarded.url}/console/assets/console-app.js`)).status).toBe(401);
    const page = await fetch(`${shellGuarded.url}/console?auth_token=${encodeURIComponent(token)}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const src = /<script src="([^"]+)"/.exec(html)?.[1] as string;
    expect(src).toBe(`/console/assets/console-app.js?auth_token=${encodeURIComponent(token)}`);
    expect((await fetch(`${shellGuarded.url}${src.replace(/&amp;/g, '&')}`)).status).toBe(200);
    expect((await fetch(`${shellGuarded.url}/healthz`)).status).toBe(200);
  });

  it('with auth on, rpcWithoutAuth read-only does not restrict an authenticated caller', async () => {
    const res = await call(
      shellGuarded.url,
      'POST',
      '/rpc',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'mobkit/send_message',
        params: { member_id: 'lead-1', message: 'mutating, with a token' },
      },
      bearer(token),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as ProbeAnswer).result).toEqual({
      echo: { method: 'mobkit/send_message', params: { member_id: 'lead-1', message: 'mutating, with a token' } },
    });
    expect(shellGuarded.rpc.calls.map((c) => c.method)).toEqual(['mobkit/send_message']);
  });
});
