// createModuleToolHost: a mob's members use a supervised MCP module's tools over the supervisor's
// kept session. Real child processes: the MCP fixture's `toolbox` module and a JSON-line sh module.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MobKitConfig, ModuleConfig } from '@mobkit/core';
import { type ModuleRuntime, startModuleRuntime } from '@mobkit/supervisor';
import { MCP_FIXTURE, fixturePath, waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createModuleToolHost } from '../src/runtime/module-tools.js';

const toolbox = (id: string): ModuleConfig => ({
  id,
  command: process.execPath,
  args: [MCP_FIXTURE, '--module', 'toolbox'],
  restartPolicy: 'never',
});
const mcp = (moduleId: string, extra: Record<string, string> = {}) => ({
  moduleId,
  env: [['MOBKIT_MODULE_BOUNDARY', 'mcp'], ...Object.entries(extra)] as Array<[string, string]>,
});

let runtimes: ModuleRuntime[] = [];
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown()));
  runtimes = [];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function startModules(modules: ModuleConfig[], preSpawn: MobKitConfig['preSpawn']): Promise<ModuleRuntime> {
  const config: MobKitConfig = { modules, discovery: { namespace: 't', modules: modules.map((m) => m.id) }, preSpawn };
  const runtime = await startModuleRuntime(config, { timeoutMs: 5000 });
  runtimes.push(runtime);
  return runtime;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const call = (timeoutMs = 3000, signal = new AbortController().signal) => ({ signal, timeoutMs });

describe('createModuleToolHost (a supervised MCP module as a member tool host)', () => {
  it('lists the module tools with the read-only hint and calls them on the kept session', async () => {
    const runtime = await startModules([toolbox('crm')], [mcp('crm')]);
    const host = createModuleToolHost(runtime);
    const tools = await host.listTools('crm');
    expect(tools.map((t) => [t.name, t.readOnly])).toEqual([
      ['toolbox.add_tool', false],
      ['toolbox.lookup', true],
      ['toolbox.stats', false],
      ['toolbox.wait', false],
    ]);
    const lookup = tools.find((t) => t.name === 'toolbox.lookup');
    expect(lookup?.description).toBe('Look up a record (read-only)');
    expect(lookup?.inputSchema).toMatchObject({ type: 'object', properties: { query: { type: 'string' } } });

    const pid = runtime.moduleStatus('crm')?.pid;
    expect(await host.callTool('crm', 'toolbox.lookup', { query: 'acme' }, call())).toEqual({
      content: '{"query":"acme","found":true}',
      isError: false,
    });
    // No text block: the structured result as JSON.
    expect(await host.callTool('crm', 'toolbox.stats', {}, call())).toEqual({ content: '{"count":3}', isError: false });
    expect(runtime.moduleStatus('crm')?.pid).toBe(pid); // the supervisor's process, no second one
  });

  it("resolves an isError result with the tool's error text", async () => {
    const runtime = await startModules([toolbox('crm')], [mcp('crm', { MOBKIT_PHASE_C_FAIL_TOOL: 'toolbox.lookup' })]);
    const host = createModuleToolHost(runtime);
    expect(await host.callTool('crm', 'toolbox.lookup', { query: 'acme' }, call())).toEqual({
      content: 'forced failure for toolbox.lookup',
      isError: true,
    });
  });

  it('rejects naming the module: unknown tool, timeout, JSON-line module, unknown module, dead module', async () => {
    const runtime = await startModules(
      [
        toolbox('crm'),
        toolbox('billing'),
        { id: 'plain', command: 'sh', args: [fixturePath('modules', 'ready.sh'), 'plain'], restartPolicy: 'never' },
      ],
      [
        mcp('crm', { MOBKIT_PHASE_C_HANG_ON: 'call_tool:toolbox.stats' }),
        mcp('billing', { MOBKIT_PHASE_C_EXIT_ON: 'call_tool:toolbox.lookup' }),
      ],
    );
    const host = createModuleToolHost(runtime);

    const unknownTool = await rejection(host.callTool('crm', 'nope', {}, call()));
    expect(unknownTool.code).toBe('ToolNotFound');
    expect(unknownTool.message).toContain('"crm"');

    const timedOut = await rejection(host.callTool('crm', 'toolbox.stats', {}, call(300)));
    expect(timedOut.code).toBe('Timeout');
    expect(timedOut.message).toContain('"crm"');

    for (const failure of [host.listTools('plain'), host.callTool('plain', 'x', {}, call())]) {
      const error = await rejection(failure);
      expect(error.code).toBe('McpRequired');
      expect(error.message).toContain('"plain"');
    }
    const ghost = await rejection(host.listTools('ghost'));
    expect(ghost.message).toContain('"ghost"');

    const dead = await rejection(host.callTool('billing', 'toolbox.lookup', { query: 'q' }, call()));
    expect(dead).toBeInstanceOf(Error);
    expect(dead.code).toBe('ToolCallFailed');
    expect(dead.message).toContain('"billing"');
    await waitFor('billing to stop', () => runtime.moduleStatus('billing')?.state === 'Stopped');
    const gone = await rejection(host.listTools('billing'));
    expect(gone.code).toBe('UnloadedModule');
    expect(gone.message).toContain('"billing"');
    // A bad timeout is named with the module too.
    const badTimeout = await rejection(host.callTool('crm', 'toolbox.lookup', { query: 'q' }, call(0)));
    expect(badTimeout.code).toBe('InvalidInput');
    expect(badTimeout.message).toContain('"crm"');
  });

  it('follows tool list changes and cancels a call through the signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mobkit-module-tools-'));
    dirs.push(dir);
    const log = join(dir, 'crm.log');
    const lines = () => {
      try {
        return readFileSync(log, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    };
    const runtime = await startModules([toolbox('crm')], [mcp('crm', { MOBKIT_PHASE_C_LOG_PATH: log })]);
    const host = createModuleToolHost(runtime);
    const changed: string[] = [];
    const unsubscribe = host.onToolsChanged((id) => changed.push(id));
    await host.callTool('crm', 'toolbox.add_tool', { name: 'crm.find' }, call());
    await waitFor('the host to hear of crm', () => changed.includes('crm'), 5000);
    expect((await host.listTools('crm')).map((t) => t.name)).toContain('crm.find');
    expect(await host.callTool('crm', 'crm.find', { id: 1 }, call())).toEqual({
      content: '{"tool":"crm.find","args":{"id":1}}',
      isError: false,
    });
    unsubscribe();

    const controller = new AbortController();
    const waiting = rejection(host.callTool('crm', 'toolbox.wait', {}, call(30_000, controller.signal)));
    await waitFor('the module to start the call', () => lines().includes('toolbox:wait:started'), 5000);
    controller.abort();
    const aborted = await waiting;
    expect(aborted.code).toBe('Aborted');
    expect(aborted.message).toContain('"crm"');
    await waitFor('the module to see the cancellation', () => lines().includes('toolbox:cancelled:toolbox.wait'), 5000);
  });
});
