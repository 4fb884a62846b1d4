import { join } from 'node:path';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import {
  config,
  mcpEnv,
  mcpModule,
  moduleEvents,
  payloadOf,
  readText,
  shModule,
  start,
  states,
  tempDir,
  trackPids,
  waitFor,
} from './helpers.js';

describe('MCP modules (official SDK client, one kept session per module)', () => {
  it('starts MCP modules with initialize + tools/list, emits mcp.ready with sorted tools, and reuses the session', async () => {
    const log = join(tempDir(), 'fixture.log');
    const runtime = await start(
      config(
        [mcpModule('router'), mcpModule('delivery'), shModule('plain', 'ready.sh')],
        ['router', 'delivery', 'plain'],
        [
          mcpEnv('router', { MOBKIT_PHASE_C_LOG_PATH: log, MOBKIT_PHASE_C_ROUTER_SINK: 'sms' }),
          { moduleId: 'delivery', env: [['MOBKIT_MODULE_BOUNDARY', '  MCP ']] }, // trimmed, any case
        ],
      ),
      { timeoutMs: 5000 },
    );
    expect(runtime.loadedModules()).toEqual(['delivery', 'plain', 'router']);
    expect(runtime.isMcpModule('router')).toBe(true);
    expect(runtime.isMcpModule('delivery')).toBe(true);
    expect(runtime.isMcpModule('plain')).toBe(false);
    expect(states(runtime, 'router')).toEqual(['Starting', 'Healthy']);
    const ready = moduleEvents(runtime, 'router', 'mcp.ready')[0];
    expect(ready?.eventId).toMatch(/^evt-mcp-ready-router-\d+$/);
    expect(ready?.event.payload).toEqual({ tools: ['routing.resolve'] });
    expect(payloadOf(runtime, 'delivery', 'mcp.ready')).toEqual({ tools: ['delivery.attempt', 'delivery.send'] });

    const pid = runtime.moduleStatus('router')?.pid;
    trackPids(pid, runtime.moduleStatus('delivery')?.pid);
    const results = [];
    for (let i = 0; i < 5; i += 1)
      results.push(await runtime.callTool('router', 'routing.resolve', { recipient: `r-${i}` }, 2000));
    expect(results[0]?.payload).toEqual({ sink: 'sms', target_module: 'delivery' });
    expect(results[0]?.text).toBe('{"sink":"sms","target_module":"delivery"}');
    expect(runtime.moduleStatus('router')?.pid).toBe(pid); // same process: the session is kept
    const lines = readText(log).trim().split('\n');
    expect(lines.filter((l) => l === 'router:list_tools')).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('router:call:routing.resolve:'))).toHaveLength(5);
    expect(lines).toContain('router:call:routing.resolve:{"recipient":"r-4"}');

    const delivered = await runtime.callTool(
      'delivery',
      'delivery.send',
      { payload: { force_adapter_fail: true } },
      2000,
    );
    expect(delivered.payload).toEqual({ adapter: 'smtp-mock', force_fail: true });

    const routed = await runtime.routeModuleCall({ moduleId: 'router', method: 'routing.resolve', params: {} }, 2000);
    expect(routed).toEqual({
      moduleId: 'router',
      method: 'routing.resolve',
      payload: { sink: 'sms', target_module: 'delivery' },
    });

    const report = await runtime.shutdown();
    expect(report).toEqual({ terminatedModules: ['delivery', 'plain', 'router'], orphanProcesses: 0 });
    expect(isProcessAlive(pid as number)).toBe(false);
  });

  it('answers ToolNotFound listing the tools, ToolCallFailed on isError, and McpRequired for JSON-line modules', async () => {
    const runtime = await start(
      config(
        [mcpModule('scheduling'), shModule('router', 'ready.sh'), shModule('analytics', 'ready.sh')],
        ['scheduling', 'router', 'analytics'],
        [mcpEnv('scheduling', { MOBKIT_PHASE_C_FAIL_TOOL: 'scheduling.dispatch' })],
      ),
      { timeoutMs: 5000 },
    );
    trackPids(runtime.moduleStatus('scheduling')?.pid);
    const notFound = await expectMobKitError(
      runtime.callTool('scheduling', 'routing.resolve', {}, 2000),
      'ToolNotFound',
    );
    expect(notFound.message).toContain('available tools: scheduling.dispatch');
    expect(notFound.details).toMatchObject({
      moduleId: 'scheduling',
      tool: 'routing.resolve',
      availableTools: ['scheduling.dispatch'],
    });

    const failed = await expectMobKitError(
      runtime.callTool('scheduling', 'scheduling.dispatch', { schedule_id: 's' }, 2000),
      'ToolCallFailed',
    );
    expect(failed.message).toContain('"scheduling"');
    expect(failed.message).toContain('call_tool:scheduling.dispatch');
    expect(failed.message).toContain('forced failure for scheduling.dispatch');

    const required = await expectMobKitError(runtime.callTool('router', 'routing.resolve', {}, 2000), 'McpRequired');
    expect(required.details).toMatchObject({ moduleId: 'router' });
    const routedCore = await expectMobKitError(
      runtime.routeModuleCall({ moduleId: 'router', method: 'routing.resolve', params: {} }, 2000),
      'McpRequired',
    );
    expect(routedCore.details).toMatchObject({ moduleId: 'router', flow: 'routing.resolve' });

    // A non-core JSON-line module answers a routed call with its first event (as in the original).
    const routed = await runtime.routeModuleCall({ moduleId: 'analytics', method: 'echo', params: { x: 1 } }, 2000);
    expect(routed.moduleId).toBe('analytics');
    expect(routed.method).toBe('echo');
    expect(typeof (routed.payload as { pid: number }).pid).toBe('number');
    expect(isProcessAlive((routed.payload as { pid: number }).pid)).toBe(false); // the one-shot process was stopped

    await expectMobKitError(runtime.callTool('ghost', 'x', {}, 1000), 'ModuleNotConfigured');
  });

  it('fails a hung MCP module with Timeout naming connect, [Starting, Failed, Stopped], and start-up succeeds', async () => {
    const log = join(tempDir(), 'hang.log');
    const runtime = await start(
      config(
        [mcpModule('memory')],
        ['memory'],
        [mcpEnv('memory', { MOBKIT_PHASE_C_HANG_ON: 'initialize', MOBKIT_PHASE_C_LOG_PATH: log })],
      ),
      {
        timeoutMs: 2500, // long enough for the fixture to load and receive initialize on a busy machine
      },
    );
    expect(runtime.loadedModules()).toEqual([]);
    expect(states(runtime, 'memory')).toEqual(['Starting', 'Failed', 'Stopped']);
    const warning = payloadOf<{ code: string; error: string }>(runtime, 'memory', 'supervisor.warning');
    expect(warning.code).toBe('Timeout');
    expect(warning.error).toContain('"memory"');
    expect(warning.error).toContain('connect');
    expect(warning.error).toContain('2500 ms');
    expect(readText(log)).toContain('memory:hang:initialize');
    await expectMobKitError(runtime.callTool('memory', 'memory.conflict_read', {}, 500), 'UnloadedModule');
  });

  it('times out a hung tool call with the operation call_tool:<tool>, and the session stays usable', async () => {
    const hangFile = join(tempDir(), 'hang');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(hangFile, '');
    const runtime = await start(
      config([mcpModule('router')], ['router'], [mcpEnv('router', { MOBKIT_PHASE_C_HANG_ON_FILE: hangFile })]),
      { timeoutMs: 5000 },
    );
    trackPids(runtime.moduleStatus('router')?.pid);
    writeFileSync(hangFile, 'call_tool:routing.resolve');
    const error = await expectMobKitError(runtime.callTool('router', 'routing.resolve', {}, 300), 'Timeout');
    expect(error.details).toMatchObject({ moduleId: 'router', operation: 'call_tool:routing.resolve', timeoutMs: 300 });
    writeFileSync(hangFile, '');
    const ok = await runtime.callTool('router', 'routing.resolve', {}, 2000);
    expect(ok.payload).toEqual({ sink: 'email', target_module: 'delivery' });
  });

  it('quotes the stderr of an MCP module that dies during the handshake', async () => {
    const runtime = await start(
      config(
        [
          {
            id: 'delivery',
            command: 'sh',
            args: ['-c', 'echo "delivery: missing SMTP_HOST" >&2; exit 2'],
            restartPolicy: 'never',
          },
        ],
        ['delivery'],
        [mcpEnv('delivery')],
      ),
      { timeoutMs: 3000 },
    );
    const warning = payloadOf<{ code: string; error: string }>(runtime, 'delivery', 'supervisor.warning');
    expect(warning.code).toBe('McpConnectionFailed');
    expect(warning.error).toContain('connect');
    expect(warning.error).toContain('exit code 2');
    expect(warning.error).toContain('delivery: missing SMTP_HOST');
  });

  it('restarts a crashed MCP module per its policy and calls work again on the new session', async () => {
    const log = join(tempDir(), 'crash.log');
    const runtime = await start(
      config([mcpModule('router', 'on_failure')], ['router'], [mcpEnv('router', { MOBKIT_PHASE_C_LOG_PATH: log })]),
      {
        timeoutMs: 5000,
        options: { supervisorRestartBackoffMs: 400 },
      },
    );
    const pid = runtime.moduleStatus('router')?.pid as number;
    trackPids(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('router to be restarting', () => runtime.moduleStatus('router')?.state === 'Restarting');
    await expectMobKitError(runtime.callTool('router', 'routing.resolve', {}, 1000), 'ModuleUnavailable');
    expect(runtime.loadedModules()).toEqual(['router']); // still loaded while it restarts
    await waitFor(
      'router to be healthy again',
      () => {
        const s = runtime.moduleStatus('router');
        return s?.state === 'Healthy' && s.pid !== pid;
      },
      8000,
    );
    trackPids(runtime.moduleStatus('router')?.pid);
    expect(states(runtime, 'router')).toEqual(['Starting', 'Healthy', 'Failed', 'Restarting', 'Healthy']);
    expect(moduleEvents(runtime, 'router', 'mcp.ready')).toHaveLength(2);
    const ok = await runtime.callTool('router', 'routing.resolve', {}, 2000);
    expect(ok.payload).toEqual({ sink: 'email', target_module: 'delivery' });
  });

  it('replaces an MCP module with spawnMember: a new server and session, the old server gone', async () => {
    const runtime = await start(config([mcpModule('delivery')], ['delivery'], [mcpEnv('delivery')]), {
      timeoutMs: 5000,
    });
    const oldPid = runtime.moduleStatus('delivery')?.pid as number;
    trackPids(oldPid);
    await runtime.spawnMember('delivery', 5000);
    const newPid = runtime.moduleStatus('delivery')?.pid as number;
    trackPids(newPid);
    expect(newPid).not.toBe(oldPid);
    expect(isProcessAlive(oldPid)).toBe(false);
    expect(moduleEvents(runtime, 'delivery', 'mcp.ready')).toHaveLength(2);
    const sent = await runtime.callTool('delivery', 'delivery.send', {}, 2000);
    expect(sent.payload).toEqual({ adapter: 'smtp-mock', force_fail: false });
  });

  it('fails a call in flight when the MCP module dies, naming module, tool and operation', async () => {
    const runtime = await start(
      config(
        [mcpModule('router', 'never')],
        ['router'],
        [mcpEnv('router', { MOBKIT_PHASE_C_EXIT_ON: 'call_tool:routing.resolve' })],
      ),
      { timeoutMs: 5000 },
    );
    trackPids(runtime.moduleStatus('router')?.pid);
    const error = await expectMobKitError(runtime.callTool('router', 'routing.resolve', {}, 3000), 'ToolCallFailed');
    expect(error.message).toContain('"router"');
    expect(error.message).toContain('call_tool:routing.resolve');
    await waitFor('router to stop', () => runtime.moduleStatus('router')?.state === 'Stopped');
    expect(states(runtime, 'router')).toEqual(['Starting', 'Healthy', 'Failed', 'Stopped']);
    expect(runtime.loadedModules()).toEqual([]);
  });
});
