import type { Profile } from '../definition.js';
import type { ToolCall, ToolDef } from '../llm/types.js';
import { compileSchema } from '../tools/schema.js';
import type { LocalTool, McpToolHost, McpToolInfo, ToolOrigin, ToolOutput } from '../tools/types.js';
import { type CommsHost, runCommsTool } from './comms.js';
import type { PeerEffect } from './journal.js';
import type { Member } from './member.js';
import { COMMS_TOOLS } from './prompt.js';
import type { EmbeddedTool } from './types.js';

/** Where the embedded mob's member tools come from. */
export interface MemberToolSources {
  comms: CommsHost;
  /** The application's tools (`EmbeddedMobTuning.tools`). */
  appTools: readonly EmbeddedTool[];
  /** `task_*` and `datetime` (profiles with `builtins = true`). */
  builtins?: readonly LocalTool[];
  /** The `shell` tool (profiles with `shell = true`). */
  shell?: LocalTool;
  /** The mob's MCP servers (`mcp` and `mcp_servers`). */
  mcp?: McpToolHost;
  /** The runtime's supervised MCP modules (`modules`). */
  modules?: McpToolHost;
  /** Told when a server's or module's tools cannot be listed (once per failure, until it lists again). */
  onUnavailable?: (notice: ToolsUnavailableNotice) => void;
}

/**
 * A server's or module's tools could not be listed for a profile's members: that turn goes on
 * without them, and the next turn lists again.
 */
export interface ToolsUnavailableNotice {
  profile: string;
  /** The MCP server, for the mob's own servers. */
  server?: string;
  /** The supervised module, for `modules`. */
  module?: string;
  /** Why (the listing's error message). */
  error: string;
}

/** What a call of one tool runs. */
type Runner = (
  m: Member,
  args: unknown,
  signal: AbortSignal,
  effects: PeerEffect[],
  timeoutMs: number,
) => Promise<ToolOutput>;

/** One tool as a member of a profile is offered it. */
interface Entry {
  definition: ToolDef;
  origin: ToolOrigin;
  run: Runner;
}

/** The tools of one profile at one moment (a turn uses one set for its request, events and calls). */
export interface ToolSet {
  /** What the model is offered, in a stable order. */
  readonly definitions: ToolDef[];
  /** The origin of tool `name` (undefined for a name the set does not have). */
  origin(name: string): ToolOrigin | undefined;
  /** Runs `call`; an unknown tool or invalid arguments throw (an error result for the model). */
  execute(
    m: Member,
    call: ToolCall,
    signal: AbortSignal,
    effects: PeerEffect[],
    timeoutMs: number,
  ): Promise<ToolOutput>;
}

/** The `server` / `module` fields a tool event carries for `origin`. */
export function originFields(origin: ToolOrigin | undefined): { server?: string; module?: string } {
  if (origin?.kind === 'mcp') return { server: origin.server };
  if (origin?.kind === 'module') return { module: origin.module };
  return {};
}

function asOutput(value: unknown): ToolOutput {
  return { content: typeof value === 'string' ? value : JSON.stringify(value ?? null), isError: false };
}

function argsObject(name: string, args: unknown): Record<string, unknown> {
  if (args === undefined || args === null) return {};
  if (typeof args !== 'object' || Array.isArray(args))
    throw new Error(`invalid arguments for tool ${name}: expected a JSON object, got ${JSON.stringify(args)}`);
  return args as Record<string, unknown>;
}

/** How much later than the member loop's tool timeout a server's or module's own call bound fires. */
const HOST_TIMEOUT_SLACK_MS = 250;

/** A remote (MCP) tool before naming: its source and its info. */
interface Remote {
  host: McpToolHost;
  id: string;
  origin: ToolOrigin;
  info: McpToolInfo;
}

