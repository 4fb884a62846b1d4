// The JSON-RPC surface over a real UnifiedRuntime: an embedded mob on the TestClient and, where a
// module is needed, the MCP fixture (official SDK) as router/delivery/scheduling child processes.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MobDefinition, TestClient } from '@mobkit/mob-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRpcHandler, defaultRpcMethodRegistry } from '../src/rpc/handler.js';
import { type RpcMethod, rpcMethod } from '../src/rpc/registry.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'mcp-fixture.mjs');

const MOB_TOML = `
[mob]
id = "rpc-test-mob"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true
[profiles.lead.tools]
comms = true

[profiles.hidden]
model = "gpt-5.2"
external_addressable = false
[profiles.hidden.tools]
comms = true
`;

let runtime: UnifiedRuntime;
let rpc: ReturnType<typeof createRpcHandler>;

const fixtureModule = (id: string) => ({
  id,
  command: process.execPath,
  args: [FIXTURE, '--module', id],
  restartPolicy: 'never' as const,
});
const mcp = (id: string, extra: Array<[string, string]> = []) => ({
  moduleId: id,
  env: [['MOBKIT_MODULE_BOUNDARY', 'mcp'], ...extra] as Array<[string, string]>,
});

beforeAll(async () => {
  runtime = await UnifiedRuntime.bootstrap(
    MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
    {
      modules: [fixtureModule('router'), fixtureModule('delivery'), fixtureModule('scheduling')],
      discovery: { namespace: 'rpc-test', modules: ['router', 'delivery', 'scheduling'] },
      preSpawn: [mcp('router'), mcp('delivery'), mcp('scheduling', [['MOBKIT_PHASE_C_SCHEDULING_MEMBER', 'lead-1']])],
    },
    10_000,
  );
  rpc = createRpcHandler(runtime);
}, 30_000);

afterAll(async () => {
  await runtime?.shutdown();
});

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC results are JSON read freely by the assertions
type Json = any;

async function call(
  method: string,
  params?: unknown,
  id: number | string = 1,
): Promise<{ result?: Json; error?: { code: number; message: string; data?: Json } }> {
  const response = await rpc.handleText(
    JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params }),
  );
  return response as { result?: unknown; error?: { code: number; message: string } };
}

