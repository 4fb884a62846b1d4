// The `mobkit` CLI and its persistent stdio gateway, run as the built executable (dist/bin/mobkit.js)
// in child processes, with the MCP fixture as modules. `npm test` builds every package first; to
// run this file alone: `npx nx run mobkit:build` then `npx vitest run test/gateway.test.ts`.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openSse } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, '..', 'dist', 'bin', 'mobkit.js');
const FIXTURE = join(here, '..', '..', '..', 'fixtures', 'mcp-fixture.mjs');
const childEnv = () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MOBKIT_LLM: 'test' };
  delete env.FORCE_COLOR;
  return env;
};

const MOB_TOML = `
[mob]
id = "gateway-mob"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
`;

interface Gateway {
  child: ChildProcessWithoutNullStreams;
  send(value: unknown): void;
  sendRaw(line: string): void;
  // biome-ignore lint/suspicious/noExplicitAny: gateway answers are JSON read freely by the assertions
  next(): Promise<any>;
  exit: Promise<number | null>;
  stderr: () => string;
}

const started: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function startGateway(): Gateway {
  const child = spawn(process.execPath, [BIN, 'gateway', '--persistent'], {
    env: childEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    send: (value) => child.stdin.write(`${JSON.stringify(value)}\n`),
    sendRaw: (line) => child.stdin.write(`${line}\n`),
    next: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no gateway line within 15 s; stderr: ${stderr}`)), 15_000);
        const take = (line: string) => {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        };
        const queued = queue.shift();
        if (queued !== undefined) take(queued);
        else waiters.push(take);
      }),
    exit,
    stderr: () => stderr,
  };
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process went away while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0) !== 'Z';
  } catch {
    return false;
  }
}

const fixtureModule = (id: string) => ({
  id,
  command: process.execPath,
  args: [FIXTURE, '--module', id],
  restart_policy: 'never',
});

describe('mobkit gateway --persistent', () => {
  it('boots from mobkit/init, answers requests line by line and over HTTP, and shuts down with no process left', async () => {
    const gw = startGateway();
    gw.send({
      jsonrpc: '2.0',
      id: 'init',
      method: 'mobkit/init',
      params: {
        mob_config: MOB_TOML,
        modules: [fixtureModule('router'), fixtureModule('delivery')],
        pre_spawn: [
          { module_id: 'router', env: [['MOBKIT_MODULE_BOUNDARY', 'mcp']] },
          { module_id: 'delivery', env: [['MOBKIT_MODULE_BOUNDARY', 'mcp']] },
        ],
      },
    });
    const init = await gw.next();
    expect(init.id).toBe('init');
    expect(init.result).toMatchObject({
      loaded_modules: ['delivery', 'router'],
      contract_version: '0.2.0',
      runtime_origin: 'workspace_config',
    });
    expect(init.result.http_base_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(init.result.runtime_fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(gw.stderr()).toContain('LLM: TestClient (MOBKIT_LLM=test)');
    const moduleProcesses = descendants(gw.child.pid as number);
    expect(moduleProcesses.length).toBeGreaterThanOrEqual(2);

    gw.send({ jsonrpc: '2.0', id: 1, method: 'mobkit/status' });
    expect((await gw.next()).result).toMatchObject({
      running: true,
      loaded_modules: ['delivery', 'router'],
      http_base_url: init.result.http_base_url,
    });
    gw.send({ jsonrpc: '2.0', id: 2, method: 'mobkit/spawn_member', params: { profile: 'worker', meerkat_id: 'w-1' } });
    expect((await gw.next()).result).toEqual({ accepted: true, meerkat_id: 'w-1' });
    gw.send({
      jsonrpc: '2.0',
      method: 'mobkit/send_message',
      params: { member_id: 'w-1', message: 'a notification gets no answer' },
    });
    gw.sendRaw('{"jsonrpc":"2.0","id":3,');
    expect(await gw.next()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    gw.send({ jsonrpc: '2.0', id: 4 });
    expect((await gw.next()).error.code).toBe(-32600);
    gw.send({ jsonrpc: '2.0', id: 5, method: 'mobkit/teleport' });
    expect((await gw.next()).error).toMatchObject({ code: -32601, message: 'Method not found: mobkit/teleport' });
    gw.send({ jsonrpc: '2.0', id: 6, method: 'mobkit/get_member', params: { member_id: 42 } });
    const bad = await gw.next();
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.message).toContain('member_id');
    gw.send({ jsonrpc: '2.0', id: 7, method: 'mobkit/send_message', params: { member_id: 'w-1', message: 'hello' } });
    const sent = await gw.next();
    expect(sent.id).toBe(7);
    expect(sent.result).toMatchObject({ accepted: true, member_id: 'w-1' });

    const health = await fetch(`${init.result.http_base_url}/healthz`);
    expect(await health.text()).toBe('ok');
    const overHttp = await fetch(`${init.result.http_base_url}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ jsonrpc: '2.0', id: 'h1', method: 'mobkit/list_members' }]),
    });
    const batch = (await overHttp.json()) as Array<{ id: string; result: Array<{ meerkat_id: string }> }>;
    expect(batch[0]?.result.map((m) => m.meerkat_id)).toEqual(['w-1']);

    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
    for (const pid of moduleProcesses) expect(alive(pid), `module process ${pid}`).toBe(false);
  }, 60_000);

  it('http_base_url serves the reference app router: SSE /mob/events carries the agent events of a send', async () => {
    const gw = startGateway();
    gw.send({ jsonrpc: '2.0', id: 'init', method: 'mobkit/init', params: { mob_config: MOB_TOML } });
    const base = (await gw.next()).result.http_base_url as string;
    gw.send({ jsonrpc: '2.0', id: 1, method: 'mobkit/spawn_member', params: { profile: 'worker', meerkat_id: 'w-1' } });
    expect((await gw.next()).result).toEqual({ accepted: true, meerkat_id: 'w-1' });

    // What the original Python SDK's subscribe_mob() reads (a 404 before the gateway served the router).
    const stream = await openSse(`${base}/mob/events`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      const modules = (await (await fetch(`${base}/console/modules`)).json()) as { modules: string[] };
      expect(modules.modules).toEqual([]);

      gw.send({ jsonrpc: '2.0', id: 2, method: 'mobkit/send_message', params: { member_id: 'w-1', message: 'hello' } });
      expect((await gw.next()).result).toMatchObject({ accepted: true, member_id: 'w-1' });
      const started = await stream.next((e) => e.event === 'run_started');
      expect(started.id).toMatch(/^[1-9]\d*$/);
      expect(JSON.parse(started.data)).toMatchObject({ member_id: 'w-1', source: 'agent' });
      const completed = await stream.next((e) => e.event === 'run_completed');
      expect(JSON.parse(completed.data)).toMatchObject({ member_id: 'w-1', payload: { type: 'run_completed' } });

      // The same run through mobkit/query_events on stdio: the log's seqs are the stream's ids.
      gw.send({
        jsonrpc: '2.0',
        id: 3,
        method: 'mobkit/query_events',
        params: { member_id: 'w-1', event_types: ['run_started', 'run_completed'] },
      });
      const logged = (await gw.next()).result as Array<{
        seq: number;
        member_id: string;
        event: Record<string, unknown>;
      }>;
      expect(logged.map((e) => String(e.seq))).toEqual([started.id, completed.id]);
      expect(logged[1]).toMatchObject({ member_id: 'w-1', event: { kind: 'agent', event_type: 'run_completed' } });
      gw.send({ jsonrpc: '2.0', id: 4, method: 'mobkit/query_events', params: { limit: 5000, member: 'w-1' } });
      const refused = await gw.next();
      expect(refused.error.code).toBe(-32602);
      expect(refused.error.message).toMatch(/limit|member/);
    } finally {
      stream.close();
    }
    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
  }, 60_000);

  it('without mob_config it runs the minimal fallback mob', async () => {
    const gw = startGateway();
    gw.send({ jsonrpc: '2.0', id: 1, method: 'mobkit/init', params: {} });
    const init = await gw.next();
    expect(init.result).toMatchObject({ runtime_origin: 'fallback_minimal', loaded_modules: [] });
    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
  });

  it.each([
    [
      'a first line that is not mobkit/init',
      { jsonrpc: '2.0', id: 1, method: 'mobkit/status' },
      -32600,
      'Expected mobkit/init',
    ],
    [
      'a mob_config that is not valid TOML',
      { jsonrpc: '2.0', id: 1, method: 'mobkit/init', params: { mob_config: '[mob\nid = 1' } },
      -32602,
      'line 1',
    ],
    [
      'a module config with a bad restart policy',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'mobkit/init',
        params: { modules: [{ id: 'x', command: 'x', args: [], restart_policy: 'sometimes' }] },
      },
      -32602,
      'modules[0].restart_policy',
    ],
  ])('refuses %s and exits 1', async (_name, init, code, text) => {
    const gw = startGateway();
    gw.send(init);
    const response = await gw.next();
    expect(response.error.code).toBe(code);
    expect(response.error.message).toContain(text);
    expect(await gw.exit).toBe(1);
  });

  it('a module that cannot start is not loaded, but the gateway runs and reports the warning', async () => {
    const gw = startGateway();
    gw.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'mobkit/init',
      params: {
        modules: [{ id: 'broken', command: 'sh', args: ['-c', 'echo boom >&2; exit 3'], restart_policy: 'never' }],
      },
    });
    const init = await gw.next();
    expect(init.result.loaded_modules).toEqual([]);
    gw.send({ jsonrpc: '2.0', id: 2, method: 'mobkit/events/subscribe', params: {} });
    const events = (await gw.next()).result.events as Array<{
      event: { module?: string; event_type: string; payload?: { error?: string } };
    }>;
    const warning = events.find((e) => e.event.module === 'broken' && e.event.event_type === 'supervisor.warning');
    expect(warning?.event.payload?.error).toContain('boom');
    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
  });

  it('answers a first line that is not JSON with -32700 and exits 1', async () => {
    const gw = startGateway();
    gw.sendRaw('mobkit/init please');
    expect(await gw.next()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    expect(await gw.exit).toBe(1);
  });
});