function remoteRunner(r: Remote, displayName: string): Runner {
  // The checker is compiled once per listed tool; calls after that run it synchronously.
  let validate: ((value: unknown) => string | undefined) | null | undefined;
  const compiling = compileSchema(r.info.inputSchema).then((v) => {
    validate = v;
  });
  const call = (input: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<ToolOutput> => {
    const problem = validate?.(input);
    if (problem !== undefined)
      return Promise.reject(
        new Error(
          `invalid arguments for tool ${displayName}: ${problem}; the input schema is ${JSON.stringify(r.info.inputSchema)}`,
        ),
      );
    // The member loop times the call out (and aborts `signal`, which sends notifications/cancelled); the
    // host's own bound is a little later, so a timed-out call always reads "tool … timed out after …".
    return r.host.callTool(r.id, r.info.name, input, { signal, timeoutMs: timeoutMs + HOST_TIMEOUT_SLACK_MS });
  };
  return (_m, args, signal, _effects, timeoutMs) => {
    let input: Record<string, unknown>;
    try {
      input = argsObject(displayName, args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (validate === undefined) return compiling.then(() => call(input, signal, timeoutMs));
    return call(input, signal, timeoutMs);
  };
}

/**
 * The tools of the embedded mob's members, per profile: the comms tools (`comms`), the builtins
 * (`builtins`), the shell (`shell`), the tools of the mob's MCP servers (`mcp`, `mcp_servers`) and of
 * the runtime's supervised modules (`modules`), and the application's tools. Under `read_only` the
 * shell and MCP servers are denied (as in Meerkat), and of the builtins, module and application tools
 * only the read-only ones are offered; the comms tools stay (they are how a member is part of the mob).
 *
 * A server's or module's tool keeps its own name unless another tool the profile is offered has the
 * same name: then each such tool is offered as `<server>__<tool>`. A server's tool list is read once
 * and read again after it says it changed (`notifications/tools/list_changed`); a server that cannot
 * be listed is left out of that turn (`onUnavailable` is told) and tried again on the next.
 */
export class MemberTools {
  private readonly cache = new Map<string, Promise<ToolSet>>();
  /** The last listing failure told per profile and source (so a source down for many turns is told once). */
  private readonly told = new Map<string, string>();

  constructor(private readonly sources: MemberToolSources) {
    const invalidate = () => this.cache.clear();
    sources.mcp?.onToolsChanged(invalidate);
    sources.modules?.onToolsChanged(invalidate);
  }

  /** The tool set members of `profile` are offered now. */
  forProfile(profile: Profile): Promise<ToolSet> {
    let set = this.cache.get(profile.name);
    if (!set) {
      const building = this.build(profile);
      set = building;
      this.cache.set(profile.name, building);
      // A set missing an unreachable server is not kept: the next turn lists again.
      building.then(
        (s) => {
          if ((s as ToolSetImpl).partial && this.cache.get(profile.name) === building) this.cache.delete(profile.name);
        },
        () => {
          if (this.cache.get(profile.name) === building) this.cache.delete(profile.name);
        },
      );
    }
    return set;
  }

  /** The ids of the mob's MCP servers a profile uses (host-file ids, then inline ones). */
  static serverIds(profile: Profile): string[] {
    return [...new Set([...profile.tools.mcp, ...profile.tools.mcpServers.map((s) => s.id)])];
  }

  private async build(profile: Profile): Promise<ToolSet> {
    const readOnly = profile.tools.readOnly;
    const fixed: Entry[] = [];
    if (profile.tools.comms) {
      for (const definition of COMMS_TOOLS)
        fixed.push({
          definition,
          origin: { kind: 'comms' },
          run: async (m, args, _signal, effects) =>
            asOutput(
              await runCommsTool(this.sources.comms, m, definition.name, argsObject(definition.name, args), effects),
            ),
        });
    }
    const local = (tool: LocalTool, origin: ToolOrigin) =>
      fixed.push({
        definition: tool.definition,
        origin,
        run: (m, args, signal) =>
          tool.run(argsObject(tool.definition.name, args), {
            memberId: m.id,
            profile: m.profile.name,
            sessionId: m.sessionId,
            signal,
          }),
      });
    if (profile.tools.builtins)
      for (const tool of this.sources.builtins ?? []) if (!readOnly || tool.readOnly) local(tool, { kind: 'builtin' });
    if (profile.tools.shell && !readOnly && this.sources.shell) local(this.sources.shell, { kind: 'shell' });
    for (const t of this.sources.appTools) {
      if (t.profiles && !t.profiles.includes(profile.name)) continue;
      if (readOnly && t.readOnly !== true) continue;
      fixed.push({
        definition: t.definition,
        origin: { kind: 'host' },
        run: async (m, args, signal) =>
          asOutput(await t.execute(args, { memberId: m.id, profile: m.profile.name, sessionId: m.sessionId, signal })),
      });
    }

    const remotes: Remote[] = [];
    let partial = false;
    const collect = async (
      host: McpToolHost | undefined,
      ids: string[],
      origin: (id: string) => ToolOrigin,
      onlyReadOnly: boolean,
    ) => {
      if (!host) return;
      const lists = await Promise.allSettled(ids.map((id) => host.listTools(id)));
      lists.forEach((list, i) => {
        const id = ids[i] as string;
        const o = origin(id);
        const key = `${profile.name}\u0000${o.kind}\u0000${id}`;
        if (list.status === 'rejected') {
          partial = true;
          const error = (list.reason as Error)?.message ?? String(list.reason);
          if (this.told.get(key) !== error) {
            this.told.set(key, error);
            this.sources.onUnavailable?.({ profile: profile.name, ...originFields(o), error });
          }
          return;
        }
        this.told.delete(key);
        for (const info of list.value)
          if (!onlyReadOnly || info.readOnly) remotes.push({ host, id, origin: origin(id), info });
      });
    };
    if (!readOnly)
      await collect(this.sources.mcp, MemberTools.serverIds(profile), (server) => ({ kind: 'mcp', server }), false);
    await collect(this.sources.modules, profile.tools.modules, (module) => ({ kind: 'module', module }), readOnly);

    const count = new Map<string, number>();
    for (const e of fixed) count.set(e.definition.name, (count.get(e.definition.name) ?? 0) + 1);
    for (const r of remotes) count.set(r.info.name, (count.get(r.info.name) ?? 0) + 1);
    const entries = new Map<string, Entry>();
    for (const e of fixed) if (!entries.has(e.definition.name)) entries.set(e.definition.name, e);
    for (const r of remotes) {
      const name = (count.get(r.info.name) ?? 0) > 1 ? `${r.id}__${r.info.name}` : r.info.name;
      if (entries.has(name)) continue;
      entries.set(name, {
        definition: { name, description: r.info.description, inputSchema: r.info.inputSchema },
        origin: r.origin,
        run: remoteRunner(r, name),
      });
    }
    return new ToolSetImpl(entries, partial);
  }
}

class ToolSetImpl implements ToolSet {
  readonly definitions: ToolDef[];

  constructor(
    private readonly entries: Map<string, Entry>,
    readonly partial: boolean,
  ) {
    this.definitions = [...entries.values()].map((e) => e.definition);
  }

  origin(name: string): ToolOrigin | undefined {
    return this.entries.get(name)?.origin;
  }

  execute(
    m: Member,
    call: ToolCall,
    signal: AbortSignal,
    effects: PeerEffect[],
    timeoutMs: number,
  ): Promise<ToolOutput> {
    const entry = this.entries.get(call.name);
    if (!entry)
      return Promise.reject(
        new Error(`unknown tool: ${call.name} (this member's tools: ${[...this.entries.keys()].join(', ') || 'none'})`),
      );
    return entry.run(m, call.args, signal, effects, timeoutMs);
  }
}