describe('mobkit JSON-RPC surface', () => {
  it('status and capabilities: capabilities lists exactly the implemented methods', async () => {
    const status = await call('mobkit/status');
    expect(status.result).toMatchObject({
      contract_version: '0.2.0',
      running: true,
      loaded_modules: ['delivery', 'router', 'scheduling'],
      mob_state: 'Running',
    });
    const caps = await call('mobkit/capabilities');
    expect(caps.result.methods).toEqual(rpc.methods);
    expect(caps.result.runtime_type).toBe('unified');
    for (const method of caps.result.methods as string[]) {
      const response = await call(method, { __probe__: true });
      expect(response.error?.code, method).not.toBe(-32601);
    }
  });

  it('members: spawn, list, get, find, ensure, send, retire, respawn with the spec shapes', async () => {
    expect((await call('mobkit/spawn_member', { profile: 'lead', meerkat_id: 'lead-1' })).result).toEqual({
      accepted: true,
      meerkat_id: 'lead-1',
    });
    const ensured = await call('mobkit/ensure_member', {
      profile: 'lead',
      meerkat_id: 'lead-2',
      labels: { team: 'blue' },
    });
    expect(ensured.result).toMatchObject({
      meerkat_id: 'lead-2',
      profile: 'lead',
      state: 'active',
      labels: { team: 'blue' },
    });
    const again = await call('mobkit/ensure_member', {
      profile: 'lead',
      meerkat_id: 'lead-2',
      labels: { team: 'blue' },
    });
    expect(again.result.session_id).toBe(ensured.result.session_id);
    const list = await call('mobkit/list_members');
    expect((list.result as Array<{ meerkat_id: string }>).map((m) => m.meerkat_id)).toEqual(['lead-1', 'lead-2']);
    expect((await call('mobkit/find_members', { label_key: 'team', label_value: 'blue' })).result).toHaveLength(1);
    expect((await call('mobkit/get_member', { member_id: 'lead-1' })).result).toMatchObject({ meerkat_id: 'lead-1' });
    const missing = await call('mobkit/get_member', { member_id: 'nobody' });
    expect(missing.error?.message).toBe('member not found: nobody');
    const sent = await call('mobkit/send_message', { member_id: 'lead-1', message: 'hello' });
    expect(sent.result).toMatchObject({ accepted: true, member_id: 'lead-1' });
    expect(typeof sent.result.session_id).toBe('string');
    const blocks = await call('mobkit/send_message', {
      member_id: 'lead-1',
      content: [{ type: 'text', text: 'from blocks' }],
    });
    expect(blocks.result.accepted).toBe(true);
    expect((await call('mobkit/respawn_member', { member_id: 'lead-2' })).result).toEqual({ accepted: true });
    expect((await call('mobkit/retire_member', { member_id: 'lead-2' })).result).toEqual({ accepted: true });
  });

  it('send_message failures: unknown member, blank id, not externally addressable', async () => {
    const unknown = await call('mobkit/send_message', { member_id: 'ghost', message: 'x' });
    expect(unknown.error?.message).toMatch(/^send_message failed: /);
    const blank = await call('mobkit/send_message', { member_id: '  ', message: 'x' });
    expect(blank.error?.code).toBe(-32602);
    expect(blank.error?.message).toContain('member_id');
    await call('mobkit/spawn_member', { profile: 'hidden', meerkat_id: 'hidden-1' });
    const hidden = await call('mobkit/send_message', { member_id: 'hidden-1', message: 'x' });
    expect(hidden.error?.data?.code).toBe('NotExternallyAddressable');
  });

  it('bad params are -32602 naming the parameter, before anything runs', async () => {
    const reconcile = await call('mobkit/reconcile', { modules: ['router', 7] });
    expect(reconcile.error?.code).toBe(-32602);
    expect(reconcile.error?.message).toMatch(/^Invalid params: modules\[1\]: expected string/);
    const spawn = await call('mobkit/spawn_member', {});
    expect(spawn.error).toMatchObject({
      code: -32602,
      message: 'Invalid params: module_id or (profile + meerkat_id) required',
    });
    const history = await call('mobkit/delivery/history', { limit: 500 });
    expect(history.error?.code).toBe(-32602);
    expect(history.error?.message).toContain('limit');
    const sched = await call('mobkit/scheduling/evaluate', { schedules: 'nope', tick_ms: 1 });
    expect(sched.error?.code).toBe(-32602);
    expect(sched.error?.message).toContain('schedules');
    const status = await call('mobkit/status', { unexpected: 1 });
    expect(status.error?.code).toBe(-32602);
  });

  it('routing, routes and delivery through the MCP modules', async () => {
    const resolved = await call('mobkit/routing/resolve', {
      recipient: 'user@example.com',
      channel: 'transactional',
      retry_max: 1,
      backoff_ms: 10,
    });
    expect(resolved.result).toMatchObject({
      recipient: 'user@example.com',
      channel: 'transactional',
      sink: 'email',
      target_module: 'delivery',
    });
    expect(resolved.result.route_id).toMatch(/^route-\d{6}$/);
    const sent = await call('mobkit/delivery/send', {
      resolution: resolved.result,
      payload: { text: 'hi' },
      idempotency_key: 'k-1',
    });
    expect(sent.result).toMatchObject({
      route_id: resolved.result.route_id,
      status: 'sent',
      target_module: 'delivery',
    });
    const replay = await call('mobkit/delivery/send', {
      resolution: resolved.result,
      payload: { text: 'hi' },
      idempotency_key: 'k-1',
    });
    expect(replay.result.delivery_id).toBe(sent.result.delivery_id);
    const forged = await call('mobkit/delivery/send', {
      resolution: { ...resolved.result, sink: 'webhook' },
      payload: {},
      idempotency_key: 'k-2',
    });
    expect(forged.error?.data?.code).toBe('ForgedResolution');
    const history = await call('mobkit/delivery/history', { recipient: 'user@example.com' });
    expect(history.result.deliveries).toHaveLength(1);

    const added = await call('mobkit/routing/routes/add', {
      route: { route_key: 'ops', recipient: 'ops', sink: 'webhook', target_module: 'delivery' },
    });
    expect(added.result.route).toMatchObject({ route_key: 'ops', recipient: 'ops', sink: 'webhook' });
    expect(
      (await call('mobkit/routing/routes/list')).result.routes.map((r: { route_key: string }) => r.route_key),
    ).toContain('ops');
    expect((await call('mobkit/routing/routes/delete', { route_key: 'ops' })).result.deleted.route_key).toBe('ops');
    const gone = await call('mobkit/routing/routes/delete', { route_key: 'ops' });
    expect(gone.error?.data?.code).toBe('RouteNotFound');
  });

  it('scheduling evaluate and dispatch (with an injection into a member)', async () => {
    const schedules = [{ schedule_id: 'every-minute', interval: '*/1m', timezone: 'UTC' }];
    const evaluation = await call('mobkit/scheduling/evaluate', { schedules, tick_ms: 120_000 });
    expect(evaluation.result).toMatchObject({
      tick_ms: 120_000,
      due_triggers: [{ schedule_id: 'every-minute', due_tick_ms: 120_000 }],
    });
    const dispatch = await call('mobkit/scheduling/dispatch', { schedules, tick_ms: 120_000 });
    expect(dispatch.result.dispatched).toHaveLength(1);
    expect(dispatch.result.dispatched[0]).toMatchObject({
      claim_key: 'every-minute:120000',
      runtime_injection: { member_id: 'lead-1' },
    });
    const again = await call('mobkit/scheduling/dispatch', { schedules, tick_ms: 120_000 });
    expect(again.result.dispatched).toHaveLength(0);
  });

  it('events/subscribe replays the last events and resumes from a checkpoint', async () => {
    const all = await call('mobkit/events/subscribe', {});
    expect(all.result.events.length).toBeGreaterThan(0);
    expect(all.result.events.length).toBeLessThanOrEqual(3);
    expect(all.result.keep_alive).toEqual({ interval_ms: 15_000, event: 'keep-alive' });
    // The frame ids and checkpoints are the event log's seqs (durable across restarts).
    const seqs = all.result.events.map((e: { seq: number }) => e.seq) as number[];
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(all.result.replay_from_event_id).toBe(String(seqs[0]));
    const last = String(seqs.at(-1));
    const resumed = await call('mobkit/events/subscribe', { last_event_id: last });
    expect(resumed.result.events.map((e: { seq: number }) => String(e.seq))).toEqual([last]);
    expect(resumed.result.replay_from_event_id).toBe(last);
    expect(resumed.result.event_frames[0]).toMatch(new RegExp(`^id: ${last}\\nevent: `));
    const unknown = await call('mobkit/events/subscribe', { last_event_id: 'evt-nope' });
    expect(unknown.error?.data?.code).toBe('UnknownCheckpoint');
    const agent = await call('mobkit/events/subscribe', { scope: 'agent' });
    expect(agent.error?.data?.code).toBe('MissingAgentId');
  });

  it('call_tool and the <module>/<method> proxy reach the MCP module on its kept session', async () => {
    const tool = await call('mobkit/call_tool', {
      module_id: 'router',
      tool: 'routing.resolve',
      arguments: { recipient: 'a@b.c' },
    });
    expect(tool.result).toMatchObject({
      module_id: 'router',
      tool: 'routing.resolve',
      result: { sink: 'email', target_module: 'delivery' },
    });
    const proxied = await call('router/routing.resolve', { recipient: 'a@b.c' });
    expect(proxied.result).toMatchObject({ module_id: 'router', method: 'routing.resolve' });
    const notLoaded = await call('nosuch/thing', {});
    expect(notLoaded.error).toMatchObject({ code: -32601, message: "Module 'nosuch' not loaded" });
    const unknown = await call('mobkit/nope');
    expect(unknown.error).toMatchObject({ code: -32601, message: 'Method not found: mobkit/nope' });
  });

  it('only registered names are methods: Object.prototype names are -32601, never run', async () => {
    for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'mobkit/constructor']) {
      const response = await call(method);
      expect(response.error, method).toMatchObject({ code: -32601, message: `Method not found: ${method}` });
    }
  });

  it('the registry refuses a method registered twice', () => {
    const registry = defaultRpcMethodRegistry();
    const status = registry.get('mobkit/status');
    expect(status).toBeDefined();
    expect(() => registry.register(status as RpcMethod)).toThrow(/mobkit\/status is registered twice/);
    expect(registry.names()).toEqual(rpc.methods);
  });

  it('a custom registry: a method added by a file of its own is served and advertised', async () => {
    const registry = defaultRpcMethodRegistry().register(
      rpcMethod('mobkit/echo', z.strictObject({ text: z.string() }), ({ text }) => ({ text })),
    );
    const custom = createRpcHandler(runtime, {}, registry);
    expect(custom.methods).toContain('mobkit/echo');
    const echo = (await custom.handleText(
      '{"jsonrpc":"2.0","id":1,"method":"mobkit/echo","params":{"text":"hi"}}',
    )) as {
      result: unknown;
    };
    expect(echo.result).toEqual({ text: 'hi' });
    const bad = (await custom.handleText('{"jsonrpc":"2.0","id":1,"method":"mobkit/echo","params":{"text":1}}')) as {
      error: { code: number; message: string };
    };
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.message).toContain('text');
  });

  it('framing: parse error, invalid request, notification, batch', async () => {
    expect(await rpc.handleText('{oops')).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'Parse error' },
    });
    expect(((await rpc.handleText('{"jsonrpc":"2.0","id":3}')) as { error: { code: number } }).error.code).toBe(-32600);
    expect(await rpc.handleText('{"jsonrpc":"2.0","method":"mobkit/status"}')).toBeUndefined();
    const batch = (await rpc.handleText(
      '[{"jsonrpc":"2.0","id":1,"method":"mobkit/status"},{"jsonrpc":"2.0","method":"mobkit/status"},{"jsonrpc":"2.0","id":2,"method":"mobkit/nope"}]',
    )) as Array<{ id: number }>;
    expect(batch.map((r) => r.id)).toEqual([1, 2]);
  });
});
