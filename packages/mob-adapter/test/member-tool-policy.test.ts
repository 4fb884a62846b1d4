import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@mobkit/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EmbeddedMob,
  type EmbeddedTool,
  type LlmRequest,
  MobDefinition,
  type MobEvent,
  ScriptedLlmClient,
  type ToolResult,
  createEmbeddedMob,
} from '../src/index.js';
import type { McpToolHost, McpToolInfo, ToolOutput } from '../src/tools/types.js';

// read_only members and tool events: under `read_only = true` only the read-only builtins, host
// tools and module tools are offered, the shell and the MCP servers are denied (the server is not
// even started), and calls of tools not offered are error results; tool events carry toolCallId and
// the MCP server / module a tool came from. A host tool may share a name with a server's tool.

const STDIO_SERVER = fixturePath('mcp-tools', 'stdio-server.mjs');
const COMMS = ['peers', 'send_message', 'reply_to_peer'];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tool-policy-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function definition(spawnLog: string): MobDefinition {
  const server = `{ id = "fx", command = ${JSON.stringify(process.execPath)}, args = [${JSON.stringify(STDIO_SERVER)}], env = { MCP_TOOLS_SPAWN_LOG = ${JSON.stringify(spawnLog)} } }`;
  const tools = (readOnly: boolean) => `
comms = true
builtins = true
shell = true
read_only = ${readOnly}
modules = ["mod"]
mcp_servers = [${server}]
`;
  return MobDefinition.fromToml(`
[mob]
id = "policy"

[profiles.reader]
model = "gpt-5.2"
external_addressable = true
[profiles.reader.tools]
${tools(true)}

[profiles.writer]
model = "gpt-5.2"
external_addressable = true
[profiles.writer.tools]
${tools(false)}
`);
}

/** A supervised-module host over one in-process module `mod` (the runtime's seam; mobkit's is over the supervisor). */
class ModuleHost implements McpToolHost {
  readonly calls: Array<{ id: string; tool: string; args: Record<string, unknown> }> = [];
  private readonly tools: McpToolInfo[] = [
    { name: 'mod_read', description: 'reads', inputSchema: { type: 'object' }, readOnly: true },
    { name: 'mod_write', description: 'writes', inputSchema: { type: 'object' }, readOnly: false },
  ];

  async listTools(id: string): Promise<McpToolInfo[]> {
    if (id !== 'mod') throw new Error(`no module ${id}`);
    return this.tools;
  }

  async callTool(id: string, tool: string, args: Record<string, unknown>): Promise<ToolOutput> {
    this.calls.push({ id, tool, args });
    return { content: `${tool} answered`, isError: false };
  }

  onToolsChanged(): () => void {
    return () => undefined;
  }
}

/** Host tools: read-only `lookup` and `echo` (the MCP fixture has an `echo` too), writing `mutate`. */
function hostTools(): { tools: EmbeddedTool[]; runs: Record<string, number> } {
  const runs: Record<string, number> = { lookup: 0, mutate: 0, echo: 0 };
  const tool = (name: string, readOnly: boolean | undefined): EmbeddedTool => ({
    definition: { name, description: `host ${name}`, inputSchema: { type: 'object' } },
    ...(readOnly !== undefined ? { readOnly } : {}),
    execute: (args) => {
      runs[name] = (runs[name] ?? 0) + 1;
      return `host ${name} ${JSON.stringify(args)}`;
    },
  });
  return { tools: [tool('lookup', true), tool('mutate', undefined), tool('echo', true)], runs };
}

interface Setup {
  mob: EmbeddedMob;
  llm: ScriptedLlmClient;
  events: MobEvent[];
  modules: ModuleHost;
  runs: Record<string, number>;
  spawnLog: string;
  shellMarker: string;
}

