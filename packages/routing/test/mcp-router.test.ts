import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { RoutingService, overridesFromToolResult, type ToolResultLike } from '../src/index.js';
import { builtBin, childEnv } from '@mobkit/test-utils';

const fixtures = fileURLToPath(new URL('../../../fixtures/routing/', import.meta.url));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
let bin = '';
const open: Client[] = [];

beforeAll(() => {
  bin = builtBin('mobkit-router', packageDir);
}, 120_000);

afterEach(async () => {
  // Closing the client closes stdin and terminates the child process.
  while (open.length > 0) await open.pop()?.close();
});

async function connect(args: string[]): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, ...args],
    env: childEnv(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'routing-test', version: '0.0.0' });
  open.push(client);
  await client.connect(transport);
  return { client, transport };
}

function jsonOf(result: Awaited<ReturnType<Client['callTool']>>): Record<string, unknown> {
  const content = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(content[0]?.text ?? 'null') as Record<string, unknown>;
}

describe('mobkit-router MCP module (official SDK client over stdio)', () => {
  it('lists routing.resolve and resolves with the TOML defaults and routes', async () => {
    const { client } = await connect([`${fixtures}routing.toml`]);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['routing.resolve', 'routing.routes.list']);

    const plain = await client.callTool({ name: 'routing.resolve', arguments: { recipient: 'user@example.com' } });
    expect(plain.isError).toBeFalsy();
    // [defaults] retry_max=2 and backoff_ms=50 override; zz.fallback (*/*) routes to memory.
    expect(jsonOf(plain)).toEqual({
      route_id: 'route-000000',
      recipient: 'user@example.com',
      channel: 'notification',
      sink: 'memory',
      target_module: 'delivery',
      retry_max: 2,
      backoff_ms: 50,
      rate_limit_per_minute: 2,
    });
    expect(plain.content).toHaveLength(1);

    const pager = await client.callTool({
      name: 'routing.resolve',
      arguments: { recipient: 'ops@example.com', channel: 'alerts' },
    });
    expect(jsonOf(pager)).toMatchObject({
      route_id: 'route-000001',
      sink: 'webhook',
      retry_max: 3,
      backoff_ms: 50,
      rate_limit_per_minute: 10,
    });

    const routes = await client.callTool({ name: 'routing.routes.list', arguments: {} });
    expect((jsonOf(routes).routes as Array<{ route_key: string }>).map((r) => r.route_key)).toEqual([
      'ops.pager',
      'zz.fallback',
    ]);
  });

  it('answers bad requests with isError and a MobKit code', async () => {
    const { client } = await connect(['--config', `${fixtures}routing.toml`]);
    const blank = await client.callTool({ name: 'routing.resolve', arguments: { recipient: '  ' } });
    expect(blank.isError).toBe(true);
    expect(jsonOf(blank)).toMatchObject({ code: 'EmptyRecipient' });
    const capped = await client.callTool({ name: 'routing.resolve', arguments: { recipient: 'x', retry_max: 11 } });
    expect(jsonOf(capped)).toMatchObject({ code: 'RetryMaxExceedsCap', details: { provided: 11, cap: 10 } });
    const missing = await client.callTool({ name: 'routing.resolve', arguments: {} });
    expect(jsonOf(missing)).toMatchObject({ code: 'MissingField' });
  });

  it('wires a kept session into resolveRouting as the router (overrides, then the runtime route)', async () => {
    const { client } = await connect([`${fixtures}routing.toml`]);
    const routing = new RoutingService({
      routes: [
        {
          routeKey: 'vip',
          recipient: 'vip@example.com',
          sink: 'email',
          targetModule: 'delivery',
          rateLimitPerMinute: 50,
        },
      ],
      router: async (request) =>
        overridesFromToolResult(
          (await client.callTool({ name: 'routing.resolve', arguments: request })) as ToolResultLike,
        ),
    });
    // The module's [defaults] (retry 2, backoff 50) and its */* route (sink memory) come back as overrides.
    expect(await routing.resolve({ recipient: 'someone@example.com' })).toMatchObject({
      routeId: 'route-000000',
      sink: 'memory',
      retryMax: 2,
      backoffMs: 50,
    });
    // Then the runtime's own route wins for sink and rate.
    expect(await routing.resolve({ recipient: 'vip@example.com' })).toMatchObject({
      routeId: 'route-000001',
      sink: 'email',
      rateLimitPerMinute: 50,
      retryMax: 2,
    });
    // A module error surfaces as InvalidRouterOverrides naming the module's answer.
    const failing = new RoutingService({
      router: async () =>
        overridesFromToolResult(
          (await client.callTool({ name: 'routing.resolve', arguments: { recipient: ' ' } })) as ToolResultLike,
        ),
    });
    await expect(failing.resolve({ recipient: 'x' })).rejects.toMatchObject({
      code: 'InvalidRouterOverrides',
      message: expect.stringContaining('EmptyRecipient'),
    });
  });

  it('without a TOML it resolves with the spec defaults', async () => {
    const { client } = await connect([]);
    const r = await client.callTool({ name: 'routing.resolve', arguments: { recipient: '+15550100' } });
    expect(jsonOf(r)).toMatchObject({ sink: 'sms', retry_max: 1, backoff_ms: 250, rate_limit_per_minute: 2 });
  });

  it('refuses to start on an invalid routing TOML, naming the field', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [bin, `${fixtures}invalid-retry.toml`],
      env: childEnv(),
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'routing-test', version: '0.0.0' });
    open.push(client);
    await expect(client.connect(transport)).rejects.toThrow();
    expect(stderr).toContain('routes[0].retry_max');
  });
});