/** The names on `Object.prototype` a method lookup must never reach. */
const PROTOTYPE_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'] as const;
const nestedArrays = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

async function postRpc(base: string, body: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, body: await response.json() };
}
// biome-ignore lint/suspicious/noExplicitAny: gateway answers are JSON read freely by the assertions
type Json = any;

describe('mobkit gateway --persistent: hostile input', () => {
  it('a line nested 10,000 levels deep is -32602 naming the limit on stdio and over HTTP, and the gateway keeps serving', async () => {
    const gw = startGateway();
    gw.send({ jsonrpc: '2.0', id: 'init', method: 'mobkit/init', params: {} });
    const base = (await gw.next()).result.http_base_url as string;
    const deep = `{"jsonrpc":"2.0","id":1,"method":"constructor","params":${nestedArrays(10_000)}}`;
    const tooDeep = {
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32602,
        message: 'Invalid params: request nesting deeper than 64 levels',
        data: { code: 'RpcParamsTooDeep', details: { max_depth: 64 } },
      },
    };
    gw.sendRaw(deep);
    expect(await gw.next()).toEqual(tooDeep);
    gw.sendRaw(`{"jsonrpc":"2.0","id":2,"method":"mobkit/status","extra":${nestedArrays(10_000)}}`);
    expect((await gw.next()).error).toMatchObject({
      code: -32600,
      message: 'Invalid Request: request nesting deeper than 64 levels',
    });
    gw.sendRaw(
      `{"jsonrpc":"2.0","id":3,"method":"mobkit/scheduling/evaluate","params":{"schedules":[],"tick_ms":${nestedArrays(10_000)}}}`,
    );
    expect((await gw.next()).error).toMatchObject({ code: -32602, message: expect.stringContaining('64 levels') });
    gw.send({ jsonrpc: '2.0', id: 4, method: 'mobkit/status' });
    expect(await gw.next()).toMatchObject({ id: 4, result: { running: true } });

    expect(await postRpc(base, deep)).toEqual({ status: 200, body: tooDeep });
    expect(await postRpc(base, `[${deep},{"jsonrpc":"2.0","id":5,"method":"mobkit/status"}]`)).toMatchObject({
      status: 200,
      body: [tooDeep, { id: 5, result: { running: true } }],
    });
    expect((await postRpc(base, '{"jsonrpc":"2.0","id":6,"method":"mobkit/status"}')).body.result.running).toBe(true);
    gw.send({ jsonrpc: '2.0', id: 7, method: 'mobkit/status' });
    expect(await gw.next()).toMatchObject({ id: 7, result: { running: true } });

    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
    expect(gw.stderr()).not.toContain('Maximum call stack');
  }, 60_000);

  it('a line over the byte limit is -32600 naming the limit, and the next line is answered', async () => {
    const gw = startGateway();
    gw.send({ jsonrpc: '2.0', id: 'init', method: 'mobkit/init', params: {} });
    await gw.next();
    gw.send({ jsonrpc: '2.0', id: 1, method: 'mobkit/status', params: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    expect(await gw.next()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: 'Invalid Request: message larger than 1048576 bytes',
        data: { code: 'RpcMessageTooLarge', details: { max_bytes: 1048576 } },
      },
    });
    gw.send({ jsonrpc: '2.0', id: 2, method: 'mobkit/status' });
    expect(await gw.next()).toMatchObject({ id: 2, result: { running: true } });
    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
  }, 60_000);

  it('Object.prototype names are -32601 on stdio and over HTTP, params echoed nowhere', async () => {
    const gw = startGateway();
    gw.send({ jsonrpc: '2.0', id: 'init', method: 'mobkit/init', params: {} });
    const base = (await gw.next()).result.http_base_url as string;
    for (const method of [...PROTOTYPE_NAMES, 'mobkit/init']) {
      const request = { jsonrpc: '2.0', id: method, method, params: { echo: 'me' } };
      const expected = {
        jsonrpc: '2.0',
        id: method,
        error: {
          code: -32601,
          message: `Method not found: ${method}`,
          data: { code: 'RpcMethodNotFound', details: { method } },
        },
      };
      gw.send(request);
      expect(await gw.next(), `stdio ${method}`).toEqual(expected);
      expect(await postRpc(base, JSON.stringify(request)), `HTTP ${method}`).toEqual({ status: 200, body: expected });
    }
    gw.child.stdin.end();
    expect(await gw.exit).toBe(0);
  }, 60_000);

  it('a first line that is too deep, or names an Object.prototype method, is refused and the gateway exits 1', async () => {
    const deepInit = startGateway();
    deepInit.sendRaw(
      `{"jsonrpc":"2.0","id":"init","method":"mobkit/init","params":{"modules":${nestedArrays(10_000)}}}`,
    );
    expect(await deepInit.next()).toMatchObject({
      id: 'init',
      error: { code: -32602, message: 'Invalid params: request nesting deeper than 64 levels' },
    });
    expect(await deepInit.exit).toBe(1);
    const proto = startGateway();
    proto.send({ jsonrpc: '2.0', id: 'init', method: 'constructor', params: {} });
    expect(await proto.next()).toMatchObject({ id: 'init', error: { code: -32600 } });
    expect(await proto.exit).toBe(1);
  }, 60_000);
});