async function setup(scripts: ConstructorParameters<typeof ScriptedLlmClient>[0]): Promise<Setup> {
  const dir = tempDir();
  const spawnLog = join(dir, 'spawns.log');
  const llm = new ScriptedLlmClient(scripts);
  const modules = new ModuleHost();
  const { tools, runs } = hostTools();
  const mob = await createEmbeddedMob(definition(spawnLog), {
    llm,
    moduleTools: modules,
    options: { tools, shell: { root: dir }, toolTimeoutMs: 20_000 },
  });
  cleanups.push(() => mob.close());
  const events: MobEvent[] = [];
  mob.subscribe((e) => events.push(e));
  return { mob, llm, events, modules, runs, spawnLog, shellMarker: join(dir, 'shell-ran') };
}

function toolNames(request: LlmRequest | undefined): string[] {
  return (request?.tools ?? []).map((t) => t.name);
}

function spawns(spawnLog: string): number {
  if (!existsSync(spawnLog)) return 0;
  return readFileSync(spawnLog, 'utf8')
    .split('\n')
    .filter((l) => l !== '').length;
}

function resultsOf(request: LlmRequest | undefined): ToolResult[] {
  const last = request?.messages.at(-1);
  return last?.role === 'tool_results' ? last.results : [];
}

const READER_TOOLS = [...COMMS, 'task_get', 'task_list', 'datetime', 'lookup', 'echo', 'mod_read'];

describe('read_only members', () => {
  it('offers only read-only builtins, host and module tools; no shell, no MCP server (never started)', async () => {
    const s = await setup({});
    await s.mob.spawn({ profile: 'reader', meerkatId: 'r-1' });
    await s.mob.runTurn('r-1', 'look around');
    expect(toolNames(s.llm.requests[0]?.request)).toEqual(READER_TOOLS);
    expect(spawns(s.spawnLog)).toBe(0);
  });

  it('the writer profile beside it gets everything; the MCP echo is namespaced beside the host echo', async () => {
    const s = await setup({});
    await s.mob.spawn({ profile: 'writer', meerkatId: 'w-1' });
    await s.mob.runTurn('w-1', 'work');
    const names = toolNames(s.llm.requests[0]?.request);
    expect(names.slice(0, 12)).toEqual([
      ...COMMS,
      'task_create',
      'task_get',
      'task_list',
      'task_update',
      'datetime',
      'shell',
      'lookup',
      'mutate',
      'echo',
    ]);
    // The host tool keeps its name; the server's tool of the same name is offered as fx__echo.
    expect(names.filter((n) => n === 'echo')).toHaveLength(1);
    expect(names).toContain('fx__echo');
    expect(names).toContain('add');
    expect(names).not.toContain('fx__add');
    expect(names.slice(-2)).toEqual(['mod_read', 'mod_write']);
    expect(new Set(names).size).toBe(names.length);
    expect(spawns(s.spawnLog)).toBe(1);
  });

  it('answers calls of tools a read_only member is not offered with error results; none of them runs', async () => {
    const s = await setup({
      'r-1': [
        {
          toolCalls: [
            { id: 'c-shell', name: 'shell', args: { argv: ['touch', 'shell-ran'] } },
            { id: 'c-mutate', name: 'mutate', args: {} },
            { id: 'c-task', name: 'task_create', args: { title: 'not allowed' } },
            { id: 'c-mcp', name: 'fx__echo', args: { text: 'hi' } },
            { id: 'c-mcp2', name: 'add', args: { a: 1, b: 2 } },
            { id: 'c-mod', name: 'mod_write', args: {} },
            { id: 'c-echo', name: 'echo', args: { text: 'hi' } },
            { id: 'c-list', name: 'task_list', args: {} },
          ],
        },
        { text: 'done' },
      ],
    });
    await s.mob.spawn({ profile: 'reader', meerkatId: 'r-1' });
    await expect(s.mob.runTurn('r-1', 'try everything')).resolves.toMatchObject({ text: 'done', toolCalls: 8 });
    const results = resultsOf(s.llm.requests[1]?.request);
    const byId = new Map(results.map((r) => [r.toolCallId, r]));
    const offered = READER_TOOLS.join(', ');
    for (const [id, name] of [
      ['c-shell', 'shell'],
      ['c-mutate', 'mutate'],
      ['c-task', 'task_create'],
      ['c-mcp', 'fx__echo'],
      ['c-mcp2', 'add'],
      ['c-mod', 'mod_write'],
    ] as const) {
      expect(byId.get(id)).toEqual({
        toolCallId: id,
        name,
        content: `unknown tool: ${name} (this member's tools: ${offered})`,
        isError: true,
      });
    }
    expect(byId.get('c-echo')).toEqual({
      toolCallId: 'c-echo',
      name: 'echo',
      content: 'host echo {"text":"hi"}',
      isError: false,
    });
    expect(byId.get('c-list')?.isError).toBe(false);
    expect(JSON.parse(byId.get('c-list')?.content ?? 'null')).toMatchObject({ tasks: [] });
    expect(s.runs).toEqual({ lookup: 0, mutate: 0, echo: 1 });
    expect(s.modules.calls).toEqual([]);
    expect(existsSync(s.shellMarker)).toBe(false);
    expect(spawns(s.spawnLog)).toBe(0);
  });
});

