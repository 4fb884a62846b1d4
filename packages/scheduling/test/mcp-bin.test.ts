import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { builtBin, childEnv } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dispatcher, toolDispatchHook, type SchedulingEvent } from '../src/index.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../fixtures/scheduling/${name}`, import.meta.url));

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The test env, without MOBKIT_SCHEDULING_CONFIG (which would name a config for the bin). */
function moduleEnv(): Record<string, string> {
  const { MOBKIT_SCHEDULING_CONFIG: _ignored, ...env } = childEnv();
  return env;
}

let bin = '';
const clients: { client: Client; transport: StdioClientTransport }[] = [];

async function connect(args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, ...args],
    env: moduleEnv(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'scheduling-test', version: '0.0.0' });
  clients.push({ client, transport });
  await client.connect(transport);
  return client;
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('');
}

beforeAll(() => {
  bin = builtBin('mobkit-scheduling', packageDir);
}, 120_000);

afterAll(async () => {
  for (const { client, transport } of clients) {
    const pid = transport.pid;
    await client.close();
    if (pid !== null) {
      // The transport ends the child; make sure nothing is left behind.
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(pid, 0);
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

describe('mobkit-scheduling executable (official MCP client over stdio)', () => {
  it('lists scheduling.dispatch and answers injections from its TOML', { timeout: 20_000 }, async () => {
    const client = await connect(['--config', fixture('module.toml')]);
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['scheduling.dispatch', 'scheduling.evaluate']);
    const args = {
      schedule_id: 'nightly',
      interval: '*/1m',
      timezone: 'UTC',
      due_tick_ms: 60_000,
      tick_ms: 60_000,
      claim_key: 'nightly:60000',
    };
    const result = await client.callTool({ name: 'scheduling.dispatch', arguments: args });
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result))).toEqual({
      runtime_injection: { member_id: 'worker-1', message: 'scheduled:nightly due 1970-01-01T00:01:00.000Z' },
    });
    const disabled = await client.callTool({
      name: 'scheduling.dispatch',
      arguments: { ...args, schedule_id: 'heartbeat', claim_key: 'heartbeat:60000' },
    });
    expect(JSON.parse(textOf(disabled))).toEqual({});
    const bad = await client.callTool({
      name: 'scheduling.dispatch',
      arguments: { ...args, timezone: 'Mars/Olympus' },
    });
    expect(bad.isError).toBe(true);
    expect(JSON.parse(textOf(bad))).toMatchObject({ code: 'InvalidTimezone' });
    const missing = await client.callTool({ name: 'scheduling.dispatch', arguments: { schedule_id: 'x' } });
    expect(missing.isError).toBe(true);
    expect(JSON.parse(textOf(missing)).message).toContain('interval');
    const evaluated = await client.callTool({
      name: 'scheduling.evaluate',
      arguments: {
        tick_ms: 3_600_000,
        schedules: [
          { schedule_id: 'sched-a', interval: '*/1h', timezone: 'UTC' },
          { schedule_id: 'sched-b', interval: '*/1h', timezone: 'UTC+01:00' },
          { schedule_id: 'sched-c', interval: '*/30m', timezone: 'UTC+01:00' },
          { schedule_id: 'sched-d', interval: '*/1h', timezone: 'UTC-00:30' },
        ],
      },
    });
    expect(JSON.parse(textOf(evaluated)).due_triggers.map((t: { schedule_id: string }) => t.schedule_id)).toEqual([
      'sched-a',
      'sched-b',
      'sched-c',
    ]);
  });

  it('drives the seed e2e_004 dispatch through the module: */1m at 60 000 → one dispatch with a runtime injection', {
    timeout: 20_000,
  }, async () => {
    const client = await connect([fixture('module.toml')]);
    const events: SchedulingEvent[] = [];
    const sent: string[] = [];
    const dispatcher = new Dispatcher({
      emit: (e) => events.push(e),
      hook: toolDispatchHook(async (tool, args) =>
        textOf(await client.callTool({ name: tool, arguments: { ...args } })),
      ),
      executeInjection: ({ memberId, message }) => {
        sent.push(`${memberId}:${message}`);
        return { sessionId: 'sess-worker-1' };
      },
    });
    const report = await dispatcher.dispatchTick(
      [{ scheduleId: 'phase5-happy', interval: '*/1m', timezone: 'UTC', enabled: true, jitterMs: 0, catchUp: false }],
      60_000,
    );
    expect(report.dispatched).toHaveLength(1);
    expect(report.dispatched[0]?.runtimeInjection).toMatchObject({
      memberId: 'worker-1',
      message: 'scheduled:phase5-happy due 1970-01-01T00:01:00.000Z',
    });
    expect(report.dispatched[0]?.runtimeInjectionError).toBeUndefined();
    expect(sent).toEqual(['worker-1:scheduled:phase5-happy due 1970-01-01T00:01:00.000Z']);
    expect(events.some((e) => e.event.module === 'runtime' && e.event.eventType === 'runtime.injection.executed')).toBe(
      true,
    );
    // The same due tick again: claimed, the module is not asked twice.
    expect(
      (await dispatcher.dispatchTick([{ scheduleId: 'phase5-happy', interval: '*/1m', timezone: 'UTC' }], 60_000))
        .skippedClaims,
    ).toEqual(['phase5-happy:60000']);
    expect(sent).toHaveLength(1);
  });

  it('answers {} without a config, and refuses a bad config with exit code 2', { timeout: 20_000 }, async () => {
    const client = await connect([]);
    const result = await client.callTool({
      name: 'scheduling.dispatch',
      arguments: { schedule_id: 'a', interval: '*/1m', timezone: 'UTC', due_tick_ms: 0, tick_ms: 0, claim_key: 'a:0' },
    });
    expect(JSON.parse(textOf(result))).toEqual({});
    const run = spawnSync(process.execPath, [bin, '--config', fixture('bad-module.toml')], {
      env: moduleEnv(),
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown placeholder {who}');
  });
});
