// Runs the "A complete module" example of README.md exactly as written: the code block is extracted
// at test time, written to a temp directory (whose node_modules is the repository's, so it imports
// the BUILT kit as an install would) and spoken to with the official MCP SDK client over stdio.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { parseMobKitConfig, parseTomlText } from '@mobkit/core';
import { startModuleRuntime } from '@mobkit/supervisor';
import { builtEntry, childEnv, REPO_ROOT } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mobkit-module-kit-readme-'));
const script = join(dir, 'greeter.mjs');
const clients: Client[] = [];
/** The app config's placeholder for its own directory (`mobkit.toml` args and env). */
const CONFIG_DIR = ['$', '{config_dir}'].join('');

const readme = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The body of the first fenced block of `lang` whose first line contains `marker`. */
function blockOf(text: string, lang: string, marker: string): string {
  for (const match of text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))) {
    const body = match[1] ?? '';
    if ((body.split('\n')[0] ?? '').includes(marker)) return body;
  }
  throw new Error(`no \`\`\`${lang} block whose first line contains ${marker}`);
}

beforeAll(() => {
  builtEntry(packageDir);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(script, blockOf(readme('packages/module-kit/README.md'), 'js', '// greeter.mjs'));
  writeFileSync(join(dir, 'greeter.toml'), 'greeting = "Hi"\n');
  writeFileSync(join(dir, 'bad.toml'), 'greeting = 3\n');
}, 120_000);

afterAll(async () => {
  while (clients.length > 0) await clients.pop()?.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  return spawnSync(process.execPath, [script, ...args], {
    cwd: dir,
    env: childEnv(),
    encoding: 'utf8',
    timeout: 15_000,
  });
}

describe('the README example module', () => {
  it('is under 30 lines', () => {
    expect(readFileSync(script, 'utf8').trimEnd().split('\n').length).toBeLessThan(30);
  });

  it('lists its tool and answers a call over MCP with its TOML config', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [script, '--config', 'greeter.toml'],
      cwd: dir,
      env: childEnv(),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'module-kit-test', version: '0.0.0' });
    clients.push(client);
    await client.connect(transport);
    expect(client.getServerVersion()).toMatchObject({ name: 'greeter', version: '1.0.0' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['greet']);
    const result = await client.callTool({ name: 'greet', arguments: { name: 'Ada' } });
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: '{"message":"Hi, Ada!"}' }]);
  });

  it('prints its usage on --help and exits 0', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe('usage: greeter [--config] <file.toml>   (MCP server on stdio)\n');
  });

  it('exits 2 naming the file and key on a bad config, a missing file or an unknown argument', () => {
    const bad = run(['bad.toml']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('greeter: invalid greeter config bad.toml: greeting: expected string, got integer\n');
    const missing = run(['missing.toml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe('greeter: greeter config missing.toml: cannot read the file (ENOENT)\n');
    const unknown = run(['--verbose']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('greeter: unknown argument "--verbose"');
    expect(bad.stdout + missing.stdout + unknown.stdout).toBe('');
  });
});

describe('the same module registered with the supervisor (packages/supervisor/README.md)', () => {
  it('shows the same code as the kit README', () => {
    expect(blockOf(readme('packages/supervisor/README.md'), 'js', '// greeter.mjs')).toBe(readFileSync(script, 'utf8'));
  });

  it('starts from its mobkit.toml entries as an MCP module and answers a routed tool call', async () => {
    const toml = parseTomlText(
      blockOf(readme('packages/supervisor/README.md'), 'toml', '[[modules]]').replaceAll(CONFIG_DIR, dir),
      'supervisor README mobkit.toml',
    ) as { modules: unknown[]; pre_spawn: { module_id: string; env: Record<string, string> }[] };
    const config = parseMobKitConfig({
      modules: toml.modules,
      discovery: { namespace: 'readme', modules: ['greeter'] },
      pre_spawn: toml.pre_spawn.map((p) => ({ module_id: p.module_id, env: Object.entries(p.env) })),
    });
    const runtime = await startModuleRuntime(config, { timeoutMs: 15_000 });
    try {
      expect(runtime.loadedModules()).toEqual(['greeter']);
      expect(runtime.isMcpModule('greeter')).toBe(true);
      const answer = await runtime.callTool('greeter', 'greet', { name: 'Ada' }, 5_000);
      expect(answer.payload).toEqual({ message: 'Hi, Ada!' });
    } finally {
      await runtime.shutdown();
    }
  }, 30_000);
});
