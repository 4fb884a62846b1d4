import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventEnvelope, MobKitConfig, ModuleConfig, ModuleEvent, RestartPolicy } from '@mobkit/core';
import { afterEach } from 'vitest';
import {
  type ModuleRuntime,
  type StartModuleRuntimeOptions,
  isProcessAlive,
  startModuleRuntime,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
export const modulesDir = join(repoRoot, 'fixtures/modules');
export const mcpFixture = join(repoRoot, 'fixtures/mcp-fixture.mjs');

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
  return { id, command: process.execPath, args: [mcpFixture, '--module', fixtureModule], restartPolicy };
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

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs = 5000,
  stepMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function waitGone(pid: number, timeoutMs = 3000): Promise<void> {
  await waitFor(`pid ${pid} to be gone`, () => !isProcessAlive(pid), timeoutMs);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

export async function catchError(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string; details?: Record<string, unknown> };
  }
  throw new Error('expected the promise to reject');
}
