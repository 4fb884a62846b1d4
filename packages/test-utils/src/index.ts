/**
 * @mobkit/test-utils — scaffolding shared by MobKit-TS's test suites (private, never published):
 * one way to assert a {@link MobKitError}, the path of a built bin (rebuilt when its sources are
 * newer), the environment for a spawned child, and the repository's fixture paths.
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MobKitError, type MobKitErrorCode, isMobKitError } from '@mobkit/core';

/** The repository's root directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** `fixtures/` at the repository root. */
export const FIXTURES_DIR = join(REPO_ROOT, 'fixtures');
/** The MCP test module (`fixtures/mcp-fixture.mjs`). */
export const MCP_FIXTURE = join(FIXTURES_DIR, 'mcp-fixture.mjs');
/** The fake Meerkat `rkat-rpc` (`fixtures/fake-rkat-rpc.mjs`). */
export const FAKE_RKAT_RPC = join(FIXTURES_DIR, 'fake-rkat-rpc.mjs');

/** The path of a file under `fixtures/` (`fixturePath('mob', 'phase5.toml')`). */
export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

/** The text of a file under `fixtures/`. */
export function readFixture(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}

function assertMobKitError(error: unknown, code: MobKitErrorCode | undefined): MobKitError {
  if (!isMobKitError(error)) {
    throw new Error(
      `expected a MobKitError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
  }
  if (code !== undefined && error.code !== code) {
    throw new Error(`expected a MobKitError with code ${code}, got ${error.code}: ${error.message}`);
  }
  return error;
}

/**
 * Asserts that `fn` throws (or, for a promise or an async function, rejects with) a
 * {@link MobKitError} — never a bare Error — with `code` when given, and returns it.
 */
export function expectMobKitError(
  promise: Promise<unknown> | (() => Promise<unknown>),
  code?: MobKitErrorCode,
): Promise<MobKitError>;
export function expectMobKitError(fn: () => unknown, code?: MobKitErrorCode): MobKitError;
export function expectMobKitError(
  subject: Promise<unknown> | (() => unknown),
  code?: MobKitErrorCode,
): MobKitError | Promise<MobKitError> {
  const fromPromise = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a MobKitError, the promise resolved');
      },
      (error: unknown) => assertMobKitError(error, code),
    );
  if (typeof subject !== 'function') return fromPromise(subject);
  let result: unknown;
  try {
    result = subject();
  } catch (error) {
    return assertMobKitError(error, code);
  }
  if (result instanceof Promise) return fromPromise(result);
  throw new Error('expected a MobKitError, nothing was thrown');
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The path of a package's built bin, `packages/<pkg>/dist/bin/<name>.js`. The root `npm test`
 * builds every package before vitest runs; when the bin is missing or older than the package's
 * `src/` (a local run after an edit), it is rebuilt here with the package's tsup config.
 * @param packageDir the package's directory (e.g. `fileURLToPath(new URL('..', import.meta.url))`)
 */
export function builtBin(name: string, packageDir: string): string {
  const bin = join(packageDir, 'dist', 'bin', `${name}.js`);
  const stale = !existsSync(bin) || statSync(bin).mtimeMs < newestMtime(join(packageDir, 'src'));
  if (stale) {
    execFileSync('npx', ['tsup'], {
      cwd: packageDir,
      stdio: 'ignore',
      env: childEnv(),
      timeout: 120_000,
    });
  }
  return bin;
}

/** Provider keys a spawned child must never see in tests (they would reach a real model). */
export const PROVIDER_KEYS = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'OPENAI_BASE_URL',
  'RKAT_OPENAI_API_KEY',
  'RKAT_ANTHROPIC_API_KEY',
] as const;

/**
 * The environment for a spawned child in a test: the parent's, without `FORCE_COLOR` (Nx sets it)
 * and without provider keys, with `NO_COLOR=1`, then `extra` on top.
 */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === 'FORCE_COLOR' || (PROVIDER_KEYS as readonly string[]).includes(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Polls `probe` every 10 ms until it returns something other than `undefined`/`false`, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
export { openSse, type SseEvent, type SseStream } from './mobkit-http.js';
export { builtEntry, resolutionsOf, type ModuleResolution } from './modules.js';
export { CONSOLE_TEST_EMAIL, consoleTestTrustedOidc, signConsoleTestToken } from './console-auth.js';
export { postgresOrSkip, startTestPostgres, TEST_DATABASE_URL_ENV, type TestPostgres } from './postgres.js';
export {
  startFakeBigQuery,
  type FakeBigQuery,
  type FakeBigQueryOptions,
  type FakeBigQueryRequest,
  type FakeBigQueryRow,
} from './bigquery.js';
export {
  startFakeOpenAi,
  type FakeOpenAi,
  type FakeOpenAiCallSpec,
  type FakeOpenAiMessage,
  type FakeOpenAiOptions,
  type FakeOpenAiReply,
  type FakeOpenAiRequest,
  type FakeOpenAiRequestState,
  type FakeOpenAiToolCall,
} from './openai.js';
export {
  startFakeAnthropic,
  type FakeAnthropic,
  type FakeAnthropicBlock,
  type FakeAnthropicCallSpec,
  type FakeAnthropicMessage,
  type FakeAnthropicOptions,
  type FakeAnthropicReply,
  type FakeAnthropicRequest,
} from './anthropic.js';
