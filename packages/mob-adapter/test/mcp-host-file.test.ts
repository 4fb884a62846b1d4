import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MobRuntimeError } from '../src/errors.js';
import { loadMcpHostFile } from '../src/tools/mcp/host-file.js';

const dir = mkdtempSync(join(tmpdir(), 'mcp-host-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The literal placeholder `${name}` (as a user writes it in a config). */
const ref = (name: string): string => `\${${name}}`;

let n = 0;
function file(text: string): string {
  n += 1;
  const path = join(dir, `mcp-${n}.toml`);
  writeFileSync(path, text);
  return path;
}

/** The DEFINITION_ERROR loading `path` throws (the test fails when it loads). */
function refusal(path: string): MobRuntimeError {
  try {
    loadMcpHostFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(MobRuntimeError);
    const e = error as MobRuntimeError;
    expect(e.mobCode).toBe('DEFINITION_ERROR');
    expect(e.code).toBe('DefinitionError');
    expect(e.message).toContain(path);
    return e;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('loadMcpHostFile', () => {
  it("reads Meerkat's [[servers]] entries: stdio and streamable HTTP, variables kept for the hub to expand", () => {
    const path = file(`
[[servers]]
name = "fs"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
cwd = "/srv"
[servers.env]
API_KEY = "\${FS_KEY}"

[[servers]]
name = "web"
url = "https://mcp.example.com/mcp"
headers = { Authorization = "Bearer \${WEB_TOKEN}" }

[[servers]]
name = "local"
transport = "http"
url = "http://127.0.0.1:8080/mcp"

[[servers]]
name = "explicit"
transport = "stdio"
command = "node"

[[servers]]
name = "streamed"
transport = "streamable_http"
url = "http://127.0.0.1:8081/mcp"
`);
    expect(loadMcpHostFile(path)).toEqual([
      {
        id: 'fs',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'],
        cwd: '/srv',
        env: { API_KEY: ref('FS_KEY') },
      },
      { id: 'web', url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${ref('WEB_TOKEN')}` } },
      { id: 'local', url: 'http://127.0.0.1:8080/mcp' },
      { id: 'explicit', command: 'node' },
      { id: 'streamed', url: 'http://127.0.0.1:8081/mcp' },
    ]);
  });

  it('an empty file declares no servers', () => {
    expect(loadMcpHostFile(file('# nothing yet\n'))).toEqual([]);
  });

  it('refuses an unknown key, naming its path and the allowed keys', () => {
    const path = file('[[servers]]\nname = "fs"\ncommand = "node"\n\n[[servers]]\nname = "git"\ncomand = "git-mcp"\n');
    const e = refusal(path);
    expect(e.message).toContain(
      'servers[1].comand: unknown key; allowed: name, transport, command, args, env, cwd, url, headers',
    );
    expect(refusal(file('[server]\nname = "x"\n')).message).toContain('server: unknown key; allowed: servers');
  });

  it('refuses a server without command or url, naming the key path', () => {
    expect(refusal(file('[[servers]]\nname = "a"\ncommand = "x"\n\n[[servers]]\nname = "b"\n')).message).toContain(
      'servers[1].command: required: a server needs command (stdio) or url (streamable HTTP)',
    );
    expect(refusal(file('[[servers]]\nname = "a"\ntransport = "http"\n')).message).toContain(
      'servers[0].url: required for transport = "http"',
    );
    expect(
      refusal(file('[[servers]]\nname = "a"\ntransport = "stdio"\nurl = "http://127.0.0.1/mcp"\n')).message,
    ).toContain('servers[0].command: required for transport = "stdio"');
    expect(refusal(file('[[servers]]\ncommand = "x"\n')).message).toContain('servers[0].name: required');
  });

  it('refuses command and url together, a bad url and a bad transport', () => {
    expect(refusal(file('[[servers]]\nname = "a"\ncommand = "x"\nurl = "http://127.0.0.1/mcp"\n')).message).toContain(
      'servers[0].command: applies to a stdio server (command), not to a streamable HTTP server (url)',
    );
    expect(refusal(file('[[servers]]\nname = "a"\nurl = "ftp://example.com"\n')).message).toContain(
      'servers[0].url: must be an http:// or https:// URL',
    );
    expect(
      refusal(file('[[servers]]\nname = "a"\ntransport = "ws"\nurl = "http://127.0.0.1/mcp"\n')).message,
    ).toContain('servers[0].transport: expected one of stdio, streamable_http, http, got "ws"');
  });

  it('refuses the legacy sse transport with what to do instead', () => {
    const e = refusal(file('[[servers]]\nname = "old"\ntransport = "sse"\nurl = "http://127.0.0.1/sse"\n'));
    expect(e.message).toContain('servers[0].transport: the legacy HTTP+SSE transport ("sse") is not supported');
    expect(e.message).toContain('transport = "streamable_http"');
  });

  it('refuses a duplicate name', () => {
    const path = file('[[servers]]\nname = "fs"\ncommand = "a"\n\n[[servers]]\nname = "fs"\ncommand = "b"\n');
    expect(refusal(path).message).toBe(
      `invalid MCP host file ${path}: servers[1].name: "fs" is already the name of servers[0]; names must be unique`,
    );
  });

  it('refuses bad TOML naming the file and the line', () => {
    const path = file('[[servers]]\nname = "fs"\ncommand = node\n');
    const e = refusal(path);
    expect(e.message).toMatch(new RegExp(`^MCP host file ${path}: TOML syntax error at line 3, column \\d+`));
  });

  it('a missing file is an error naming the path', () => {
    const path = join(dir, 'absent', 'mcp.toml');
    expect(refusal(path).message).toBe(
      `MCP host file ${path} does not exist; create it with [[servers]] entries or stop referring to it`,
    );
  });
});
