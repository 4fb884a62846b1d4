import { type ChildProcess, spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath, waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { MobRuntimeError } from '../src/errors.js';
import type { McpServerConfig } from '../src/tools/mcp/config.js';
import { McpHub, type McpHubEvent, type McpHubOptions } from '../src/tools/mcp/hub.js';
import { rejection } from './helpers.js';

const STDIO_SERVER = fixturePath('mcp-tools', 'stdio-server.mjs');
const HTTP_SERVER = fixturePath('mcp-tools', 'http-server.mjs');
const LONG = 30_000;
/** The literal placeholder `${name}` (as a user writes it in a config). */
const ref = (name: string): string => `\${${name}}`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-hub-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stdio fixture server whose spawns are logged to `spawnLog`. */
function stdio(id: string, spawnLog: string, env: Record<string, string> = {}): McpServerConfig {
  return { id, command: process.execPath, args: [STDIO_SERVER], env: { MCP_TOOLS_SPAWN_LOG: spawnLog, ...env } };
}

function spawned(spawnLog: string): number[] {
  let text = '';
  try {
    text = readFileSync(spawnLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function hub(servers: McpServerConfig[], options: McpHubOptions = {}): { hub: McpHub; events: McpHubEvent[] } {
  const events: McpHubEvent[] = [];
  const h = new McpHub(servers, { restartBaseMs: 50, ...options, onEvent: (e) => events.push(e) });
  cleanups.push(() => h.close());
  return { hub: h, events };
}

const call = (h: McpHub, id: string, tool: string, args: Record<string, unknown> = {}, timeoutMs = LONG) =>
  h.callTool(id, tool, args, { signal: new AbortController().signal, timeoutMs });

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Polls the fixture's `last_cancelled` tool until the server recorded a cancellation (10 s guard). */
async function lastCancelled(h: McpHub, id: string): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const recorded = JSON.parse((await call(h, id, 'last_cancelled')).content) as Record<string, unknown> | null;
    if (recorded !== null) return recorded;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`server "${id}" recorded no cancellation within 10 s`);
}

/** Starts the HTTP fixture and resolves its port once it printed `LISTENING <port>`. */
async function startHttp(env: Record<string, string> = {}): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [HTTP_SERVER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /LISTENING (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`http fixture exited (${code}) before listening`)));
  });
  return { port, child };
}