describe('tool events', () => {
  it('carry toolCallId, and server for an MCP tool, module for a module tool, neither for a host tool', async () => {
    const s = await setup({
      'w-1': [
        {
          toolCalls: [
            { id: 'e-mcp', name: 'fx__echo', args: { text: 'from mcp' } },
            { id: 'e-host', name: 'echo', args: { text: 'from host' } },
            { id: 'e-mod', name: 'mod_read', args: { q: 1 } },
            { id: 'e-bad', name: 'add', args: { a: 'one' } },
          ],
        },
        { text: 'done' },
      ],
    });
    await s.mob.spawn({ profile: 'writer', meerkatId: 'w-1' });
    await s.mob.runTurn('w-1', 'call them');
    const requested = s.events.flatMap((e) =>
      e.kind === 'agent' && e.event.type === 'tool_call_requested' ? [e.event] : [],
    );
    expect(requested).toEqual([
      {
        type: 'tool_call_requested',
        id: 'e-mcp',
        toolCallId: 'e-mcp',
        name: 'fx__echo',
        args: { text: 'from mcp' },
        server: 'fx',
      },
      { type: 'tool_call_requested', id: 'e-host', toolCallId: 'e-host', name: 'echo', args: { text: 'from host' } },
      {
        type: 'tool_call_requested',
        id: 'e-mod',
        toolCallId: 'e-mod',
        name: 'mod_read',
        args: { q: 1 },
        module: 'mod',
      },
      { type: 'tool_call_requested', id: 'e-bad', toolCallId: 'e-bad', name: 'add', args: { a: 'one' }, server: 'fx' },
    ]);
    const completed = new Map(
      s.events.flatMap((e) =>
        e.kind === 'agent' && e.event.type === 'tool_execution_completed' ? [[e.event.toolCallId, e.event]] : [],
      ),
    );
    expect(completed.size).toBe(4);
    expect(completed.get('e-mcp')).toMatchObject({
      id: 'e-mcp',
      name: 'fx__echo',
      result: 'from mcp',
      isError: false,
      server: 'fx',
    });
    expect(completed.get('e-mcp')).not.toHaveProperty('module');
    expect(completed.get('e-host')).toMatchObject({ result: 'host echo {"text":"from host"}', isError: false });
    expect(completed.get('e-host')).not.toHaveProperty('server');
    expect(completed.get('e-host')).not.toHaveProperty('module');
    expect(completed.get('e-mod')).toMatchObject({ result: 'mod_read answered', isError: false, module: 'mod' });
    expect(completed.get('e-mod')).not.toHaveProperty('server');
    // Arguments are checked against the server's input schema before the call.
    expect(completed.get('e-bad')).toMatchObject({ isError: true, server: 'fx' });
    expect(completed.get('e-bad')?.result).toMatch(/^invalid arguments for tool add: /);
    expect(s.modules.calls).toEqual([{ id: 'mod', tool: 'mod_read', args: { q: 1 } }]);
    expect(s.runs.echo).toBe(1);
  });
});
