// Hostile params against every method `mobkit/capabilities` advertises, in process and through the
// reference app's POST /rpc over the real UnifiedRuntime: a wrong-typed params object, deep and odd
// `tick_ms`, Object.prototype names and a 10,000-level line are all client errors (-32602/-32601/-32600)
// naming the field or the limit, never -32603 and never an HTTP 500.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MobDefinition, TestClient } from '@mobkit/mob-adapter';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOffDecisionState } from '../src/app-config/decision-state.js';
import { createReferenceAppRouter } from '../src/http/router.js';
import { createRpcHandler } from '../src/rpc/handler.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const MOB_TOML = `
[mob]
id = "hostile-params-mob"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true
[profiles.lead.tools]
comms = true
`;

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers are JSON read freely by the assertions
type Json = any;

let runtime: UnifiedRuntime;
let rpc: ReturnType<typeof createRpcHandler>;
let server: Server;
let base: string;

beforeAll(async () => {
  runtime = await UnifiedRuntime.bootstrap(
    MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
    { modules: [], discovery: { namespace: 'hostile', modules: [] }, preSpawn: [] },
    10_000,
  );
  rpc = createRpcHandler(runtime);
  const app = express().use(createReferenceAppRouter(runtime, authOffDecisionState([]), { rpcHandler: rpc }));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await runtime?.shutdown();
});

async function inProcess(method: string, params: unknown): Promise<Json> {
  return rpc.handleText(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
}
async function overHttp(body: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: await response.json() };
}
const nestedArrays = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** Params whose every value has the wrong type for any method (no method takes a number for a name, or a boolean list). */
const WRONG_TYPED = {
  member_id: 42,
  module_id: 42,
  profile: 42,
  meerkat_id: 42,
  modules: 'router',
  route: 7,
  route_key: 7,
  recipient: 7,
  schedules: 'all',
  tick_ms: 'now',
  limit: 'ten',
  scope: 3,
  tool: false,
  resolution: 'x',
};

describe('bad params are -32602 on every method', () => {
  it('a wrong-typed params object is -32602 (never -32603) on every method capabilities lists', async () => {
    const capabilities = await inProcess('mobkit/capabilities', undefined);
    const methods = capabilities.result.methods as string[];
    expect(methods.length).toBeGreaterThan(10);
    for (const method of methods) {
      for (const params of [WRONG_TYPED, [[[1]]], { ...WRONG_TYPED, __proto__: { polluted: true } }]) {
        const response = await inProcess(method, params);
        expect(response.error?.code, `${method} ${JSON.stringify(params)}: ${JSON.stringify(response)}`).toBe(-32602);
        expect(response.error.message).toMatch(/^Invalid params: |: /);
      }
    }
  });

  it.each([
    ['[[[1]]]', 'tick_ms'],
    ['1e400', 'tick_ms'],
    ['"60000"', 'tick_ms'],
    ['-1', 'tick_ms'],
    ['1.5', 'tick_ms'],
    [nestedArrays(60), 'tick_ms'],
    [nestedArrays(10_000), '64 levels'],
  ])('scheduling tick_ms %#: -32602 naming the field or the limit, over HTTP too', async (tick, named) => {
    for (const method of ['mobkit/scheduling/evaluate', 'mobkit/scheduling/dispatch']) {
      const text = `{"jsonrpc":"2.0","id":1,"method":"${method}","params":{"schedules":[],"tick_ms":${tick}}}`;
      const direct = (await rpc.handleText(text)) as Json;
      expect(direct.error, `${method} ${tick.slice(0, 20)}`).toMatchObject({ code: -32602 });
      expect(direct.error.message).toContain(named);
      // Over HTTP the same answer, as JSON writes it (a non-finite number in details becomes null).
      expect(await overHttp(text)).toEqual({ status: 200, body: JSON.parse(JSON.stringify(direct)) });
    }
  });
});

describe('the reference app /rpc under hostile input', () => {
  it('a line nested 10,000 levels deep is -32602 naming the limit with HTTP 200, and the app keeps serving', async () => {
    const deep = `{"jsonrpc":"2.0","id":1,"method":"constructor","params":${nestedArrays(10_000)}}`;
    expect(await overHttp(deep)).toEqual({
      status: 200,
      body: {
        jsonrpc: '2.0',
        id: 1,
        error: {
          code: -32602,
          message: 'Invalid params: request nesting deeper than 64 levels',
          data: { code: 'RpcParamsTooDeep', details: { max_depth: 64 } },
        },
      },
    });
    const extra = `{"jsonrpc":"2.0","id":2,"method":"mobkit/status","x":${nestedArrays(10_000)}}`;
    expect((await overHttp(extra)).body.error).toMatchObject({ code: -32600, message: expect.stringContaining('64') });
    expect((await overHttp('{"jsonrpc":"2.0","id":3,"method":"mobkit/status"}')).body.result.running).toBe(true);
  });

  it('Object.prototype names are -32601, never an answer or an echo of params', async () => {
    for (const method of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const request = JSON.stringify({ jsonrpc: '2.0', id: method, method, params: { echo: 'me' } });
      expect(await overHttp(request), method).toEqual({
        status: 200,
        body: {
          jsonrpc: '2.0',
          id: method,
          error: {
            code: -32601,
            message: `Method not found: ${method}`,
            data: { code: 'RpcMethodNotFound', details: { method } },
          },
        },
      });
    }
  });
});
