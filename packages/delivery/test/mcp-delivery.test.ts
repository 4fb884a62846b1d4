import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SMTPServer } from 'smtp-server';
import { builtBin, childEnv } from '@mobkit/test-utils';
import { DELIVERY_ID_PATTERN } from '../src/index.js';

// Spawns the built dist/bin/mobkit-delivery.js (and routing's mobkit-router.js); the root `npm test`
// builds every package first, and builtBin() rebuilds this package's bin when src is newer.
const fixtures = fileURLToPath(new URL('../../../fixtures/delivery/', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const routingDir = fileURLToPath(new URL('../../routing/', import.meta.url));
let bin = '';
let routerBin = '';
const clients: Client[] = [];
const dirs: string[] = [];
const smtpServers: SMTPServer[] = [];

beforeAll(() => {
  bin = builtBin('mobkit-delivery', packageDir);
  routerBin = builtBin('mobkit-router', routingDir);
}, 240_000);

afterEach(async () => {
  while (clients.length > 0) await clients.pop()?.close();
  while (smtpServers.length > 0) {
    const s = smtpServers.pop() as SMTPServer;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

async function connect(command: string, args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [command, ...args],
    env: childEnv(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'delivery-test', version: '0.0.0' });
  clients.push(client);
  await client.connect(transport);
  return client;
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ isError: boolean; json: Record<string, unknown> }> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as Array<{ type: string; text: string }>;
  return { isError: result.isError === true, json: JSON.parse(content[0]?.text ?? 'null') as Record<string, unknown> };
}

async function startSmtp(): Promise<{ port: number; mails: string[] }> {
  const mails: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        mails.push(`${session.envelope.rcptTo.map((r) => r.address).join(',')}\n${data}`);
        callback();
      });
    },
  });
  smtpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, mails };
}

const resolution = {
  route_id: 'route-000000',
  recipient: 'user@example.com',
  channel: 'transactional',
  sink: 'email',
  target_module: 'delivery',
  retry_max: 1,
  backoff_ms: 250,
  rate_limit_per_minute: 2,
};

