import { readFileSync } from 'node:fs';
import { closedObject, isMobKitError, parseTomlText, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { MobRuntimeError } from '../../errors.js';
import type { McpServerConfig } from './config.js';

const nonBlank = z.string().refine((s) => s.trim() !== '', 'must not be empty');
const stringMap = z.record(z.string(), z.string());
const httpUrl = z.url().refine((u) => /^https?:\/\//i.test(u), 'must be an http:// or https:// URL');

/** One `[[servers]]` entry of the host file, as written (Meerkat's `.rkat/mcp.toml`). */
const HostServerSchema = closedObject({
  name: nonBlank,
  transport: z.string().optional(),
  command: nonBlank.optional(),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  cwd: nonBlank.optional(),
  url: httpUrl.optional(),
  headers: stringMap.optional(),
}).superRefine((v, ctx) => {
  const transport = v.transport;
  if (transport === 'sse') {
    ctx.addIssue({
      code: 'custom',
      path: ['transport'],
      message:
        'the legacy HTTP+SSE transport ("sse") is not supported; point url at the server\'s streamable HTTP endpoint and set transport = "streamable_http"',
    });
    return;
  }
  if (transport !== undefined && !['stdio', 'streamable_http', 'http'].includes(transport)) {
    ctx.addIssue({
      code: 'custom',
      path: ['transport'],
      message: `expected one of stdio, streamable_http, http, got ${JSON.stringify(transport)}`,
    });
    return;
  }
  const kind =
    transport === undefined ? (v.url !== undefined ? 'http' : 'stdio') : transport === 'stdio' ? 'stdio' : 'http';
  if (kind === 'stdio') {
    if (v.command === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message:
          transport === undefined
            ? 'required: a server needs command (stdio) or url (streamable HTTP)'
            : 'required for transport = "stdio"',
      });
    for (const key of ['url', 'headers'] as const)
      if (v[key] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `applies to a streamable HTTP server (url), not to a stdio server (command)`,
        });
  } else {
    if (v.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: `required for transport = "${transport}"` });
    for (const key of ['command', 'args', 'env', 'cwd'] as const)
      if (v[key] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'applies to a stdio server (command), not to a streamable HTTP server (url)',
        });
  }
});

const HostFileSchema = closedObject({ servers: z.array(HostServerSchema).optional() });

/**
 * Reads an MCP host file (Meerkat's `.rkat/mcp.toml`): `[[servers]]` entries with `name` (the id),
 * `command`, `args`, `env`, `cwd` (stdio) or `url`, `headers` (streamable HTTP), and optional
 * `transport = "stdio" | "streamable_http"` (`"http"` is accepted as streamable HTTP; `"sse"` is
 * refused). `${VAR}` in `env` and `headers` is kept as written (the hub expands it). Every problem,
 * including a missing file, bad TOML, an unknown key or a duplicate name, is a `DEFINITION_ERROR`
 * naming the file and the key path (`servers[1].command`).
 */
export function loadMcpHostFile(path: string): McpServerConfig[] {
  const what = `MCP host file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MobRuntimeError(
      'DEFINITION_ERROR',
      code === 'ENOENT'
        ? `${what} does not exist; create it with [[servers]] entries or stop referring to it`
        : `${what} cannot be read: ${(error as Error).message}`,
      { details: { file: path }, cause: error },
    );
  }
  let fields: z.output<typeof HostFileSchema>;
  try {
    fields = parseWithSchema(HostFileSchema, parseTomlText(text, what), { what, code: 'DefinitionError' });
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    throw new MobRuntimeError('DEFINITION_ERROR', error.message, {
      details: { ...error.details, file: path },
      cause: error,
    });
  }
  const servers = fields.servers ?? [];
  const seen = new Map<string, number>();
  return servers.map((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined)
      throw new MobRuntimeError(
        'DEFINITION_ERROR',
        `invalid ${what}: servers[${i}].name: "${s.name}" is already the name of servers[${first}]; names must be unique`,
        { details: { file: path, field: `servers[${i}].name`, server: s.name } },
      );
    seen.set(s.name, i);
    const config: McpServerConfig = { id: s.name };
    if (s.command !== undefined) config.command = s.command;
    if (s.args !== undefined) config.args = s.args;
    if (s.env !== undefined) config.env = s.env;
    if (s.cwd !== undefined) config.cwd = s.cwd;
    if (s.url !== undefined) config.url = s.url;
    if (s.headers !== undefined) config.headers = s.headers;
    return config;
  });
}