describe('mobkit CLI', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { env: childEnv(), encoding: 'utf8', timeout: 20_000 });

  it('prints help and the version', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('mobkit gateway --persistent');
    expect(help.stdout).toContain('mobkit validate');
    expect(run(['validate', '--help']).stdout).toContain('exits 1 if any file has a problem');
    expect(run(['--version']).stdout).toMatch(/^mobkit \d+\.\d+\.\d+ \(contract 0\.2\.0\)/);
    const unknown = run(['fly']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "fly"');
    expect(run(['gateway']).status).toBe(2);
  });

  it('validate: ok files pass; every problem is printed with file, line and key; exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-validate-'));
    try {
      const good = join(dir, 'mob.toml');
      writeFileSync(good, MOB_TOML);
      const trust = join(dir, 'mobkit.toml');
      writeFileSync(trust, '[[modules]]\nid = "router"\ncommand = "mobkit-router"\n');
      const ok = run(['validate', good, trust]);
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain(`${good}: ok (mob)`);
      expect(ok.stdout).toContain(`${trust}: ok (mobkit)`);

      const badMob = join(dir, 'bad-mob.toml');
      writeFileSync(
        badMob,
        '[mob]\nid = "m"\n\n[profiles.lead]\nexternal_addressable = true\n\n[profiles.lead.tools]\ncomms = true\n',
      );
      const badTrust = join(dir, 'bad-mobkit.toml');
      writeFileSync(badTrust, '[[modules]]\nid = "router"\ncommand = "r"\n\n[[modules]]\nid = "delivery"\n');
      const badSyntax = join(dir, 'schedules.toml');
      writeFileSync(badSyntax, '[[schedules]]\nschedule_id = "a"\ninterval = \n');
      const result = run(['validate', badMob, badTrust, badSyntax]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`${badMob.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: .*profiles\\.lead\\.model`),
      );
      expect(result.stderr).toMatch(
        new RegExp(`${badTrust.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5: .*modules\\[1\\]\\.command`),
      );
      expect(result.stderr).toMatch(
        new RegExp(`${badSyntax.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: .*\\[InvalidToml\\]`),
      );
      expect(result.stderr).toContain('3 problems found');

      const badDelivery = join(dir, 'delivery.toml');
      writeFileSync(badDelivery, '[sinks.carrier]\ntype = "pigeon"\n');
      const delivery = run(['validate', badDelivery]);
      expect(delivery.status).toBe(1);
      expect(delivery.stderr).toMatch(/delivery\.toml:2: .*sinks\.carrier\.type: expected one of .*"pigeon"/);

      const typoKit = join(dir, 'typo', 'mobkit.toml');
      mkdirSync(dirname(typoKit));
      writeFileSync(typoKit, '[[modules]]\nid = "router"\ncommand = "r"\n\n[runtime]\nstartup_timeout = 1\n');
      const typo = run(['validate', typoKit]);
      expect(typo.status).toBe(1);
      expect(typo.stderr).toMatch(
        /typo\/mobkit\.toml:6: .*runtime\.startup_timeout: unknown key; allowed: startup_timeout_ms, drain_timeout_ms/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