describe('mobkit-delivery MCP module (official SDK client over stdio)', () => {
  it('sends over SMTP, replays the key, rejects forged resolutions, serves history, and replays from its ledger after a restart', async () => {
    const { port, mails } = await startSmtp();
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-delivery-mcp-'));
    dirs.push(dir);
    const config = join(dir, 'delivery.toml');
    writeFileSync(
      config,
      `[delivery]\nledger_path = "ledger.jsonl"\n\n[sinks.email]\ntype = "email"\nhost = "127.0.0.1"\nport = ${port}\nfrom = "mobkit@example.com"\n\n[sinks.memory]\n`,
    );

    const client = await connect(bin, ['--config', config]);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'delivery.attempt',
      'delivery.history',
      'delivery.send',
    ]);

    const payload = { subject: 'Receipt', text: 'Thanks!' };
    const sent = await call(client, 'delivery.send', { resolution, payload, idempotency_key: 'order-1' });
    expect(sent.isError).toBe(false);
    expect(sent.json).toMatchObject({
      delivery_id: expect.stringMatching(DELIVERY_ID_PATTERN),
      route_id: 'route-000000',
      status: 'sent',
      sink: 'email',
      sink_adapter: 'smtp',
      adapter: 'smtp',
      force_fail: false,
      idempotency_key: 'order-1',
    });
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain('user@example.com');
    expect(mails[0]).toContain('Thanks!');

    const again = await call(client, 'delivery.send', { resolution, payload, idempotency_key: 'order-1' });
    expect(again.json).toEqual(sent.json);
    expect(mails).toHaveLength(1);

    const mismatch = await call(client, 'delivery.send', {
      resolution,
      payload: { text: 'changed' },
      idempotency_key: 'order-1',
    });
    expect(mismatch).toMatchObject({ isError: true, json: { code: 'IdempotencyPayloadMismatch' } });
    const forged = await call(client, 'delivery.send', {
      resolution: { ...resolution, recipient: 'attacker@example.com' },
      payload,
      idempotency_key: 'order-2',
    });
    expect(forged).toMatchObject({
      isError: true,
      json: { code: 'ForgedResolution', details: { fields: ['recipient'] } },
    });
    const target = await call(client, 'delivery.send', {
      resolution: { ...resolution, route_id: 'route-000001', target_module: 'pager' },
      payload,
    });
    expect(target).toMatchObject({ isError: true, json: { code: 'InvalidRouteTarget' } });
    const blankKey = await call(client, 'delivery.send', { resolution, payload, idempotency_key: ' ' });
    expect(blankKey).toMatchObject({ isError: true, json: { code: 'InvalidIdempotencyKey' } });
    const badArgs = await call(client, 'delivery.send', { resolution: { route_id: 'route-000009' }, payload });
    expect(badArgs).toMatchObject({ isError: true, json: { code: 'MissingField' } });

    const history = await call(client, 'delivery.history', { recipient: 'user@example.com' });
    expect((history.json.deliveries as unknown[]).length).toBe(1);
    expect(await call(client, 'delivery.history', { limit: 0 })).toMatchObject({ isError: true });

    await client.close();
    clients.length = 0;
    const ledger = readFileSync(join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n');
    expect(ledger.map((l) => (JSON.parse(l) as { kind: string }).kind)).toEqual(['begin', 'record']);

    // Restarted module on the same ledger: the known key replays, nothing is sent again.
    const restarted = await connect(bin, [config]);
    const replayed = await call(restarted, 'delivery.send', { resolution, payload, idempotency_key: 'order-1' });
    expect(replayed.json).toMatchObject({ delivery_id: sent.json.delivery_id, status: 'sent' });
    expect(mails).toHaveLength(1);
    const fresh = await call(restarted, 'delivery.send', { resolution, payload, idempotency_key: 'order-3' });
    expect(fresh.json).toMatchObject({ delivery_id: expect.stringMatching(DELIVERY_ID_PATTERN), status: 'sent' });
    expect(fresh.json.delivery_id).not.toBe(sent.json.delivery_id);
    expect(mails).toHaveLength(2);
  });

  it("delivery.attempt executes one attempt under the caller's delivery id (webhook-id on every retry), with no ledger line, key or rate charge of its own", async () => {
    const hits: Array<{ id: string | undefined; key: string | undefined; attempt: number }> = [];
    let status = 503;
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as { attempt: number };
        hits.push({
          id: req.headers['webhook-id'] as string | undefined,
          key: req.headers['idempotency-key'] as string | undefined,
          attempt: body.attempt,
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const dir = mkdtempSync(join(tmpdir(), 'mobkit-delivery-attempt-'));
      dirs.push(dir);
      const config = join(dir, 'delivery.toml');
      writeFileSync(
        config,
        `[delivery]\nledger_path = "ledger.jsonl"\n\n[sinks.hook]\ntype = "webhook"\nurl = "${url}"\nsecret = "whsec_${Buffer.alloc(24, 7).toString('base64')}"\n`,
      );
      const client = await connect(bin, [config]);
      const hook = { ...resolution, sink: 'hook', rate_limit_per_minute: 1 };
      const args = { delivery_id: 'delivery-0000owner-00001234567890', resolution: hook, payload: { n: 1 } };
      const first = await call(client, 'delivery.attempt', { ...args, attempt: 1 });
      expect(first).toEqual({
        isError: false,
        json: {
          delivery_id: args.delivery_id,
          attempt: 1,
          ok: false,
          retryable: true,
          error: expect.stringContaining('HTTP 503'),
          adapter: 'webhook',
        },
      });
      status = 204;
      // Past the route's rate limit of 1: the owner charges rates, not the module.
      for (const attempt of [2, 3]) {
        const next = await call(client, 'delivery.attempt', { ...args, idempotency_key: 'k-1', attempt });
        expect(next.json).toMatchObject({ ok: true, retryable: false, error: null, attempt });
      }
      expect(hits).toEqual([
        { id: args.delivery_id, key: args.delivery_id, attempt: 1 },
        { id: args.delivery_id, key: 'k-1', attempt: 2 },
        { id: args.delivery_id, key: 'k-1', attempt: 3 },
      ]);
      expect(await call(client, 'delivery.attempt', { ...args, attempt: 0 })).toMatchObject({ isError: true });
      expect(
        await call(client, 'delivery.attempt', { ...args, resolution: { ...hook, sink: 'nope' }, attempt: 1 }),
      ).toMatchObject({
        isError: true,
        json: { code: 'UnknownSink' },
      });
      expect((await call(client, 'delivery.history', {})).json).toEqual({ deliveries: [] });
      await client.close();
      clients.length = 0;
      expect(existsSync(join(dir, 'ledger.jsonl')) ? readFileSync(join(dir, 'ledger.jsonl'), 'utf8') : '').toBe('');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('e2e_004 through both executables: router resolves user@example.com on transactional → email/delivery; delivery sends it', async () => {
    const router = await connect(routerBin, []);
    const delivery = await connect(bin, [`${fixtures}memory.toml`]);
    const resolved = await call(router, 'routing.resolve', { recipient: 'user@example.com', channel: 'transactional' });
    expect(resolved.json).toMatchObject({ sink: 'email', target_module: 'delivery', channel: 'transactional' });
    const sent = await call(delivery, 'delivery.send', {
      resolution: resolved.json,
      payload: { text: 'hello' },
      idempotency_key: 'e2e-004',
    });
    expect(sent.json).toMatchObject({
      route_id: resolved.json.route_id,
      status: 'sent',
      target_module: 'delivery',
      sink_adapter: 'memory',
    });
  });

  it('refuses to start without a config or with an invalid sink, naming the field', async () => {
    for (const args of [[], [`${fixtures}invalid-sink.toml`]]) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [bin, ...args],
        env: childEnv(),
        stderr: 'pipe',
      });
      let stderr = '';
      transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const client = new Client({ name: 'delivery-test', version: '0.0.0' });
      clients.push(client);
      await expect(client.connect(transport)).rejects.toThrow();
      expect(stderr).toMatch(args.length === 0 ? /delivery TOML naming the sinks is required/ : /sinks\.pager\.type/);
    }
  });
});
