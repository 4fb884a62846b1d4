// The member API is reachable through every transport: `/rpc` and `/console/rpc` of the reference app
// router (createReferenceAppRouter on a loopback server over a real runtime) — with the console's
// read-only rule letting the read methods through and refusing the mutating ones — and the stdio
// gateway (the built executable: `npx nx run mobkit:build` first).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConsoleApp, post, startConsoleApp } from './console-app.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON-RPC answers are JSON read freely by the assertions
type Json = any;

const READ_ONLY = [
  'mobkit/member_status',
  'mobkit/member_current_session_id',
  'mobkit/member_session_ref',
  'mobkit/read_session_history',
  'mobkit/collect_completed',
];

let apps: ConsoleApp[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

async function rpcOver(url: string, body: unknown): Promise<{ status: number; body: Json }> {
  const response = await post(url, body);
  return { status: response.status, body: await response.json() };
}

describe('the member API over the reference app router', () => {
  it('/rpc serves every member API method (a send, then status, session, history, labels, a helper, purge)', async () => {
    const app = await startConsoleApp({ withModule: false });
    apps.push(app);
    await app.runtime.sendMessage('worker-1', 'ping');
    await app.mob.waitForIdle(10_000);
    const rpc = `${app.url}/rpc`;
    const call = async (method: string, params?: unknown) =>
      (await rpcOver(rpc, { jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) })).body;

    const status = await call('mobkit/member_status', { member_id: 'worker-1' });
    expect(status.result).toMatchObject({ member_id: 'worker-1', status: 'active', output_preview: 'pong' });
    const session = await call('mobkit/member_current_session_id', { member_id: 'worker-1' });
    expect(session.result.session_id).toBe(status.result.current_session_id);
    const history = await call('mobkit/read_session_history', { session_id: session.result.session_id, limit: 1 });
    expect(history.result).toMatchObject({ message_count: 2, limit: 1, has_more: true });
    expect(history.result.messages).toEqual([expect.objectContaining({ role: 'user', content: 'ping' })]);
    const badLimit = await call('mobkit/read_session_history', { session_id: session.result.session_id, limit: 0 });
    expect(badLimit.error).toMatchObject({ code: -32602, message: 'Invalid params: limit must be a positive integer' });
    expect((await call('mobkit/mob_labels/set', { labels: { env: 'test' } })).result).toEqual({ accepted: true });
    expect((await call('mobkit/mob_labels/get')).result).toEqual({ labels: { env: 'test' } });
    const helper = await call('mobkit/spawn_helper', {
      agent_identity: 'helper-1',
      task: 'say pong',
      options: { role: 'worker' },
    });
    expect(helper.result).toMatchObject({ output: 'pong', member_id: 'helper-1' });
    const purged = await call('mobkit/purge_member', { member_id: 'worker-2' });
    expect(purged.result).toMatchObject({ member_id: 'worker-2' });
    expect((await call('mobkit/member_status', { member_id: 'worker-2' })).error).toMatchObject({
      code: -32602,
      data: { code: 'MemberNotFound' },
    });
  });

  it("rpcWithoutAuth 'read-only': the read methods pass /console/rpc and /rpc; a batch with a mutating one is 403 and never runs", async () => {
    const app = await startConsoleApp({ withModule: false, router: { rpcWithoutAuth: 'read-only' } });
    apps.push(app);
    const sessionId = (await app.runtime.getMember('lead-1'))?.sessionId as string;
    const params: Record<string, unknown> = {
      'mobkit/member_status': { member_id: 'lead-1' },
      'mobkit/member_current_session_id': { member_id: 'lead-1' },
      'mobkit/member_session_ref': { member_id: 'lead-1' },
      'mobkit/read_session_history': { session_id: sessionId },
    };
    const batch = READ_ONLY.map((method, i) => ({
      jsonrpc: '2.0',
      id: i + 1,
      method,
      ...(params[method] === undefined ? {} : { params: params[method] }),
    }));
    for (const path of ['/console/rpc', '/rpc']) {
      const ok = await rpcOver(`${app.url}${path}`, batch);
      expect(ok.status).toBe(200);
      const answers = ok.body as Json[];
      expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4, 5]);
      for (const answer of answers) expect(answer.error, JSON.stringify(answer)).toBeUndefined();
      expect(answers[1].result).toEqual({ member_id: 'lead-1', session_id: sessionId });
      expect(answers[3].result).toMatchObject({ session_id: sessionId, message_count: 0, messages: [] });
    }
    for (const [method, p] of [
      ['mobkit/spawn_helper', { agent_identity: 'h-1', task: 'x', options: { role: 'worker' } }],
      ['mobkit/purge_member', { member_id: 'worker-1' }],
      ['mobkit/mob_labels/set', { labels: { a: 'b' } }],
      ['mobkit/force_cancel_member', { member_id: 'worker-1' }],
      ['mobkit/attach_existing_session', { role: 'worker', agent_identity: 'w-9', session_id: sessionId }],
    ] as const) {
      const refused = await rpcOver(`${app.url}/console/rpc`, [
        { jsonrpc: '2.0', id: 1, method: 'mobkit/member_status', params: { member_id: 'lead-1' } },
        { jsonrpc: '2.0', id: 2, method, params: p },
      ]);
      expect(refused.status, method).toBe(403);
      expect(refused.body.error).toMatchObject({ code: -32600, data: { methods: [method] } });
    }
    expect((await app.runtime.listMembers()).map((m) => m.meerkatId)).toEqual([
      'auditor-1',
      'lead-1',
      'worker-1',
      'worker-2',
    ]);
  });
});

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', 'dist', 'bin', 'mobkit.js');
const GATEWAY_MOB = `
[mob]
id = "gateway-member-api"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('the member API over the stdio gateway', () => {
  it('answers the member API line by line after mobkit/init', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MOBKIT_LLM: 'test' };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [BIN, 'gateway', '--persistent'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const answers = new Map<unknown, (line: Json) => void>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as Json;
      answers.get(answer.id)?.(answer);
    });
    let next = 0;
    const call = (method: string, params?: unknown): Promise<Json> => {
      next += 1;
      const id = next;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no answer to ${method} within 15 s; stderr: ${stderr}`)),
          15_000,
        );
        answers.set(id, (answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        child.stdin.write(
          `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
        );
      });
    };
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    expect((await call('mobkit/init', { mob_config: GATEWAY_MOB })).result).toBeDefined();
    expect((await call('mobkit/spawn_member', { profile: 'worker', meerkat_id: 'w-1' })).result).toEqual({
      accepted: true,
      meerkat_id: 'w-1',
    });
    await call('mobkit/send_message', { member_id: 'w-1', message: 'hello' });
    const ready = await call('mobkit/wait_ready', { timeout_ms: 10_000, member_ids: ['w-1'] });
    expect(ready.result).toMatchObject({ timeout: false, ready: [{ member_id: 'w-1' }] });
    const status = await call('mobkit/member_status', { member_id: 'w-1' });
    expect(status.result).toMatchObject({ member_id: 'w-1', status: 'active', output_preview: 'ok' });
    const history = await call('mobkit/read_session_history', { session_id: status.result.current_session_id });
    expect(history.result).toMatchObject({ message_count: 2, has_more: false });
    expect((await call('mobkit/read_session_history', { session_id: 's', limit: -1 })).error).toMatchObject({
      code: -32602,
      message: 'Invalid params: limit must be a positive integer',
    });
    expect((await call('mobkit/mob_labels/set', { labels: { a: 'b' } })).result).toEqual({ accepted: true });
    expect((await call('mobkit/mob_labels/get')).result).toEqual({ labels: { a: 'b' } });
    const caps = (await call('mobkit/capabilities')).result;
    expect(caps.methods).toEqual(expect.arrayContaining(['mobkit/purge_member', 'mobkit/read_session_history']));
    expect(caps.runtime_capabilities.member_api).toContain('mobkit/member_status');
    expect((await call('mobkit/purge_member', { member_id: 'w-1' })).result).toMatchObject({
      member_id: 'w-1',
      sessions: 1,
      messages: 2,
    });

    child.stdin.end();
    expect(await exit).toBe(0);
  }, 60_000);
});
