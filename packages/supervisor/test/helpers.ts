import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEnvelope, MobKitConfig, ModuleConfig, ModuleEvent, RestartPolicy } from '@mobkit/core';
import { MCP_FIXTURE, REPO_ROOT, fixturePath, waitFor } from '@mobkit/test-utils';
import { afterEach } from 'vitest';
import {
  type ModuleRuntime,
  type StartModuleRuntimeOptions,
  isProcessAlive,
  startModuleRuntime,
} from '../src/index.js';

export { waitFor };
export const repoRoot = REPO_ROOT;
const modulesDir = fixturePath('modules');

/** A JSON-line sh test module from fixtures/modules. */
export function shModule(
  id: string,
  script: string,
  restartPolicy: RestartPolicy = 'never',
  args: string[] = [],
): ModuleConfig {
  return { id, command: 'sh', args: [join(modulesDir, script), id, ...args], restartPolicy };
}

/** An inline sh module (`sh -c script`). */
export function inlineModule(id: string, script: string, restartPolicy: RestartPolicy = 'never'): ModuleConfig {
  return { id, command: 'sh', args: ['-c', script], restartPolicy };
}

/** The MCP fixture as module `id` (its `--module` defaults to the id). */
export function mcpModule(id: string, restartPolicy: RestartPolicy = 'never', fixtureModule = id): ModuleConfig {
  return { id, command: process.execPath, args: [MCP_FIXTURE, '--module', fixtureModule], restartPolicy };
}

/** Pre-spawn env selecting the MCP boundary, plus extra env. */
export function mcpEnv(
  moduleId: string,
  extra: Record<string, string> = {},
): { moduleId: string; env: [string, string][] } {
  return { moduleId, env: [['MOBKIT_MODULE_BOUNDARY', 'mcp'], ...Object.entries(extra)] };
}

export function config(
  modules: ModuleConfig[],
  discovery: string[] = modules.map((m) => m.id),
  preSpawn: MobKitConfig['preSpawn'] = [],
): MobKitConfig {
  return { modules, discovery: { namespace: 'test', modules: discovery }, preSpawn };
}

const started: ModuleRuntime[] = [];
const pids = new Set<number>();
const dirs: string[] = [];

/** Starts a runtime that is shut down after the test, whatever happens. */
export async function start(cfg: MobKitConfig, options: StartModuleRuntimeOptions): Promise<ModuleRuntime> {
  const runtime = await startModuleRuntime(cfg, options);
  started.push(runtime);
  return runtime;
}

/** Registers pids to SIGKILL after the test (belt and braces for failing tests). */
export function trackPids(...list: (number | undefined)[]): void {
  for (const pid of list) if (pid !== undefined) pids.add(pid);
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-sup-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  const runtimes = started.splice(0);
  await Promise.all(runtimes.map((r) => r.shutdown().catch(() => undefined)));
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  pids.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function moduleEvents(
  runtime: ModuleRuntime,
  moduleId: string,
  eventType?: string,
): EventEnvelope<ModuleEvent>[] {
  return runtime
    .mergedEvents()
    .filter(
      (e): e is EventEnvelope<ModuleEvent> =>
        e.event.kind === 'module' &&
        e.event.module === moduleId &&
        (eventType === undefined || e.event.eventType === eventType),
    );
}

export function states(runtime: ModuleRuntime, moduleId: string): string[] {
  return runtime
    .healthTransitions()
    .filter((t) => t.moduleId === moduleId)
    .map((t) => t.to);
}

export function payloadOf<T = Record<string, unknown>>(
  runtime: ModuleRuntime,
  moduleId: string,
  eventType = 'ready',
): T {
  const events = moduleEvents(runtime, moduleId, eventType);
  const last = events[events.length - 1];
  if (!last) throw new Error(`no ${eventType} event from ${moduleId}`);
  return last.event.payload as T;
}

export async function waitGone(pid: number, timeoutMs = 3000): Promise<void> {
  await waitFor(`pid ${pid} to be gone`, () => !isProcessAlive(pid), timeoutMs);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
