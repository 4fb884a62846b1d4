// The reference app router over the REAL UnifiedRuntime, on the reference app's own console test mob
// (fixtures/mob/console.toml: lead-1 "Team Lead", worker-1, worker-2, auditor-1 not externally
// addressable) with the `beacon` module: what the reference app's tests check only through a transport
// probe (the JSON-RPC routes, read-only RPC without auth, RPC with auth, interactions, the console JSON
// and SSE payloads), here against the real methods and the real runtime surface.
import { openSse, signConsoleTestToken } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleApp, post, readToEnd, startConsoleApp } from './console-app.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read freely by the assertions
type Json = any;

describe.each(['/rpc', '/console/rpc'])('%s over the real runtime (console test mob, beacon module)', (path) => {
  let app: ConsoleApp;
  beforeAll(async () => {
    app = await startConsoleApp();
  }, 30_000);
  afterAll(async () => {
    await app?.close();
  });

  it('a request: 200 JSON with the status of the running runtime', async () => {
    const single = await post(`${app.url}${path}`, { jsonrpc: '2.0', id: 1, method: 'mobkit/status' });
    expect(single.status).toBe(200);
    expect(single.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await single.json()) as Json;
    expect(Object.keys(body).sort()).toEqual(['id', 'jsonrpc', 'result']);
    expect(body).toMatchObject({
      jsonrpc: '2.0',
      id: 1,
      result: { contract_version: '0.2.0', running: true, loaded_modules: ['beacon'] },
    });
  });

  it('a batch: one answer per request with an id (the notification gets none); list_members is an ARRAY', async () => {
    const batch = await post(`${app.url}${path}`, [
      { jsonrpc: '2.0', id: 'a', method: 'mobkit/list_members' },
      { jsonrpc: '2.0', method: 'mobkit/status' },
      { jsonrpc: '2.0', id: 'b', method: 'mobkit/nope' },
    ]);
    expect(batch.status).toBe(200);
    const answers = (await batch.json()) as Json[];
    expect(answers).toHaveLength(2);
    expect(answers[0].id).toBe('a');
    expect(Array.isArray(answers[0].result)).toBe(true);
    expect(answers[0].result.map((m: Json) => m.meerkat_id)).toEqual(['auditor-1', 'lead-1', 'worker-1', 'worker-2']);
    expect(answers[1]).toMatchObject({ jsonrpc: '2.0', id: 'b', error: { code: -32601 } });
  });

  it('a lone notification is 204 with an empty body; a truncated body is a -32700 answer', async () => {
    const note = await post(`${app.url}${path}`, { jsonrpc: '2.0', method: 'mobkit/status' });
    expect(note.status).toBe(204);
    expect(await note.text()).toBe('');
    const broken = await post(`${app.url}${path}`, '{"jsonrpc":');
    expect(broken.status).toBe(200);
    expect(await broken.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });
});

describe('the console over the real runtime (console test mob, beacon module)', () => {
  let app: ConsoleApp;
  beforeAll(async () => {
    app = await startConsoleApp();
  }, 30_000);
  afterAll(async () => {
    await app?.close();
  });

  it('observe-only interaction: a send over /rpc ends the stream at its run_completed, with no message_accepted', async () => {
    const stream = await openSse(`${app.url}/interactions/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ member_id: 'worker-1' }),
    });
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    expect((await stream.next()).event).toBe('subscribed');
    const sent = await post(`${app.url}/rpc`, {
      jsonrpc: '2.0',
      id: 7,
      method: 'mobkit/send_message',
      params: { member_id: 'worker-1', message: 'via rpc' },
    });
    const answer = (await sent.json()) as Json;
    expect(answer.id).toBe(7);
    expect(answer.result.session_id).toEqual(expect.any(String));
    const events = await readToEnd(stream);
    expect(events.at(-1)?.event).toBe('run_completed');
    expect(events.map((e) => e.event)).not.toContain('message_accepted');
    expect(events.map((e) => e.event)).toContain('run_started');
  });

  it('GET /console/experience: the roster with its labels, addressability and wiring', async () => {
    const response = await fetch(`${app.url}/console/experience`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Json;
    expect(body.runtime_id).toBe('console-test-mob');
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
    const agents = body.agent_sidebar.live_snapshot.agents as Json[];
    expect(agents.map((a) => a.agent_id)).toEqual(['auditor-1', 'lead-1', 'worker-1', 'worker-2']);
    const byId = Object.fromEntries(agents.map((a) => [a.agent_id, a]));
    expect(byId['lead-1']).toMatchObject({
      label: 'Team Lead',
      kind: 'mob_agent',
      profile: 'lead',
      state: 'active',
      group: 'lead',
      addressable: true,
      wired_to: ['auditor-1', 'worker-1', 'worker-2'],
    });
    expect(byId['lead-1'].affordances).toEqual({
      addressable: true,
      can_send_message: true,
      can_retire: false,
      can_respawn: true,
      runtime_mode: 'mob_agent',
    });
    expect(byId['worker-1']).toMatchObject({
      label: 'worker-1',
      group: 'crew',
      addressable: true,
      wired_to: ['lead-1'],
    });
    expect(byId['worker-1'].affordances.can_retire).toBe(true);
    expect(byId['worker-2']).toMatchObject({ group: 'worker', addressable: false, labels: { addressable: 'false' } });
    expect(byId['worker-2'].affordances.can_send_message).toBe(false);
    expect(byId['auditor-1']).toMatchObject({ addressable: false });
    expect(body.health_overview.live_snapshot).toMatchObject({ running: true, loaded_modules: ['beacon'] });
  });

  it('GET /mob/events carries a send as snake_case agent events: run_started with session_id and prompt', async () => {
    const stream = await openSse(`${app.url}/mob/events`);
    try {
      expect(stream.status).toBe(200);
      await app.runtime.sendMessage('worker-1', 'hello worker');
      const started = await stream.next((e) => e.event === 'run_started' && e.data.includes('hello worker'));
      expect(started.id).toMatch(/^[1-9]\d*$/);
      const startedData = JSON.parse(started.data) as Json;
      expect(startedData).toMatchObject({
        member_id: 'worker-1',
        source: 'agent',
        payload: { type: 'run_started', prompt: 'hello worker' },
      });
      expect(typeof startedData.payload.session_id).toBe('string');
      expect(startedData.payload).not.toHaveProperty('sessionId');
      const done = JSON.parse((await stream.next((e) => e.event === 'run_completed')).data) as Json;
      expect(done).toMatchObject({
        member_id: 'worker-1',
        payload: { type: 'run_completed', result: 'pong', session_id: startedData.payload.session_id },
      });
      expect(done.payload.usage).toEqual({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
    } finally {
      stream.close();
    }
  });
});

describe("rpcWithoutAuth: 'read-only' with console auth off, over the real runtime", () => {
  it('lets read-only methods through with their real results; a request holding a send is 403 and never runs', async () => {
    const app = await startConsoleApp({ withModule: false, router: { rpcWithoutAuth: 'read-only' } });
    try {
      const ok = await post(`${app.url}/console/rpc`, [
        { jsonrpc: '2.0', id: 1, method: 'mobkit/status' },
        { jsonrpc: '2.0', id: 2, method: 'mobkit/list_members' },
      ]);
      expect(ok.status).toBe(200);
      const answers = (await ok.json()) as Json[];
      expect(answers.map((r) => r.id)).toEqual([1, 2]);
      expect(answers[0].result).toMatchObject({ contract_version: '0.2.0', running: true, loaded_modules: [] });
      expect(answers[1].result.map((m: Json) => m.meerkat_id)).toEqual(['auditor-1', 'lead-1', 'worker-1', 'worker-2']);

      const refused = await post(`${app.url}/rpc`, [
        { jsonrpc: '2.0', id: 1, method: 'mobkit/status' },
        { jsonrpc: '2.0', id: 2, method: 'mobkit/send_message', params: { member_id: 'lead-1', message: 'x' } },
      ]);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message: 'mutating RPC methods require console auth to be configured',
          data: { methods: ['mobkit/send_message'] },
        },
      });
      await app.mob.waitForIdle(5_000);
      expect(app.mob.history('lead-1')).toEqual([]);
      expect(app.runtime.moduleEvents().some((e) => e.event.kind === 'agent' && e.event.agentId === 'lead-1')).toBe(
        false,
      );
    } finally {
      await app.close();
    }
  });
});

describe('console auth on, over the real runtime', () => {
  let app: ConsoleApp;
  let shellGuarded: ConsoleApp;
  const bearer = () => ({ authorization: `Bearer ${signConsoleTestToken()}` });
  beforeAll(async () => {
    app = await startConsoleApp({ requireAppAuth: true });
    shellGuarded = await startConsoleApp({
      requireAppAuth: true,
      withModule: false,
      router: { guardConsoleShell: true, rpcWithoutAuth: 'read-only' },
    });
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await shellGuarded?.close();
  });

  it.each(['/rpc', '/console/rpc'])(
    '%s answers a Bearer-authenticated batch, and refuses no token (401)',
    async (path) => {
      const request = [{ jsonrpc: '2.0', id: 1, method: 'mobkit/status' }];
      const answered = await post(`${app.url}${path}`, request, bearer());
      expect(answered.status).toBe(200);
      expect(((await answered.json()) as Json[])[0].result.running).toBe(true);
      expect((await post(`${app.url}${path}`, request)).status).toBe(401);
    },
  );

  it('with guardConsoleShell and rpcWithoutAuth read-only, an authenticated send_message runs', async () => {
    const sent = await post(
      `${shellGuarded.url}/rpc`,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'mobkit/send_message',
        params: { member_id: 'lead-1', message: 'mutating, with a token' },
      },
      bearer(),
    );
    expect(sent.status).toBe(200);
    expect(((await sent.json()) as Json).result.session_id).toEqual(expect.any(String));
    await shellGuarded.mob.waitForIdle(5_000);
    expect(JSON.stringify(shellGuarded.mob.history('lead-1'))).toContain('mutating, with a token');
  });
});