describe('McpHub over stdio', () => {
  it('lists tools (read-only hint, schemas) and calls them; results map text, other blocks, structured content and isError', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h, events } = hub([stdio('fs', log)]);
    expect(h.servers()).toEqual(['fs']);
    const tools = await h.listTools('fs');
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining(['echo', 'add', 'slow', 'crash', 'register_tool', 'last_cancelled', 'hang']),
    );
    expect(byName.get('echo')?.readOnly).toBe(true);
    expect(byName.get('add')?.readOnly).toBe(false);
    expect(byName.get('add')?.description).toBe('Adds two numbers.');
    expect(byName.get('add')?.inputSchema).toMatchObject({ type: 'object', required: ['a', 'b'] });

    expect(await call(h, 'fs', 'add', { a: 2, b: 3 })).toEqual({ content: '5', isError: false });
    expect(await call(h, 'fs', 'echo', { text: 'hello' })).toEqual({ content: 'hello', isError: false });
    expect(await call(h, 'fs', 'fail', { message: 'nope' })).toEqual({ content: 'nope', isError: true });
    expect(await call(h, 'fs', 'structured')).toEqual({ content: '{"answer":42}', isError: false });
    const image = await call(h, 'fs', 'image');
    const [first, second] = image.content.split('\n');
    expect(first).toBe('an image:');
    expect(JSON.parse(second ?? '')).toMatchObject({ type: 'image', mimeType: 'image/png' });
    // An unknown tool is the server's isError answer, not a broken session.
    expect(await call(h, 'fs', 'no_such_tool')).toMatchObject({ isError: true });
    expect(spawned(log)).toHaveLength(1);
    expect(events.filter((e) => e.type === 'connected')).toEqual([
      { type: 'connected', server: 'fs', transport: 'stdio', pid: spawned(log)[0] },
    ]);
  });

  it('follows tools/list pagination', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h } = hub([stdio('paged', log, { MCP_TOOLS_PAGE_SIZE: '2' })]);
    const names = (await h.listTools('paged')).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'add', 'slow', 'crash', 'hang', 'env_var', 'structured']));
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(4);
  });

  it('an unknown server id is refused naming it and the known ids', async () => {
    const { hub: h } = hub([stdio('fs', join(tempDir(), 'spawns')), stdio('git', join(tempDir(), 'spawns'))]);
    for (const attempt of [h.listTools('nope'), call(h, 'nope', 'echo')]) {
      const error = await rejection(attempt);
      expect(error.code).toBe('InvalidInput');
      expect(error.message).toBe('unknown MCP server "nope"; known servers: fs, git');
    }
  });

  it('keeps one session for many concurrent first calls (one spawn)', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h } = hub([stdio('fs', log)]);
    const results = await Promise.all([
      h.listTools('fs'),
      ...Array.from({ length: 20 }, (_, i) => call(h, 'fs', 'echo', { text: `m${i}` })),
      h.listTools('fs'),
    ]);
    expect(results.slice(1, 21)).toEqual(Array.from({ length: 20 }, (_, i) => ({ content: `m${i}`, isError: false })));
    expect(await call(h, 'fs', 'add', { a: 1, b: 1 })).toEqual({ content: '2', isError: false });
    expect(spawned(log)).toHaveLength(1);
  });

  it('refreshes the tool list on notifications/tools/list_changed and tells listeners', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h, events } = hub([stdio('fs', log)]);
    expect((await h.listTools('fs')).map((t) => t.name)).not.toContain('fresh');
    const changed: string[] = [];
    const unsubscribe = h.onToolsChanged((id) => changed.push(id));
    expect(await call(h, 'fs', 'register_tool', { name: 'fresh' })).toEqual({
      content: 'registered fresh',
      isError: false,
    });
    await waitFor('the tools-changed listener', () => changed.length > 0, 10_000);
    expect(changed).toEqual(['fs']);
    const fresh = (await h.listTools('fs')).find((t) => t.name === 'fresh');
    expect(fresh).toMatchObject({ name: 'fresh', description: '', readOnly: false });
    expect(await call(h, 'fs', 'fresh')).toEqual({ content: 'fresh called', isError: false });
    expect(events.find((e) => e.type === 'tools_changed')).toMatchObject({
      server: 'fs',
      tools: expect.arrayContaining(['fresh']),
    });
    unsubscribe();
    await call(h, 'fs', 'register_tool', { name: 'fresher' });
    await waitFor('the second refresh', () => events.filter((e) => e.type === 'tools_changed').length === 2, 10_000);
    expect(changed).toEqual(['fs']);
    expect(spawned(log)).toHaveLength(1);
  });

  it('a server that dies mid-call fails every call in flight naming it, is restarted with backoff, and the next call works', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h, events } = hub([stdio('fs', log)], { restartBaseMs: 100 });
    await h.listTools('fs');
    const slow = errorOf(call(h, 'fs', 'slow', { ms: LONG }));
    const crash = await errorOf(call(h, 'fs', 'crash'));
    expect(crash.message).toMatch(/^MCP server "fs" exited \(code 1\) during tools\/call crash; it is being restarted/);
    expect(crash.message).toContain('mcp-tools: crash requested');
    expect((await slow).message).toMatch(
      /^MCP server "fs" exited \(code 1\) during tools\/call slow; it is being restarted/,
    );
    // This call arrives while the server is down: it waits for the restart.
    expect(events.filter((e) => e.type === 'connected')).toHaveLength(1);
    expect(await call(h, 'fs', 'add', { a: 20, b: 22 })).toEqual({ content: '42', isError: false });
    expect(spawned(log)).toHaveLength(2);
    expect(events.find((e) => e.type === 'exited')).toEqual({
      type: 'exited',
      server: 'fs',
      code: 1,
      signal: null,
      stderrTail: 'mcp-tools: crash requested',
    });
    expect(events.filter((e) => e.type === 'restarting')).toEqual([
      { type: 'restarting', server: 'fs', attempt: 1, delayMs: 100 },
    ]);
    // A second death soon after: the backoff doubles.
    await errorOf(call(h, 'fs', 'crash'));
    expect(await call(h, 'fs', 'echo', { text: 'back' })).toEqual({ content: 'back', isError: false });
    expect(events.filter((e) => e.type === 'restarting').map((e) => (e.type === 'restarting' ? e.delayMs : 0))).toEqual(
      [100, 200],
    );
    expect(spawned(log)).toHaveLength(3);
    expect(spawned(log).slice(0, 2).some(alive)).toBe(false);
  });

  it('after a restart the tool list is relisted; listeners hear that runtime-registered tools are gone', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h } = hub([stdio('fs', log)]);
    const changed: string[] = [];
    h.onToolsChanged((id) => changed.push(id));
    await h.listTools('fs');
    await call(h, 'fs', 'register_tool', { name: 'temp' });
    await waitFor('the list_changed listener', () => changed.length === 1, 10_000);
    expect((await h.listTools('fs')).map((t) => t.name)).toContain('temp');
    await errorOf(call(h, 'fs', 'crash'));
    expect(await call(h, 'fs', 'echo', { text: 'up' })).toEqual({ content: 'up', isError: false });
    await waitFor('the listener after the restart', () => changed.length === 2, 10_000);
    expect(changed).toEqual(['fs', 'fs']);
    const names = (await h.listTools('fs')).map((t) => t.name);
    expect(names).not.toContain('temp');
    expect(names).toContain('echo');
    expect(spawned(log)).toHaveLength(2);
  });

  it('a call to a tool that never answers fails with a timeout naming the server; the timeout cancels the request', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h } = hub([stdio('fs', log)]);
    await h.listTools('fs');
    const hang = await rejection(call(h, 'fs', 'hang', {}, 300));
    expect(hang.code).toBe('MobTimeout');
    expect(hang.message).toBe('MCP server "fs" did not answer tools/call hang within 300 ms');
    const slow = await rejection(call(h, 'fs', 'slow', { ms: LONG }, 300));
    expect(slow.code).toBe('MobTimeout');
    expect(await lastCancelled(h, 'fs')).toMatchObject({ tool: 'slow', ms: LONG });
    expect(await call(h, 'fs', 'add', { a: 1, b: 2 })).toEqual({ content: '3', isError: false });
    expect(spawned(log)).toHaveLength(1);
  });

  it('aborting the signal sends notifications/cancelled, which the server sees', async () => {
    const dir = tempDir();
    const cancelLog = join(dir, 'cancelled');
    const { hub: h } = hub([stdio('fs', join(dir, 'spawns'), { MCP_TOOLS_CANCEL_LOG: cancelLog })]);
    await h.listTools('fs');
    expect(await call(h, 'fs', 'last_cancelled')).toEqual({ content: 'null', isError: false });
    const controller = new AbortController();
    const pending = h.callTool('fs', 'slow', { ms: LONG }, { signal: controller.signal, timeoutMs: LONG });
    setTimeout(() => controller.abort(new Error('run cancelled')), 50);
    const error = await rejection(pending);
    expect(error.code).toBe('RunCancelled');
    expect(error.message).toBe('MCP server "fs": tools/call slow was cancelled');
    const recorded = await lastCancelled(h, 'fs');
    expect(recorded).toMatchObject({ tool: 'slow', reason: expect.stringContaining('run cancelled') });
    expect(JSON.parse(readFileSync(cancelLog, 'utf8').trim())).toEqual(recorded);
    // A run's signal is shared by many calls: no call leaves a listener on it.
    const run = new AbortController();
    for (let i = 0; i < 15; i += 1)
      await h.callTool('fs', 'echo', { text: `${i}` }, { signal: run.signal, timeoutMs: LONG });
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    // A signal already aborted sends nothing and fails at once.
    const done = new AbortController();
    done.abort();
    expect(
      (await rejection(h.callTool('fs', 'echo', { text: 'x' }, { signal: done.signal, timeoutMs: LONG }))).code,
    ).toBe('RunCancelled');
  });

  it('close() ends every session and child process (also a busy one and one still starting); it is idempotent', async () => {
    const dir = tempDir();
    const log = join(dir, 'spawns');
    const { hub: h } = hub([stdio('a', log), stdio('b', log), stdio('c', log)]);
    await h.listTools('a');
    await h.listTools('b');
    const busy = errorOf(call(h, 'b', 'hang'));
    const starting = errorOf(call(h, 'c', 'echo', { text: 'x' }));
    await waitFor('both sessions', () => spawned(log).length >= 2);
    const closing = h.close();
    expect(h.close()).toBe(closing);
    await closing;
    expect((await busy).message).toContain('MCP server "b"');
    expect((await starting).message).toContain('MCP server "c"');
    const pids = spawned(log);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.filter(alive)).toEqual([]);
    await h.close();
    expect((await errorOf(call(h, 'a', 'echo', { text: 'x' }))).message).toBe(
      'MCP server "a": the MCP hub was closed (during connect)',
    );
  });

  it('a command that cannot be started is an error naming the server and command; the next call tries again', async () => {
    const { hub: h, events } = hub([{ id: 'ghost', command: join(tempDir(), 'no-such-binary') }]);
    for (let i = 0; i < 2; i += 1) {
      const error = await errorOf(call(h, 'ghost', 'echo'));
      expect(error).toBeInstanceOf(MobRuntimeError);
      expect(error.message).toMatch(
        /^MCP server "ghost" \(command ".*no-such-binary"\) could not be started: .*ENOENT/,
      );
    }
    expect(events.filter((e) => e.type === 'restarting')).toEqual([]);
  });

  it('expands variables in env values from options.env, which stdio servers also inherit', async () => {
    const log = join(tempDir(), 'spawns');
    const { hub: h } = hub([stdio('fs', log, { GREETING: `hello ${ref('WHO')}!` })], {
      env: { WHO: 'mob', INHERITED: 'from the mob' },
    });
    expect(await call(h, 'fs', 'env_var', { name: 'GREETING' })).toEqual({ content: 'hello mob!', isError: false });
    expect(await call(h, 'fs', 'env_var', { name: 'INHERITED' })).toEqual({ content: 'from the mob', isError: false });
    expect(await call(h, 'fs', 'env_var', { name: 'WHO' })).toEqual({ content: 'mob', isError: false });
  });

  it('an unset variable or a bad server config is a DEFINITION_ERROR naming server, key and variable', () => {
    const attempt = (servers: McpServerConfig[]) => {
      try {
        new McpHub(servers, { env: {} });
      } catch (error) {
        expect(error).toBeInstanceOf(MobRuntimeError);
        expect((error as MobRuntimeError).mobCode).toBe('DEFINITION_ERROR');
        return (error as Error).message;
      }
      throw new Error('expected the hub to refuse the config');
    };
    expect(attempt([{ id: 'fs', command: 'node', env: { TOKEN: `x-${ref('API_TOKEN')}` } }])).toBe(
      `MCP server "fs": env.TOKEN uses ${ref('API_TOKEN')}, which is not set in the environment; set API_TOKEN or change env.TOKEN`,
    );
    expect(
      attempt([{ id: 'web', url: 'http://127.0.0.1:1/mcp', headers: { Authorization: `Bearer ${ref('KEY')}` } }]),
    ).toContain(`MCP server "web": headers.Authorization uses ${ref('KEY')}`);
    expect(attempt([{ id: 'x' }])).toBe('MCP server "x" needs exactly one of command (stdio) or url (streamable HTTP)');
    expect(
      attempt([
        { id: 'x', command: 'a' },
        { id: 'x', command: 'b' },
      ]),
    ).toContain('MCP server "x" is declared twice');
  });
});

