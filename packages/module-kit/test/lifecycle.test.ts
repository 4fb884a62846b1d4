// runStdioModule's lifecycle in a real process (test/fixtures/lifecycle.mjs, against the built kit):
// config from argv or env, stop on stdin end and on SIGTERM with `close` first, exit codes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry, childEnv, waitFor } from '@mobkit/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/lifecycle.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mobkit-module-kit-lifecycle-'));
let runs = 0;

beforeAll(() => {
  builtEntry(packageDir);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  steps: () => string[];
  stderr: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string> = {}): Run {
  runs += 1;
  const log = join(dir, `run-${runs}.log`);
  const child = spawn(process.execPath, [fixture, ...args], {
    env: childEnv({ LIFECYCLE_LOG: log, ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const steps = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  return { child, steps, stderr: () => stderr, exit };
}

describe('runStdioModule lifecycle', () => {
  it('stops on stdin end: close, then exit 0', async () => {
    const run = start(['a.toml']);
    await waitFor('the module to connect', () => run.steps().includes('connected'), 10_000);
    run.child.stdin?.end();
    expect(await run.exit).toBe(0);
    expect(run.steps()).toEqual(['load a.toml', 'connected', 'close a.toml']);
    expect(run.stderr()).toBe('');
  });

  it('stops on SIGTERM: close, then exit 0', async () => {
    const run = start(['--config', 'b.toml']);
    await waitFor('the module to connect', () => run.steps().includes('connected'), 10_000);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.steps()).toEqual(['load b.toml', 'connected', 'close b.toml']);
  });

  it('takes the config path from configEnv when argv has none, and lets load log to stderr', async () => {
    const fromEnv = start([], { LIFECYCLE_CONFIG: 'env.toml' });
    await waitFor('the module to connect', () => fromEnv.steps().includes('connected'), 10_000);
    fromEnv.child.stdin?.end();
    await fromEnv.exit;
    expect(fromEnv.steps()[0]).toBe('load env.toml');
    const blank = start([], { LIFECYCLE_CONFIG: '  ' });
    await waitFor('the module to connect', () => blank.steps().includes('connected'), 10_000);
    blank.child.stdin?.end();
    await blank.exit;
    expect(blank.steps()[0]).toBe('load -');
    expect(blank.stderr()).toBe('lifecycle: no config given\n');
  });

  it('exits 1 when create throws, before serving anything', async () => {
    const run = start(['a.toml'], { LIFECYCLE_FAIL: 'create' });
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toBe('lifecycle: cannot start: port 0 is taken\n');
    expect(run.steps()).toEqual(['load a.toml']);
  });

  it('exits 1 when close throws, after closing the server', async () => {
    const run = start(['a.toml'], { LIFECYCLE_FAIL: 'close' });
    await waitFor('the module to connect', () => run.steps().includes('connected'), 10_000);
    run.child.stdin?.end();
    expect(await run.exit).toBe(1);
    expect(run.stderr()).toBe('lifecycle: close failed: ledger busy\n');
    expect(run.steps()).toEqual(['load a.toml', 'connected', 'close a.toml']);
  });
});
