// HTTP tests over a real socket, console auth OFF: every route of the router against a real embedded mob
// (TestClient replies "pong") and a real module runtime (one `sh` JSON-line module). The console asset
// test needs `dist/console/console-app.js`: the root `npm test` builds every package first; locally run
// `npx tsup` in this package (or `nx run @mobkit/reference-app:build`) before it.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MobKitError } from '@mobkit/core';
import {
  type ConsoleExperienceWire,
  EXPERIENCE_REQUIRED_FIELDS,
  type HttpErrorBody,
  type ReferenceAppRuntimeSurface,
  buildReferenceAppRouter,
} from '../src/index.js';
import {
  PROBE_UNKNOWN_METHOD,
  type ProbeAnswer,
  SseReader,
  type TestApp,
  decisionState,
  rpcProbe,
  startTestApp,
} from './helpers.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ router: { maxRpcBodyBytes: 4096, maxInteractionBodyBytes: 2048 } });
});
afterAll(async () => {
  await app?.close();
});

/** Fetches `path` and parses its JSON body as `T` (what the test asserts it to be). */
async function json<T = HttpErrorBody>(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${app.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? (undefined as T) : (JSON.parse(text) as T), headers: res.headers };
}

const experience = () => json<ConsoleExperienceWire>('/console/experience');

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

