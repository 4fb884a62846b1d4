import { closedObject } from '@mobkit/core';
import { z } from 'zod';

const nonBlank = z.string().refine((s) => s.trim() !== '', 'must not be empty');

/**
 * One MCP server a mob's members may use: a stdio process (`command`, `args`, `env`, `cwd`) or a
 * streamable HTTP endpoint (`url`, `headers`). Inline as `mcp_servers = [{ id, … }]` on a profile's
 * tools, or in the host file `mcp.toml` (`[[servers]] name = …`, Meerkat's `.rkat/mcp.toml`).
 */
export interface McpServerConfig {
  /** The server's id (`mcp = ["<id>"]`, and the prefix when tool names collide). */
  id: string;
  command?: string;
  args?: string[];
  /** Extra environment for a stdio server; `${VAR}` is expanded from the mob's environment. */
  env?: Record<string, string>;
  /** Working directory of a stdio server. */
  cwd?: string;
  /** Streamable HTTP endpoint. */
  url?: string;
  /** HTTP headers (`${VAR}` expanded). */
  headers?: Record<string, string>;
}

const stringMap = z.record(z.string(), z.string());

/** The fields of an inline `mcp_servers` entry (snake_case as written; exactly one of `command` or `url`). */
export const McpServerFieldsSchema = closedObject({
  id: nonBlank,
  command: nonBlank.optional(),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: nonBlank.optional(),
  url: z.url().optional(),
  headers: stringMap.optional(),
}).superRefine((v, ctx) => {
  if ((v.command === undefined) === (v.url === undefined))
    ctx.addIssue({ code: 'custom', message: 'needs exactly one of command (stdio) or url (streamable HTTP)' });
  if (v.url !== undefined && (v.args !== undefined || v.env !== undefined || v.cwd !== undefined))
    ctx.addIssue({ code: 'custom', message: 'args, env and cwd apply to a stdio server (command), not to url' });
  if (v.command !== undefined && v.headers !== undefined)
    ctx.addIssue({ code: 'custom', message: 'headers apply to a streamable HTTP server (url), not to command' });
});
