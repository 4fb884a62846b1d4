// Turning console auth on the documented way (mobkit.toml: [console] require_app_auth = true plus a
// [trusted_oidc] discovery document and key set) guards every route but /healthz. Runs the app in
// this process (startApp) on port 0; the module bins must be built (`npm test` builds first).
import { createHmac } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../src/config.js';
import { type RunningApp, startApp } from '../src/server.js';
import { FIXTURES } from './helpers.js';

const ISSUER = 'http://127.0.0.1:1/issuer';
const AUDIENCE = 'mobkit-console';
const SECRET = 'reference-app-auth-test-secret-0123456789abcdef';

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An HS256 JWT made with node:crypto (HS256 is accepted for localhost-class issuers only). */
function token(claims: Record<string, unknown>): string {
  const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'dev-1' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

describe('console auth on', () => {
  let dir: string;
  let app: RunningApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mobkit-ref-auth-'));
    cpSync(join(FIXTURES, 'fast'), dir, { recursive: true });
    const kit = join(dir, 'mobkit.toml');
    writeFileSync(
      kit,
      readFileSync(kit, 'utf8').replace(
        'require_app_auth = false',
        `require_app_auth = true

[auth]
default_provider = "generic_oidc"
email_allowlist = ["ops@example.com"]

[trusted_oidc]
audience = "${AUDIENCE}"
discovery_file = "auth/openid-configuration.json"
jwks_file = "auth/jwks.json"`,
      ),
    );
    mkdirSync(join(dir, 'auth'));
    writeFileSync(
      join(dir, 'auth', 'openid-configuration.json'),
      JSON.stringify({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks.json` }),
    );
    writeFileSync(
      join(dir, 'auth', 'jwks.json'),
      JSON.stringify({
        keys: [{ kty: 'oct', kid: 'dev-1', alg: 'HS256', k: Buffer.from(SECRET).toString('base64url') }],
      }),
    );
    const config = loadAppConfig(dir);
    app = await startApp(
      config,
      { port: 0, host: '127.0.0.1', env: { MOBKIT_LLM: 'test' } },
      pino({ level: 'silent' }),
    );
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const status = { jsonrpc: '2.0', id: 1, method: 'mobkit/status', params: {} };
  const post = (headers: Record<string, string> = {}) =>
    fetch(`${app.url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(status),
    });

  it('leaves /healthz open', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
  });

  it('refuses /rpc, the console JSON and the event stream without a token', async () => {
    const rpc = await post();
    expect(rpc.status).toBe(401);
    expect(await rpc.json()).toEqual({ error: 'unauthorized', reason: 'missing_credentials' });
    expect((await fetch(`${app.url}/console/experience`)).status).toBe(401);
    expect((await fetch(`${app.url}/mob/events`)).status).toBe(401);
  });

  it('accepts an allowlisted identity with a token from the trusted issuer, and refuses others', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = token({ iss: ISSUER, aud: AUDIENCE, email: 'ops@example.com', sub: 'ops', exp: now + 300 });
    const ok = await post({ authorization: `Bearer ${good}` });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result?: unknown }).result).toBeDefined();

    const stranger = token({ iss: ISSUER, aud: AUDIENCE, email: 'someone@example.com', sub: 'x', exp: now + 300 });
    const refused = await post({ authorization: `Bearer ${stranger}` });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'unauthorized', reason: 'email_not_allowlisted' });
  });
});