describe('McpHub over streamable HTTP', () => {
  it('lists and calls tools with configured (expanded) headers, and follows list_changed', async () => {
    const { port } = await startHttp({ MCP_TOOLS_BEARER: 's3cret' });
    const url = `http://127.0.0.1:${port}/mcp`;
    const { hub: h, events } = hub([{ id: 'web', url, headers: { Authorization: `Bearer ${ref('TOKEN')}` } }], {
      env: { TOKEN: 's3cret' },
    });
    const tools = await h.listTools('web');
    expect(tools.find((t) => t.name === 'echo')).toMatchObject({ readOnly: true });
    expect(tools.find((t) => t.name === 'add')?.inputSchema).toMatchObject({ required: ['a', 'b'] });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(h, 'web', 'add', { a: i, b: 1 })));
    expect(answers.map((a) => a.content)).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 1)));
    expect(events.filter((e) => e.type === 'connected')).toEqual([
      { type: 'connected', server: 'web', transport: 'streamable_http' },
    ]);
    const changed: string[] = [];
    h.onToolsChanged((id) => changed.push(id));
    await call(h, 'web', 'register_tool', { name: 'late' });
    await waitFor('the tools-changed listener', () => changed.length > 0, 10_000);
    expect((await h.listTools('web')).map((t) => t.name)).toContain('late');
    expect(await call(h, 'web', 'late')).toEqual({ content: 'late called', isError: false });
  });

  it('a refused or failing connection is an error naming the server and url; the next call reconnects', async () => {
    const first = await startHttp({ MCP_TOOLS_BEARER: 'right' });
    const url = `http://127.0.0.1:${first.port}/mcp`;
    const { hub: wrong } = hub([{ id: 'web', url, headers: { Authorization: 'Bearer wrong' } }]);
    const refused = await errorOf(wrong.listTools('web'));
    expect(refused.message).toMatch(new RegExp(`^MCP server "web" at ${url} could not be reached: .*401`));

    const { hub: h } = hub([{ id: 'web', url, headers: { Authorization: 'Bearer right' } }]);
    expect(await call(h, 'web', 'echo', { text: 'one' })).toEqual({ content: 'one', isError: false });
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGTERM');
    await exited;
    const down = await errorOf(call(h, 'web', 'echo', { text: 'two' }));
    expect(down.message).toContain(`MCP server "web" at ${url}`);
    expect((await errorOf(call(h, 'web', 'echo', { text: 'two' }))).message).toMatch(
      new RegExp(`^MCP server "web" at ${url} could not be reached`),
    );
    // The server is back on the same port: the next call opens a new session.
    await startHttp({ MCP_TOOLS_BEARER: 'right', MCP_TOOLS_PORT: String(first.port) });
    expect(await call(h, 'web', 'echo', { text: 'three' })).toEqual({ content: 'three', isError: false });
  });
});
