// The reference app router over the REAL UnifiedRuntime (no fake): what the console and the SDKs rely
// on, served by `createReferenceAppRouter` on a loopback port. The runtime runs an embedded mob on the
// TestClient and the MCP fixture as its router module. reference-app-console-contract.test.ts runs the
// reference app's own console test mob the same way.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MobDefinition, SpawnMemberSpec, TestClient } from '@mobkit/mob-adapter';
import { MCP_FIXTURE, openSse } from '@mobkit/test-utils';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authOffDecisionState } from '../src/app-config/decision-state.js';
import { createReferenceAppRouter } from '../src/http/router.js';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const MOB_TOML = `
[mob]
id = "contract-mob"

[profiles.lead]
model = "gpt-5.2"
external_addressable = true
peer_description = "Leads"
[profiles.lead.tools]
comms = true

[profiles.hidden]
model = "gpt-5.2"
external_addressable = false
[profiles.hidden.tools]
comms = true
`;
const ROUTER = {
  id: 'router',
  command: process.execPath,
  args: [MCP_FIXTURE, '--module', 'router'],
  restartPolicy: 'never' as const,
};

let runtime: UnifiedRuntime;
let server: Server;
let base: string;

beforeAll(async () => {
  runtime = await UnifiedRuntime.bootstrap(
    MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
    {
      modules: [ROUTER],
      discovery: { namespace: 'contract', modules: ['router'] },
      preSpawn: [{ moduleId: 'router', env: [['MOBKIT_MODULE_BOUNDARY', 'mcp']] }],
    },
    10_000,
  );
  await runtime.spawnMany([
    SpawnMemberSpec.fromWire('lead', 'lead-1', undefined, undefined, { display_name: 'Lead' }),
    SpawnMemberSpec.fromWire('hidden', 'hidden-1'),
  ]);
  const app = express().use(createReferenceAppRouter(runtime, authOffDecisionState([ROUTER])));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await runtime?.shutdown();
});

async function rpc(
  method: string,
  params?: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const response = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
}

describe('reference app contract over the real runtime', () => {
  it('GET /healthz is ok', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
  });

  it('console JSON: modules in configured order, the experience lists the roster', async () => {
    expect(await (await fetch(`${base}/console/modules`)).json()).toEqual({
      contract_version: '0.2.0',
      modules: ['router'],
    });
    const experience = (await (await fetch(`${base}/console/experience`)).json()) as {
      agent_sidebar: { live_snapshot: { agents: Array<{ agent_id: string }> } };
    };
    expect(experience.agent_sidebar.live_snapshot.agents.map((a) => a.agent_id)).toEqual(['hidden-1', 'lead-1']);
  });

  it('POST /rpc mobkit/status and mobkit/list_members (an ARRAY of snake_case snapshots)', async () => {
    expect((await rpc('mobkit/status')).result).toMatchObject({
      contract_version: '0.2.0',
      running: true,
      loaded_modules: ['router'],
      mob_state: 'Running',
    });
    const members = (await rpc('mobkit/list_members')).result;
    expect(Array.isArray(members)).toBe(true);
    expect(members).toEqual([
      { meerkat_id: 'hidden-1', profile: 'hidden', state: 'active', wired_to: [], session_id: expect.any(String) },
      {
        meerkat_id: 'lead-1',
        profile: 'lead',
        state: 'active',
        wired_to: [],
        session_id: expect.any(String),
        labels: { display_name: 'Lead' },
      },
    ]);
  });

  it('send_message over /rpc drives agent events onto SSE /mob/events; a hidden member is refused', async () => {
    const stream = await openSse(`${base}/mob/events`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const sent = await rpc('mobkit/send_message', { member_id: 'lead-1', message: 'hello' });
      expect(sent.result).toMatchObject({ accepted: true, member_id: 'lead-1', session_id: expect.any(String) });
      const completed = await stream.next((e) => e.event === 'run_completed');
      expect(completed.id).toMatch(/^[1-9]\d*$/);
      expect(JSON.parse(completed.data)).toMatchObject({
        member_id: 'lead-1',
        source: 'agent',
        payload: { type: 'run_completed' },
        timestamp_ms: expect.any(Number),
      });
    } finally {
      stream.close();
    }
    const hidden = await rpc('mobkit/send_message', { member_id: 'hidden-1', message: 'x' });
    expect(hidden.error?.message).toMatch(/^send_message failed: /);
  });

  it('unknown methods are -32601 over HTTP too, and notifications get 204', async () => {
    expect((await rpc('mobkit/teleport')).error).toMatchObject({ code: -32601 });
    const notification = await fetch(`${base}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'mobkit/status' }),
    });
    expect(notification.status).toBe(204);
  });

  it('the router streams close when the runtime shuts down', async () => {
    const local = await UnifiedRuntime.bootstrap(
      MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: new TestClient() }),
      { modules: [], discovery: { namespace: 'contract', modules: [] }, preSpawn: [] },
      5_000,
    );
    const app = express().use(createReferenceAppRouter(local, authOffDecisionState([])));
    const localServer = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(localServer.address() as AddressInfo).port}/mob/events`;
      const stream = await openSse(url);
      expect(stream.status).toBe(200);
      await local.shutdown();
      await expect(stream.next(() => false, 5_000)).rejects.toThrow(/the stream ended/);
    } finally {
      localServer.closeAllConnections();
      await new Promise((resolve) => localServer.close(resolve));
    }
  });
});

it('authOffDecisionState: console auth off, the given modules as the trust manifest', () => {
  const state = authOffDecisionState([ROUTER]);
  expect(state.console.requireAppAuth).toBe(false);
  expect(state.modules.map((m) => m.id)).toEqual(['router']);
  expect(authOffDecisionState([]).modules).toEqual([]);
});
