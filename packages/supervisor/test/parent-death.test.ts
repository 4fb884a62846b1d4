import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { childEnv } from '@mobkit/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import { repoRoot, trackPids, waitGone } from './helpers.js';

// This suite runs the BUILT package in a separate host process (the root `npm test` builds every
// package first). Locally, dist is built here when it is missing or older than src.
const pkg = join(repoRoot, 'packages/supervisor');
function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    newest = Math.max(newest, name.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  const dist = join(pkg, 'dist/index.js');
  const coreDist = join(repoRoot, 'packages/core/dist/index.js');
  if (!existsSync(dist) || !existsSync(coreDist) || statSync(dist).mtimeMs < newestMtime(join(pkg, 'src'))) {
    execFileSync('npx', ['nx', 'run', '@mobkit/supervisor:build'], {
      cwd: repoRoot,
      stdio: 'ignore',
      env: childEnv({ NX_DAEMON: 'false' }),
    });
  }
}, 120_000);

const hosts: number[] = [];
afterEach(() => {
  for (const pid of hosts.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function startHost(mode: 'idle' | 'exit'): Promise<{ pid: number; pids: Record<string, number> }> {
  const child = spawn(process.execPath, [join(pkg, 'test/parent-host.mjs'), mode, repoRoot], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  });
  hosts.push(child.pid as number);
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`host exited with ${code} before reporting pids`)));
  });
  const pids = JSON.parse(first) as Record<string, number>;
  trackPids(...Object.values(pids));
  return { pid: child.pid as number, pids };
}

describe('modules do not outlive their parent', () => {
  it('modules exit within two seconds of the parent being SIGKILLed (they see stdin close)', async () => {
    const host = await startHost('idle');
    const { jsonline, router } = host.pids as { jsonline: number; router: number };
    expect(isProcessAlive(jsonline)).toBe(true);
    expect(isProcessAlive(router)).toBe(true);
    process.kill(host.pid, 'SIGKILL');
    await Promise.all([waitGone(jsonline, 2000), waitGone(router, 2000)]);
  }, 20_000);

  it('a parent that exits without shutdown still takes modules that ignore stdin, and their children, down', async () => {
    const host = await startHost('exit');
    const { deaf, deafChild } = host.pids as { deaf: number; deafChild: number };
    await Promise.all([waitGone(deaf, 2000), waitGone(deafChild, 2000)]);
  }, 20_000);
});
