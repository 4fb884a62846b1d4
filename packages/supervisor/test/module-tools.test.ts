// Member tools over the supervisor's kept MCP sessions: tool infos (with the read-only hint),
// notifications/tools/list_changed relists and reaches listeners, restarts announce the new
// instance's tools, and an aborted call reaches the module as notifications/cancelled.
// Real child processes: the MCP fixture's `toolbox` module.
import { join } from 'node:path';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { mcpToolErrorText } from '../src/index.js';
import { config, mcpEnv, mcpModule, readText, shModule, start, tempDir, trackPids, waitFor } from './helpers.js';

const logLines = (path: string): string[] => {
  try {
    return readText(path).trim().split('\n');
  } catch {
    return [];
  }
};

describe('module tools (tool infos, list changes, cancellation)', () => {
  it('lists each tool with its description, input schema and read-only hint', async () => {
    const runtime = await start(
      config(
        [mcpModule('toolbox'), mcpModule('router'), shModule('plain', 'ready.sh')],
        ['toolbox', 'router', 'plain'],
        [mcpEnv('toolbox'), mcpEnv('router')],
      ),
      { timeoutMs: 5000 },
    );
    trackPids(runtime.moduleStatus('toolbox')?.pid, runtime.moduleStatus('router')?.pid);
    const tools = await runtime.moduleTools('toolbox');
    expect(tools.map((t) => t.name)).toEqual(['toolbox.add_tool', 'toolbox.lookup', 'toolbox.stats', 'toolbox.wait']);
    expect(runtime.moduleStatus('toolbox')?.tools).toEqual(tools.map((t) => t.name)); // names still reported
    const lookup = tools.find((t) => t.name === 'toolbox.lookup');
    expect(lookup).toMatchObject({ description: 'Look up a record (read-only)', readOnly: true });
    expect(lookup?.inputSchema).toMatchObject({
      type: 'object',
      properties: { query: { type: 'string' } },
      required: ['query'],
    });
    expect(tools.filter((t) => t.readOnly).map((t) => t.name)).toEqual(['toolbox.lookup']);
    expect(await runtime.moduleTools('router')).toEqual([
      expect.objectContaining({ name: 'routing.resolve', description: 'Resolve routing overrides', readOnly: false }),
    ]);
    // A copy: changing it does not change the runtime's list.
    tools.pop();
    expect(await runtime.moduleTools('toolbox')).toHaveLength(4);

    const required = await expectMobKitError(runtime.moduleTools('plain'), 'McpRequired');
    expect(required.message).toContain('"plain"');
    const unknown = await expectMobKitError(runtime.moduleTools('ghost'), 'ModuleNotConfigured');
    expect(unknown.message).toContain('"ghost"');
  });

  it('relists on notifications/tools/list_changed and tells the listeners; unsubscribe stops them', async () => {
    const runtime = await start(config([mcpModule('toolbox')], ['toolbox'], [mcpEnv('toolbox')]), {
      timeoutMs: 5000,
    });
    trackPids(runtime.moduleStatus('toolbox')?.pid);
    const seen: string[] = [];
    const unsubscribe = runtime.onModuleToolsChanged((id) => seen.push(id));
    runtime.onModuleToolsChanged(() => {
      throw new Error('a failing listener does not stop the others');
    });
    const added = await runtime.callTool('toolbox', 'toolbox.add_tool', { name: 'crm.find' }, 3000);
    expect(added.payload).toEqual({ added: 'crm.find' });
    await waitFor('the tools listener to hear of toolbox', () => seen.includes('toolbox'), 5000);
    const names = (await runtime.moduleTools('toolbox')).map((t) => t.name);
    expect(names).toContain('crm.find');
    expect(names).toEqual([...names].sort());
    expect(runtime.moduleStatus('toolbox')?.tools).toContain('crm.find');
    const found = await runtime.callTool('toolbox', 'crm.find', { id: 7 }, 3000);
    expect(found.payload).toEqual({ tool: 'crm.find', args: { id: 7 } });

    unsubscribe();
    const heard = seen.length;
    await runtime.callTool('toolbox', 'toolbox.add_tool', { name: 'crm.update' }, 3000);
    await waitFor('crm.update to be listed', () => runtime.moduleStatus('toolbox')?.tools.includes('crm.update'), 5000);
    expect((await runtime.moduleTools('toolbox')).map((t) => t.name)).toContain('crm.update');
    expect(seen).toHaveLength(heard);
  });

  it('announces the tools of a restarted or replaced instance', async () => {
    const runtime = await start(config([mcpModule('toolbox', 'on_failure')], ['toolbox'], [mcpEnv('toolbox')]), {
      timeoutMs: 5000,
      options: { supervisorRestartBackoffMs: 200 },
    });
    const pid = runtime.moduleStatus('toolbox')?.pid as number;
    trackPids(pid);
    await runtime.callTool('toolbox', 'toolbox.add_tool', { name: 'crm.find' }, 3000);
    await waitFor('crm.find to be listed', () => runtime.moduleStatus('toolbox')?.tools.includes('crm.find'), 5000);
    const seen: string[] = [];
    runtime.onModuleToolsChanged((id) => seen.push(id));
    process.kill(pid, 'SIGKILL');
    await waitFor(
      'toolbox to be healthy again',
      () => {
        const s = runtime.moduleStatus('toolbox');
        return s?.state === 'Healthy' && s.pid !== pid;
      },
      8000,
    );
    trackPids(runtime.moduleStatus('toolbox')?.pid);
    expect(seen).toEqual(['toolbox']);
    // The new process did not register crm.find: the list is the new instance's.
    expect((await runtime.moduleTools('toolbox')).map((t) => t.name)).not.toContain('crm.find');

    await runtime.spawnMember('toolbox', 5000);
    trackPids(runtime.moduleStatus('toolbox')?.pid);
    expect(seen).toEqual(['toolbox', 'toolbox']);
  });

  it('sends notifications/cancelled when a call is aborted, and the session stays usable', async () => {
    const log = join(tempDir(), 'toolbox.log');
    const runtime = await start(
      config([mcpModule('toolbox')], ['toolbox'], [mcpEnv('toolbox', { MOBKIT_PHASE_C_LOG_PATH: log })]),
      { timeoutMs: 5000 },
    );
    const pid = runtime.moduleStatus('toolbox')?.pid;
    trackPids(pid);
    const controller = new AbortController();
    const call = runtime.callTool('toolbox', 'toolbox.wait', {}, 30_000, { signal: controller.signal });
    const outcome = call.then(
      () => undefined,
      (error: unknown) => error,
    );
    await waitFor('the module to start the call', () => logLines(log).includes('toolbox:wait:started'), 5000);
    controller.abort();
    const error = await expectMobKitError(call, 'Aborted');
    expect(await outcome).toBe(error);
    expect(error.message).toContain('"toolbox"');
    expect(error.details).toMatchObject({ moduleId: 'toolbox', tool: 'toolbox.wait' });
    await waitFor(
      'the module to see the cancellation',
      () => logLines(log).includes('toolbox:cancelled:toolbox.wait'),
      5000,
    );
    expect(runtime.moduleStatus('toolbox')?.pid).toBe(pid);
    const ok = await runtime.callTool('toolbox', 'toolbox.lookup', { query: 'acme' }, 3000);
    expect(ok.payload).toEqual({ query: 'acme', found: true });

    // An already aborted signal: no call reaches the module.
    const calls = logLines(log).filter((l) => l.startsWith('toolbox:call:')).length;
    await expectMobKitError(
      runtime.callTool('toolbox', 'toolbox.lookup', { query: 'x' }, 3000, { signal: AbortSignal.abort() }),
      'Aborted',
    );
    expect(logLines(log).filter((l) => l.startsWith('toolbox:call:'))).toHaveLength(calls);
  });

  it('marks an isError result so its text can be told from a failure, and answers structured-only results', async () => {
    const runtime = await start(
      config([mcpModule('toolbox')], ['toolbox'], [mcpEnv('toolbox', { MOBKIT_PHASE_C_FAIL_TOOL: 'toolbox.lookup' })]),
      { timeoutMs: 5000 },
    );
    trackPids(runtime.moduleStatus('toolbox')?.pid);
    const failed = await expectMobKitError(
      runtime.callTool('toolbox', 'toolbox.lookup', { query: 'q' }, 3000),
      'ToolCallFailed',
    );
    expect(mcpToolErrorText(failed)).toBe('forced failure for toolbox.lookup');
    const stats = await runtime.callTool('toolbox', 'toolbox.stats', {}, 3000);
    expect(stats.text).toBe('');
    expect(stats.structuredContent).toEqual({ count: 3 });
    const missing = await expectMobKitError(runtime.callTool('toolbox', 'nope', {}, 3000), 'ToolNotFound');
    expect(mcpToolErrorText(missing)).toBeUndefined();
    expect(mcpToolErrorText(new Error('x'))).toBeUndefined();
  });
});
