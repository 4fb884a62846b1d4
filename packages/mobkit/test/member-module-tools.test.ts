// Members of the embedded mob use a supervised MCP module's tools (`[profiles.x.tools] modules =
// ["toolbox"]`) through a real UnifiedRuntime: the builder boots the mob with a deferred module tool
// host, starts the fixture's `toolbox` module (a real child process speaking MCP) and binds the
// supervisor's kept sessions. The mob's model is a ScriptedLlmClient given as the spec's default client.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MobKitConfig, isMobKitError } from '@mobkit/core';
import {
  type AgentEventPayload,
  type LlmRequest,
  MobDefinition,
  type MobEvent,
  ScriptedLlmClient,
  type ToolResult,
} from '@mobkit/mob-adapter';
import { MCP_FIXTURE } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { UnifiedRuntime } from '../src/runtime/unified-runtime.js';
import { MobBootstrapSpec } from '../src/spec.js';

const MOB_TOML = `
[mob]
id = "member-module-tools"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
[profiles.worker.tools]
comms = true
modules = ["toolbox"]

[profiles.reader]
model = "gpt-5.2"
external_addressable = true
[profiles.reader.tools]
comms = true
read_only = true
modules = ["toolbox"]
`;

const TOOLBOX_TOOLS = ['toolbox.add_tool', 'toolbox.lookup', 'toolbox.stats', 'toolbox.wait'];

let runtimes: UnifiedRuntime[] = [];
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(runtimes.map((r) => r.shutdown()));
  runtimes = [];
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** The live processes whose command line holds `tag` (a zombie counts as dead). */
function processesTagged(tag: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv.includes(tag)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).charAt(0) === 'Z') continue;
      pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

/** A fixture run: the module config with a process tag (to count its processes) and its call log. */
interface Fixture {
  config: MobKitConfig;
  tag: string;
  /** The module's log lines (`toolbox:call:<tool>:<args>`, …). */
  log(): string[];
}

