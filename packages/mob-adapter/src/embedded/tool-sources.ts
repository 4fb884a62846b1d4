import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MobKitStore, Clock } from '@mobkit/core';
import type { MobDefinition } from '../definition.js';
import { MobRuntimeError } from '../errors.js';
import { type BuiltinToolsOptions, createBuiltinTools, purgeMemberTasks } from '../tools/builtins.js';
import type { McpServerConfig } from '../tools/mcp/config.js';
import { loadMcpHostFile } from '../tools/mcp/host-file.js';
import { McpHub } from '../tools/mcp/hub.js';
import { createShellTool } from '../tools/shell.js';
import type { McpToolHost } from '../tools/types.js';
import type { CommsHost } from './comms.js';
import { MemberTools, type MemberToolSources } from './tools.js';
import type { EmbeddedMobOptions } from './types.js';

/** The name of the host file of MCP servers, beside the mob definition (Meerkat's `.rkat/mcp.toml`). */
export const MCP_HOST_FILE = 'mcp.toml';

function definitionError(field: string, message: string, details: Record<string, unknown> = {}): MobRuntimeError {
  return new MobRuntimeError('DEFINITION_ERROR', `definition error: ${field}: ${message}`, {
    details: { field, ...details },
  });
}

/**
 * The MCP servers a definition's profiles use: the inline `mcp_servers` and the ids of `mcp` looked
 * up in the host file (default `mcp.toml` in the definition's `baseDir`, else the current directory).
 * An id the host file does not define (or a missing host file) is `DefinitionError` naming the
 * field, the id and the file; an id defined inline and in the host file differently fails too.
 * `createEmbeddedMob` runs it; `mobkit validate` too.
 */
export function resolveMcpServers(
  definition: MobDefinition,
  hostFile = join(definition.baseDir ?? process.cwd(), MCP_HOST_FILE),
): McpServerConfig[] {
  const byId = new Map<string, McpServerConfig>();
  const profiles = Object.values(definition.profiles);
  for (const p of profiles) for (const s of p.tools.mcpServers) byId.set(s.id, s);
  let hosted: Map<string, McpServerConfig> | undefined;
  for (const p of profiles) {
    p.tools.mcp.forEach((id, i) => {
      const field = `profiles.${p.name}.tools.mcp[${i}]`;
      if (!hosted) {
        if (!existsSync(hostFile))
          throw definitionError(
            field,
            `MCP server '${id}' is not defined: there is no host file ${hostFile} (define it there under [[servers]] name = "${id}", or inline under mcp_servers)`,
            { server: id, file: hostFile },
          );
        hosted = new Map(loadMcpHostFile(hostFile).map((s) => [s.id, s]));
      }
      const server = hosted.get(id);
      if (!server)
        throw definitionError(
          field,
          `MCP server '${id}' is not defined in ${hostFile} (it defines: ${[...hosted.keys()].join(', ') || 'none'})`,
          { server: id, file: hostFile },
        );
      const inline = byId.get(id);
      if (inline && JSON.stringify(inline) !== JSON.stringify(server))
        throw definitionError(
          field,
          `MCP server '${id}' is defined both inline (mcp_servers) and in ${hostFile}, differently; keep one`,
          { server: id, file: hostFile },
        );
      byId.set(id, server);
    });
  }
  return [...byId.values()];
}

/** What {@link memberTools} builds, and what the mob closes at the end. */
export interface BuiltTools {
  tools: MemberTools;
  /** The mob's MCP hub (undefined when no profile uses an MCP server). */
  hub: McpHub | undefined;
  /** Deletes a member's builtin tasks (retire with purge); resolves how many. */
  purgeTasks(memberId: string): Promise<number>;
}

/**
 * The member tools of a mob: checks what the profiles ask for against what the options give (the
 * host file, a module host for `modules`), and builds the sources. Nothing is started here: MCP
 * servers are spawned on first use, once for the mob.
 */
export function memberTools(
  definition: MobDefinition,
  options: EmbeddedMobOptions,
  comms: CommsHost,
  clock: Clock,
  store: MobKitStore | undefined,
): BuiltTools {
  const tuning = options.options ?? {};
  const profiles = Object.values(definition.profiles);
  const base = definition.baseDir ?? process.cwd();
  const hostFile = options.mcpHostFile ? resolve(options.mcpHostFile) : join(base, MCP_HOST_FILE);
  const servers = resolveMcpServers(definition, hostFile);
  let modules: McpToolHost | undefined;
  for (const p of profiles) {
    if (p.tools.modules.length === 0) continue;
    if (!options.moduleTools)
      throw definitionError(
        `profiles.${p.name}.tools.modules`,
        `module tools (${p.tools.modules.join(', ')}) need a runtime that supervises those modules: run the mob under mobkit's runtime, or pass createEmbeddedMob(…, { moduleTools })`,
      );
    modules = options.moduleTools;
  }
  const sources: MemberToolSources = { comms, appTools: tuning.tools ?? [] };
  if (options.onToolsUnavailable) sources.onUnavailable = options.onToolsUnavailable;
  if (modules) sources.modules = modules;
  const hub = servers.length > 0 ? new McpHub(servers, { ...options.mcp, env: tuning.env ?? process.env }) : undefined;
  if (hub) sources.mcp = hub;
  const taskOptions: BuiltinToolsOptions = { mobId: definition.id, ...(store ? { store } : {}), clock };
  const builtins = profiles.some((p) => p.tools.builtins);
  if (builtins) sources.builtins = createBuiltinTools(taskOptions);
  if (profiles.some((p) => p.tools.shell)) {
    const shell = tuning.shell ?? {};
    sources.shell = createShellTool({
      ...shell,
      root: resolve(base, shell.root ?? '.'),
      env: shell.env ?? tuning.env ?? process.env,
    });
  }
  return {
    tools: new MemberTools(sources),
    hub,
    purgeTasks: (memberId) => (builtins ? purgeMemberTasks(taskOptions, memberId) : Promise.resolve(0)),
  };
}
