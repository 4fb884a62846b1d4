// The mob's own MCP servers (`mcp_servers` on a profile) under a real UnifiedRuntime: their lifecycle
// (connected, exited, restarting) reaches the merged stream as `runtime/mcp_server.*` events, so an
// operator sees a crashed server in the event log without reading the mob's internals.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MobDefinition, ScriptedLlmClient } from '@mobkit/mob-adapter';
import { FIXTURES_DIR, waitFor } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const SERVER = join(FIXTURES_DIR, 'mcp-tools', 'stdio-server.mjs');
const dir = mkdtempSync(join(tmpdir(), 'mobkit-mcp-events-'));
const spawnLog = join(dir, 'spawns.log');

const MOB_TOML = `
[mob]
id = "member-mcp-events"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
mcp_servers = [{ id = "fs", command = ${JSON.stringify(process.execPath)}, args = [${JSON.stringify(SERVER)}], env = { MCP_TOOLS_SPAWN_LOG = ${JSON.stringify(spawnLog)} } }]
`;

let runtime: UnifiedRuntime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const pids = (): number[] => {
  try {
    return readFileSync(spawnLog, 'utf8').trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe('the mob’s MCP servers under the runtime', () => {
  it('records a server’s connect, crash and restart as runtime/mcp_server.* events', async () => {
    const llm = new ScriptedLlmClient({
      w: [
        { toolCalls: [{ id: 'c1', name: 'echo', args: { text: 'one' } }] },
        { text: 'first' },
        { toolCalls: [{ id: 'c2', name: 'echo', args: { text: 'two' } }] },
        { text: 'second' },
      ],
    });
    runtime = await UnifiedRuntime.builder()
      .mobSpec(MobBootstrapSpec.new(MobDefinition.fromToml(MOB_TOML)).withOptions({ defaultLlmClient: llm }))
      .moduleConfig({ modules: [], discovery: { namespace: 'test', modules: [] }, preSpawn: [] })
      .timeout(10_000)
      .build();
    const rt = runtime;
    const events = () =>
      rt
        .moduleEvents()
        .filter((e) => e.event.kind === 'module' && e.event.module === 'runtime')
        .map((e) => e.event as { eventType: string; payload: Record<string, unknown> });

    await rt.ensureMember({ profile: 'worker', meerkatId: 'w' });
    await rt.sendMessage('w', 'echo one');
    await rt.mobHandle().waitForIdle(20_000);
    const [first] = pids();
    expect(first).toBeGreaterThan(0);
    expect(events().find((e) => e.eventType === 'mcp_server.connected')?.payload).toMatchObject({
      server: 'fs',
      transport: 'stdio',
      pid: first,
    });

    process.kill(first as number, 'SIGKILL');
    await waitFor('the exit event', () => events().some((e) => e.eventType === 'mcp_server.exited'), 10_000);
    expect(events().find((e) => e.eventType === 'mcp_server.exited')?.payload).toMatchObject({
      server: 'fs',
      signal: 'SIGKILL',
    });

    await rt.sendMessage('w', 'echo two');
    await rt.mobHandle().waitForIdle(20_000);
    // The next call started the server again; the merged stream says it was restarted and reconnected.
    expect(pids()).toHaveLength(2);
    const connects = events().filter((e) => e.eventType === 'mcp_server.connected');
    expect(connects.map((e) => e.payload.pid)).toEqual(pids());
  }, 30_000);
});