function toolboxFixture(env: Record<string, string> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-member-module-tools-'));
  dirs.push(dir);
  const logPath = join(dir, 'toolbox.log');
  const tag = `member-module-tools-${randomUUID()}`;
  return {
    tag,
    config: {
      modules: [
        {
          id: 'toolbox',
          command: process.execPath,
          // The fixture reads only `--module`; the tag lets the test find its processes in /proc.
          args: [MCP_FIXTURE, '--module', 'toolbox', '--tag', tag],
          restartPolicy: 'never',
        },
      ],
      discovery: { namespace: 't', modules: ['toolbox'] },
      preSpawn: [
        {
          moduleId: 'toolbox',
          env: [['MOBKIT_MODULE_BOUNDARY', 'mcp'], ['MOBKIT_PHASE_C_LOG_PATH', logPath], ...Object.entries(env)],
        },
      ],
    },
    log: () => {
      try {
        return readFileSync(logPath, 'utf8').trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
  };
}

async function startRuntime(llm: ScriptedLlmClient, fixture: Fixture, toml = MOB_TOML): Promise<UnifiedRuntime> {
  const runtime = await UnifiedRuntime.builder()
    .mobSpec(MobBootstrapSpec.new(MobDefinition.fromToml(toml)).withOptions({ defaultLlmClient: llm }))
    .moduleConfig(fixture.config)
    .timeout(10_000)
    .build();
  runtimes.push(runtime);
  return runtime;
}

/** Spawns `memberId` of `profile`, sends it `text` and waits until the mob is idle. */
async function turn(runtime: UnifiedRuntime, memberId: string, profile: string, text: string): Promise<void> {
  await runtime.ensureMember({ profile, meerkatId: memberId });
  await runtime.sendMessage(memberId, text);
  await runtime.mobHandle().waitForIdle(20_000);
}

/** The agent event payloads of `memberId`'s tool events, in order. */
function toolEvents(events: MobEvent[], memberId: string): AgentEventPayload[] {
  const out: AgentEventPayload[] = [];
  for (const e of events)
    if (
      e.kind === 'agent' &&
      e.memberId === memberId &&
      (e.event.type === 'tool_call_requested' || e.event.type === 'tool_execution_completed')
    )
      out.push(e.event);
  return out;
}

/** The requests `memberId`'s turns sent to the model, in order. */
function requestsOf(llm: ScriptedLlmClient, memberId: string): LlmRequest[] {
  return llm.requests.filter((r) => r.request.caller?.memberId === memberId).map((r) => r.request);
}

/** The tool results the request ends with (the previous turn's results). */
function lastToolResults(request: LlmRequest | undefined): ToolResult[] {
  const last = request?.messages.at(-1);
  if (last?.role !== 'tool_results')
    throw new Error(`expected the request to end with tool results, got ${last?.role}`);
  return last.results;
}

const moduleToolNames = (request: LlmRequest | undefined) =>
  (request?.tools ?? []).map((t) => t.name).filter((n) => n.startsWith('toolbox.'));

describe("members use a supervised MCP module's tools through the UnifiedRuntime", () => {
  it('a worker calls toolbox.lookup and gets the module answer in its next turn, on the one module process', async () => {
    const fixture = toolboxFixture();
    const llm = new ScriptedLlmClient({
      'w-1': [
        { toolCalls: [{ id: 'call_lookup', name: 'toolbox.lookup', args: { query: 'acme' } }] },
        { text: 'acme is known' },
      ],
    });
    const runtime = await startRuntime(llm, fixture);
    const started = processesTagged(fixture.tag);
    expect(started).toHaveLength(1);

    const events: MobEvent[] = [];
    const unsubscribe = runtime.mobHandle().subscribe((e) => events.push(e));
    await turn(runtime, 'w-1', 'worker', 'look up acme');
    unsubscribe();

    const requests = requestsOf(llm, 'w-1');
    expect(requests).toHaveLength(2);
    // The worker is offered every module tool beside the comms tools.
    expect(moduleToolNames(requests[0]).sort()).toEqual(TOOLBOX_TOOLS);
    const lookupDef = requests[0]?.tools.find((t) => t.name === 'toolbox.lookup');
    expect(lookupDef?.description).toBe('Look up a record (read-only)');
    expect(lookupDef?.inputSchema).toMatchObject({ type: 'object', properties: { query: { type: 'string' } } });
    expect(requests[0]?.tools.some((t) => t.name === 'send_message')).toBe(true);
    // The module's answer reaches the model in the next turn.
    expect(lastToolResults(requests[1])).toEqual([
      { toolCallId: 'call_lookup', name: 'toolbox.lookup', content: '{"query":"acme","found":true}', isError: false },
    ]);
    // The module saw exactly that call.
    expect(fixture.log().filter((l) => l.startsWith('toolbox:call:'))).toEqual([
      'toolbox:call:toolbox.lookup:{"query":"acme"}',
    ]);

    // The session history keeps the call and its result.
    const sessionId = (await runtime.getMember('w-1'))?.sessionId;
    expect(typeof sessionId).toBe('string');
    const history = await runtime.mobHandle().readSessionHistory(sessionId as string);
    expect(history.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool_results', 'assistant']);
    expect(history.messages[1]).toMatchObject({
      role: 'assistant',
      toolCalls: [{ id: 'call_lookup', name: 'toolbox.lookup', args: { query: 'acme' } }],
    });
    expect(history.messages[2]).toMatchObject({
      role: 'tool_results',
      results: [{ toolCallId: 'call_lookup', content: '{"query":"acme","found":true}', isError: false }],
    });
    expect(history.messages[3]).toMatchObject({ role: 'assistant', content: 'acme is known' });

    // The agent events name the module and carry the tool call id.
    const tools = toolEvents(events, 'w-1');
    expect(tools.map((e) => e.type)).toEqual(['tool_call_requested', 'tool_execution_completed']);
    expect(tools[0]).toMatchObject({
      type: 'tool_call_requested',
      id: 'call_lookup',
      toolCallId: 'call_lookup',
      name: 'toolbox.lookup',
      args: { query: 'acme' },
      module: 'toolbox',
    });
    expect(tools[1]).toMatchObject({
      type: 'tool_execution_completed',
      toolCallId: 'call_lookup',
      name: 'toolbox.lookup',
      result: '{"query":"acme","found":true}',
      isError: false,
      module: 'toolbox',
      durationMs: expect.any(Number),
    });
    expect(tools.every((e) => !('server' in e))).toBe(true);

    // The event log keeps them with the wire's snake_case fields.
    expect(await runtime.flushEventLog()).toBe(true);
    const logged = await runtime.queryEvents({
      memberId: 'w-1',
      eventTypes: ['tool_call_requested', 'tool_execution_completed'],
    });
    expect(logged.map((e) => e.event.payload)).toEqual([
      expect.objectContaining({ type: 'tool_call_requested', tool_call_id: 'call_lookup', module: 'toolbox' }),
      expect.objectContaining({
        type: 'tool_execution_completed',
        tool_call_id: 'call_lookup',
        module: 'toolbox',
        is_error: false,
        duration_ms: expect.any(Number),
      }),
    ]);

    // Member tools ran on the supervisor's process: no second toolbox was spawned.
    expect(processesTagged(fixture.tag)).toEqual(started);
    expect(runtime.loadedModules()).toEqual(['toolbox']);
  }, 30_000);

  it('under read_only only the read-only module tool is offered, and another one is refused unsent', async () => {
    const fixture = toolboxFixture();
    const llm = new ScriptedLlmClient({
      'r-1': [
        {
          toolCalls: [
            { id: 'call_add', name: 'toolbox.add_tool', args: { name: 'crm.find' } },
            { id: 'call_lookup', name: 'toolbox.lookup', args: { query: 'beta' } },
          ],
        },
        { text: 'done' },
      ],
    });
    const runtime = await startRuntime(llm, fixture);
    await turn(runtime, 'r-1', 'reader', 'read only please');

    const requests = requestsOf(llm, 'r-1');
    expect(requests).toHaveLength(2);
    expect(moduleToolNames(requests[0])).toEqual(['toolbox.lookup']);
    expect(moduleToolNames(requests[1])).toEqual(['toolbox.lookup']);
    const [add, lookup] = lastToolResults(requests[1]);
    expect(add).toMatchObject({ toolCallId: 'call_add', name: 'toolbox.add_tool', isError: true });
    expect(add?.content).toContain('unknown tool: toolbox.add_tool');
    expect(lookup).toEqual({
      toolCallId: 'call_lookup',
      name: 'toolbox.lookup',
      content: '{"query":"beta","found":true}',
      isError: false,
    });
    // The refused call never reached the module.
    expect(fixture.log().filter((l) => l.startsWith('toolbox:call:'))).toEqual([
      'toolbox:call:toolbox.lookup:{"query":"beta"}',
    ]);
  }, 30_000);

  it("a module tool's isError result and arguments against its schema reach the model as error results", async () => {
    const fixture = toolboxFixture({ MOBKIT_PHASE_C_FAIL_TOOL: 'toolbox.lookup' });
    const llm = new ScriptedLlmClient({
      'w-1': [
        {
          toolCalls: [
            { id: 'call_bad', name: 'toolbox.lookup', args: { query: 5 } },
            { id: 'call_fail', name: 'toolbox.lookup', args: { query: 'acme' } },
          ],
        },
        { text: 'the lookup failed' },
      ],
    });
    const runtime = await startRuntime(llm, fixture);
    const events: MobEvent[] = [];
    const unsubscribe = runtime.mobHandle().subscribe((e) => events.push(e));
    await turn(runtime, 'w-1', 'worker', 'look up acme');
    unsubscribe();

    const [bad, failed] = lastToolResults(requestsOf(llm, 'w-1')[1]);
    expect(bad).toMatchObject({ toolCallId: 'call_bad', name: 'toolbox.lookup', isError: true });
    expect(bad?.content).toContain('invalid arguments for tool toolbox.lookup');
    expect(failed).toEqual({
      toolCallId: 'call_fail',
      name: 'toolbox.lookup',
      content: 'forced failure for toolbox.lookup',
      isError: true,
    });
    // Only the valid call was sent to the module.
    expect(fixture.log().filter((l) => l.startsWith('toolbox:call:'))).toEqual([
      'toolbox:call:toolbox.lookup:{"query":"acme"}',
    ]);
    const completed = toolEvents(events, 'w-1').filter((e) => e.type === 'tool_execution_completed');
    expect(completed).toHaveLength(2);
    for (const e of completed) expect(e).toMatchObject({ isError: true, module: 'toolbox' });
    expect(completed.find((e) => e.toolCallId === 'call_fail')).toMatchObject({
      result: 'forced failure for toolbox.lookup',
    });
    // The run goes on with the error results: it completes with the model's answer.
    const history = await runtime.mobHandle().readSessionHistory((await runtime.getMember('w-1'))?.sessionId as string);
    expect(history.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'the lookup failed' });
  }, 30_000);

  it('a profile naming an unconfigured module fails the build with DefinitionError naming the field, nothing left running', async () => {
    const fixture = toolboxFixture();
    const toml = MOB_TOML.replace('modules = ["toolbox"]\n', 'modules = ["toolbox", "ghost"]\n');
    expect(toml).toContain('"ghost"');
    let error: unknown;
    try {
      await startRuntime(new ScriptedLlmClient(), fixture, toml);
    } catch (e) {
      error = e;
    }
    expect(isMobKitError(error)).toBe(true);
    if (!isMobKitError(error)) throw new Error('unreachable');
    expect(error.code).toBe('DefinitionError');
    expect(error.message).toContain('profiles.worker.tools.modules[1]');
    expect(error.message).toContain("'ghost'");
    expect(error.message).toContain('toolbox');
    expect(error.details).toMatchObject({ field: 'profiles.worker.tools.modules[1]', module: 'ghost' });
    expect(runtimes).toHaveLength(0);
    // No module process was started (or one was, and is gone).
    expect(processesTagged(fixture.tag)).toEqual([]);
    expect(fixture.log()).toEqual([]);
  }, 30_000);

  it('a module that dies at start-up is not loaded: its member tools are left out (told once as a runtime event), never respawned, no process left', async () => {
    const fixture = toolboxFixture({ MOBKIT_PHASE_C_EXIT_ON: 'initialize' });
    const llm = new ScriptedLlmClient({
      'w-1': [
        { toolCalls: [{ id: 'call_lookup', name: 'toolbox.lookup', args: { query: 'acme' } }] },
        { text: 'no tool' },
      ],
    });
    // The supervisor does not fail the start for a module that exhausts its start budget: it is not loaded.
    const runtime = await startRuntime(llm, fixture);
    expect(runtime.loadedModules()).toEqual([]);
    const attempts = fixture.log().filter((l) => l === 'toolbox:exit:initialize').length;
    expect(attempts).toBeGreaterThan(0);
    await turn(runtime, 'w-1', 'worker', 'look up acme');

    const requests = requestsOf(llm, 'w-1');
    expect(moduleToolNames(requests[0])).toEqual([]);
    const [result] = lastToolResults(requests[1]);
    expect(result).toMatchObject({ toolCallId: 'call_lookup', isError: true });
    expect(result?.content).toContain('unknown tool: toolbox.lookup');
    // Listing the member's tools did not start the module again.
    expect(fixture.log().filter((l) => l === 'toolbox:exit:initialize')).toHaveLength(attempts);
    // The operator is told, once, which profile went without which module's tools, and why.
    await turn(runtime, 'w-1', 'worker', 'again');
    const notices = runtime
      .moduleEvents()
      .filter((e) => e.event.kind === 'module' && e.event.eventType === 'member_tools.unavailable');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.event).toMatchObject({
      kind: 'module',
      module: 'runtime',
      payload: { profile: 'worker', module: 'toolbox' },
    });
    const payload = (notices[0]?.event as { payload?: { error?: string } } | undefined)?.payload;
    expect(String(payload?.error)).toContain('toolbox');
    expect(processesTagged(fixture.tag)).toEqual([]);
  }, 30_000);
});