function openSse(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${app.url}${path}`, { headers: { accept: 'text/event-stream', ...headers }, signal });
}

describe('health and console page', () => {
  it('GET /healthz answers ok as text', async () => {
    const res = await fetch(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('ok');
  });

  it.each(['/console', '/console/'])('GET %s serves the console HTML, not cached', async (path) => {
    const res = await fetch(`${app.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('data-testid="meerkat-console"');
    expect(html).toContain('<script src="/console/assets/console-app.js"></script>');
    expect(html).toContain('data-require-auth="false"');
  });

  it('GET /console/assets/console-app.js serves the bundled Preact app; unknown or traversing names are 404 JSON', async () => {
    const res = await fetch(`${app.url}/console/assets/console-app.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const js = await res.text();
    expect(js.length).toBeGreaterThan(5000);
    expect(js).toContain('/interactions/stream');
    expect(js).toContain('mobkit.console.token');
    for (const bad of ['/console/assets/missing.js', '/console/assets/..%2Fpackage.json', '/console/assets/.hidden']) {
      const r = await json(bad);
      expect(r.status, bad).toBe(404);
      expect(r.body, bad).toMatchObject({ error: 'not_found' });
    }
  });
});

describe('console JSON contracts', () => {
  it('GET /console/experience has every v0.2.0 field and a live agent snapshot honouring the labels', async () => {
    const { status, body, headers } = await experience();
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    for (const field of EXPERIENCE_REQUIRED_FIELDS) expect(body, field).toHaveProperty(field);
    expect(body.contract_version).toBe('0.2.0');
    expect(body.runtime_id).toBe('console-test-mob');
    expect(body.runtime_capabilities).toMatchObject({
      can_spawn_members: true,
      can_send_messages: true,
      available_spawn_modes: ['module', 'profile'],
    });
    expect(body.runtime_capabilities.profile_capabilities.worker).toEqual({
      instance_count: 2,
      addressable: false,
      has_wiring: true,
    });
    expect(body.runtime_capabilities.profile_capabilities.lead).toEqual({
      instance_count: 1,
      addressable: true,
      has_wiring: true,
    });
    expect(body.base_panel).toMatchObject({ panel_id: 'console.home', title: 'Mob Console' });
    expect(body.module_panels).toEqual([
      {
        panel_id: 'module.beacon',
        module_id: 'beacon',
        title: 'beacon module',
        route: '/console/modules/beacon',
        capabilities: { can_render: true, can_subscribe_activity: true },
      },
    ]);
    expect(body.agent_sidebar).toMatchObject({
      title: 'Agents',
      source_method: 'mobkit/list_members',
      refresh_policy: { mode: 'pull', poll_interval_ms: 5000 },
    });
    const agents = body.agent_sidebar.live_snapshot.agents;
    expect(agents.map((a) => a.agent_id)).toEqual(['auditor-1', 'lead-1', 'worker-1', 'worker-2']);
    const byId = Object.fromEntries(agents.map((a) => [a.agent_id, a]));
    // display_name → label; singleton "true" → cannot retire
    expect(byId['lead-1']).toMatchObject({
      label: 'Team Lead',
      kind: 'mob_agent',
      profile: 'lead',
      state: 'active',
      group: 'lead',
      addressable: true,
    });
    expect(byId['lead-1']?.affordances).toEqual({
      addressable: true,
      can_send_message: true,
      can_retire: false,
      can_respawn: true,
      runtime_mode: 'mob_agent',
    });
    expect(byId['lead-1']?.wired_to).toEqual(['auditor-1', 'worker-1', 'worker-2']);
    // group label
    expect(byId['worker-1']).toMatchObject({
      label: 'worker-1',
      group: 'crew',
      addressable: true,
      wired_to: ['lead-1'],
    });
    expect(byId['worker-1']?.affordances.can_retire).toBe(true);
    // addressable "false" hides send
    expect(byId['worker-2']).toMatchObject({ group: 'worker', addressable: false, labels: { addressable: 'false' } });
    expect(byId['worker-2']?.affordances.can_send_message).toBe(false);
    // a profile that is not external_addressable is not addressable either
    expect(byId['auditor-1']).toMatchObject({ addressable: false });
    expect(body.activity_feed).toMatchObject({
      transport: 'sse',
      source_method: 'mobkit/events/subscribe',
      default_scope: 'mob',
      event_contract: { event_type_path: 'event.event_type' },
    });
    expect(body.activity_feed.keep_alive).toMatchObject({ interval_ms: 15000, comment: 'keep-alive' });
    expect(body.chat_inspector).toMatchObject({
      send_method: 'mobkit/send_message',
      observe_route: '/interactions/stream',
      transport: 'rpc+sse',
    });
    expect(body.topology).toMatchObject({
      source_method: 'mobkit/status',
      route_method: 'mobkit/routing/routes/list',
      live_snapshot: { nodes: ['beacon'], node_count: 1 },
    });
    expect(body.health_overview.live_snapshot).toEqual({
      running: true,
      loaded_modules: ['beacon'],
      loaded_module_count: 1,
      modules: [{ module_id: 'beacon', trusted: true, loaded: true, state: 'Healthy', attempt: 1 }],
    });
    expect(body.flows).toMatchObject({
      evaluate_method: 'mobkit/scheduling/evaluate',
      dispatch_method: 'mobkit/scheduling/dispatch',
    });
    expect(body.session_history).toMatchObject({ source_method: 'mobkit/read_session_history', available: true });
  });

  it('the agent snapshot is live: a member spawned now shows up, a retired one leaves', async () => {
    await app.mob.spawn({ profile: 'worker', meerkatId: 'worker-3', labels: { display_name: 'Third' } });
    let { body } = await experience();
    const third = body.agent_sidebar.live_snapshot.agents.find((a) => a.agent_id === 'worker-3');
    expect(third).toMatchObject({ label: 'Third', wired_to: ['lead-1'] });
    expect(body.runtime_capabilities.profile_capabilities.worker?.instance_count).toBe(3);
    await app.mob.retire('worker-3');
    ({ body } = await experience());
    expect(body.agent_sidebar.live_snapshot.agents.map((a) => a.agent_id)).not.toContain('worker-3');
  });

  it('GET /console/modules lists exactly the trusted module ids', async () => {
    const { status, body } = await json<{ contract_version: string; modules: string[] }>('/console/modules');
    expect(status).toBe(200);
    expect(body).toEqual({ contract_version: '0.2.0', modules: ['beacon'] });
  });

  it('other methods or paths under /console are 404 {"error":"not_found"}', async () => {
    for (const [method, path] of [
      ['POST', '/console/experience'],
      ['DELETE', '/console/modules'],
      ['GET', '/console/nothing-here'],
      ['GET', '/rpc'],
      ['POST', '/healthz'],
    ] as const) {
      const r = await json(path, { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body, `${method} ${path}`).toEqual({ error: 'not_found' });
    }
  });
});

describe('SSE routes', () => {
  it('GET /mob/events streams every member’s events with ids mob:<seq> and {member_id, source, payload}', async () => {
    const controller = new AbortController();
    const res = await openSse('/mob/events', {}, controller.signal);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const sse = new SseReader(res);
    await sse.until(() => sse.comments.includes('connected'), 5000, 'connected comment');
    await app.mob.sendMessage('worker-1', 'hello worker');
    const done = await sse.frame((f) => f.event === 'run_completed');
    const ours = sse.frames.filter((f) => JSON.parse(f.data).member_id === 'worker-1');
    expect(ours.map((f) => f.event)).toContain('run_started');
    expect(ours.map((f) => f.event)).toContain('text_delta');
    for (const f of sse.frames) expect(f.id).toMatch(/^mob:\d+$/);
    const seqs = sse.frames.map((f) => Number(f.id?.slice(4)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const data = JSON.parse(done.data);
    expect(data).toMatchObject({
      member_id: 'worker-1',
      source: 'agent',
      payload: { type: 'run_completed', result: 'pong' },
    });
    expect(typeof data.timestamp_ms).toBe('number');
    const started = JSON.parse((ours.find((f) => f.event === 'run_started') as { data: string }).data);
    expect(started.payload).toMatchObject({ type: 'run_started', prompt: 'hello worker' });
    expect(typeof started.payload.session_id).toBe('string');
    controller.abort();
  });

  it('GET /agents/:id/events streams only that member, ids <agent>:<seq>, data the AgentEvent JSON', async () => {
    const controller = new AbortController();
    const res = await openSse('/agents/worker-1/events', {}, controller.signal);
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    await sse.until(() => sse.comments.includes('connected'));
    await app.mob.sendMessage('lead-1', 'not for worker-1');
    await app.mob.sendMessage('worker-1', 'for worker-1');
    await sse.frame((f) => f.event === 'run_completed');
    expect(sse.frames.length).toBeGreaterThan(2);
    for (const f of sse.frames) {
      expect(f.id).toMatch(/^worker-1:\d+$/);
      expect(JSON.parse(f.data).type).toBe(f.event);
    }
    expect(JSON.parse((sse.frames.find((f) => f.event === 'run_started') as { data: string }).data).prompt).toBe(
      'for worker-1',
    );
    controller.abort();
  });

  it('GET /agents/:id/events: unknown member 404 member_not_found, blank id 400', async () => {
    const unknown = await json('/agents/nobody/events');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'member_not_found' });
    const blank = await json('/agents/%20/events');
    expect(blank.status).toBe(400);
    expect(blank.body).toMatchObject({ error: 'invalid_agent_id' });
  });
});

describe('POST /interactions/stream', () => {
  it('with a message: subscribed frame, the member’s reply, closed after run_completed', async () => {
    const res = await post('/interactions/stream', { member_id: 'lead-1', message: 'ping from the chat box' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sse = new SseReader(res);
    await sse.end();
    expect(sse.frames[0]).toEqual({
      event: 'subscribed',
      data: JSON.stringify({ type: 'subscribed', member_id: 'lead-1' }),
    });
    const events = sse.frames.map((f) => f.event);
    expect(events).toContain('message_accepted');
    expect(events).toContain('run_started');
    expect(events.at(-1)).toBe('run_completed');
    const text = sse.frames
      .filter((f) => f.event === 'text_delta')
      .map((f) => JSON.parse(f.data).delta)
      .join('');
    expect(text).toBe('pong');
    for (const f of sse.frames.filter((x) => x.id !== undefined)) expect(f.id).toMatch(/^lead-1:\d+$/);
  });

  it('observe only: closes after the terminal event of a run started elsewhere', async () => {
    const res = await post('/interactions/stream', { member_id: 'worker-1' });
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    await sse.frame((f) => f.event === 'subscribed');
    expect(typeof (await app.mob.sendMessage('worker-1', 'from elsewhere'))).toBe('string');
    await sse.end();
    expect(sse.frames.at(-1)?.event).toBe('run_completed');
    expect(sse.frames.map((f) => f.event)).not.toContain('message_accepted');
    const started = sse.frames.find((f) => f.event === 'run_started');
    expect(JSON.parse(started?.data ?? '{}').prompt).toBe('from elsewhere');
  });

  it('refuses blank (400), malformed (400), unknown (404) and not externally addressable (403) members', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ member_id: '   ' }, 400, 'invalid_member_id'],
      [{}, 400, 'invalid_member_id'],
      [{ member_id: 'lead-1', message: '' }, 400, 'invalid_message'],
      ['{not json', 400, 'invalid_json'],
      [{ member_id: 'ghost' }, 404, 'member_not_found'],
      [{ member_id: 'auditor-1', message: 'hi' }, 403, 'not_externally_addressable'],
    ];
    for (const [body, status, error] of cases) {
      const res = await post('/interactions/stream', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      const parsed = (await res.json()) as HttpErrorBody;
      expect(parsed.error).toBe(error);
      expect(JSON.stringify(parsed)).not.toMatch(/\n\s+at /);
    }
    const big = await post('/interactions/stream', { member_id: 'lead-1', message: 'x'.repeat(4096) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'payload_too_large' });
  });
});

describe('POST /rpc', () => {
  it.each(['/rpc', '/console/rpc'])(
    '%s hands a request, a batch and notifications to the rpcHandler as sent: 200 JSON, 204 when nothing answers',
    async (path) => {
      app.rpc.calls.length = 0;
      const single = await post(path, { jsonrpc: '2.0', id: 1, method: 'mobkit/status', params: { verbose: true } });
      expect(single.status).toBe(200);
      expect(single.headers.get('content-type')).toMatch(/^application\/json/);
      expect(single.headers.get('cache-control')).toBe('no-store');
      expect(await single.json()).toEqual({
        jsonrpc: '2.0',
        id: 1,
        result: { echo: { method: 'mobkit/status', params: { verbose: true } } },
      });

      const batch = await post(path, [
        { jsonrpc: '2.0', id: 'a', method: 'mobkit/list_members' },
        { jsonrpc: '2.0', method: 'mobkit/status' },
        { jsonrpc: '2.0', id: 'b', method: PROBE_UNKNOWN_METHOD },
      ]);
      expect(batch.status).toBe(200);
      const answers = (await batch.json()) as ProbeAnswer[];
      expect(answers).toHaveLength(2);
      expect(answers[0]).toEqual({
        jsonrpc: '2.0',
        id: 'a',
        result: { echo: { method: 'mobkit/list_members', params: null } },
      });
      expect(answers[1]).toMatchObject({ id: 'b', error: { code: -32601 } });

      const note = await post(path, { jsonrpc: '2.0', method: 'mobkit/status' });
      expect(note.status).toBe(204);
      expect(await note.text()).toBe('');
      // Every request reached the handler once, in order, the notifications included.
      expect(app.rpc.calls.map((c) => [c.id, c.method])).toEqual([
        [1, 'mobkit/status'],
        ['a', 'mobkit/list_members'],
        [undefined, 'mobkit/status'],
        ['b', PROBE_UNKNOWN_METHOD],
        [undefined, 'mobkit/status'],
      ]);

      const broken = await post(path, '{"jsonrpc":');
      expect(broken.status).toBe(200);
      expect(await broken.json()).toMatchObject({ id: null, error: { code: -32700 } });
    },
  );

  it('a body over the limit is 413 {"error":"payload_too_large"}', async () => {
    const res = await post('/rpc', {
      jsonrpc: '2.0',
      id: 1,
      method: 'mobkit/status',
      params: { pad: 'x'.repeat(8192) },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'payload_too_large',
      message: 'the request body is larger than this route accepts',
    });
  });
});

describe('rpcWithoutAuth: read-only', () => {
  it('lets read-only methods through and refuses a request with a mutating one (403, -32600)', async () => {
    const ro = await startTestApp({ withModule: false, router: { rpcWithoutAuth: 'read-only' } });
    try {
      const ok = await fetch(`${ro.url}/console/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'mobkit/status' },
          { jsonrpc: '2.0', id: 2, method: 'mobkit/list_members' },
        ]),
      });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as ProbeAnswer[]).map((r) => r.id)).toEqual([1, 2]);
      expect(ro.rpc.calls.map((c) => c.method)).toEqual(['mobkit/status', 'mobkit/list_members']);
      const refused = await fetch(`${ro.url}/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { jsonrpc: '2.0', id: 1, method: 'mobkit/status' },
          { jsonrpc: '2.0', id: 2, method: 'mobkit/send_message', params: { member_id: 'lead-1', message: 'x' } },
          { jsonrpc: '2.0', id: 3, method: 'mobkit/send_message', params: { member_id: 'lead-1', message: 'y' } },
        ]),
      });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(await refused.json()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message: 'mutating RPC methods require console auth to be configured',
          data: { methods: ['mobkit/send_message'] },
        },
      });
      // Refused whole: not even the read-only part of the batch reached the handler.
      expect(ro.rpc.calls).toHaveLength(2);
      expect(ro.mob.history('lead-1')).toEqual([]);
    } finally {
      await ro.close();
    }
  });
});

describe('a runtime without a mob', () => {
  it('serves the module-only contract; agent streams are 422 unsupported', async () => {
    const noMob: ReferenceAppRuntimeSurface = { ...app.surface, mobId: () => undefined };
    const server = express()
      .use(buildReferenceAppRouter(noMob, decisionState(false), { rpcHandler: rpcProbe() }))
      .listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const exp = (await (await fetch(`${base}/console/experience`)).json()) as ConsoleExperienceWire;
      expect(exp.runtime_id).toBeNull();
      expect(exp.agent_sidebar.live_snapshot.agents.map((a) => a.kind)).toEqual(['module_agent']);
      for (const [method, path, body] of [
        ['GET', '/mob/events', undefined],
        ['GET', '/agents/lead-1/events', undefined],
        ['POST', '/interactions/stream', '{"member_id":"lead-1"}'],
      ] as const) {
        const res = await fetch(`${base}${path}`, {
          method,
          body,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
        });
        expect(res.status, path).toBe(422);
        expect(((await res.json()) as HttpErrorBody).error).toBe('unsupported');
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('errors', () => {
  it('a failing runtime gives 500 {"error":"internal"} with no stack; a MobKitError keeps its code and status', async () => {
    const failing: ReferenceAppRuntimeSurface = {
      ...app.surface,
      listMembers: () => Promise.reject(new Error('secret internal detail')),
      getMember: () => Promise.reject(new MobKitError('RuntimeShuttingDown', 'the runtime is shutting down')),
    };
    const server = express()
      .use(buildReferenceAppRouter(failing, decisionState(false), { rpcHandler: rpcProbe() }))
      .listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/console/experience`);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: 'internal' });
      expect(text).not.toContain('secret internal detail');
      const busy = await fetch(`${base}/agents/lead-1/events`);
      expect(busy.status).toBe(503);
      expect(await busy.json()).toEqual({ error: 'runtime_shutting_down' });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
