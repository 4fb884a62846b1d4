import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, REPO_ROOT } from './index.js';

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The path of a package's built file `dist/<file>` (default its root entry), rebuilt with the
 * package's tsup config when it is missing or older than the package's `src/` (the root `npm test`
 * builds every package first; this covers a local run after an edit).
 */
export function builtEntry(packageDir: string, file = 'index.js'): string {
  const built = join(packageDir, 'dist', file);
  if (!existsSync(built) || statSync(built).mtimeMs < newestSourceMtime(join(packageDir, 'src'))) {
    execFileSync('npx', ['tsup'], { cwd: packageDir, stdio: 'ignore', env: childEnv(), timeout: 120_000 });
  }
  return built;
}

/** One module resolution recorded by {@link resolutionsOf}. */
export interface ModuleResolution {
  /** The specifier as written in the importing module. */
  specifier: string;
  /** The URL it resolved to. */
  url: string;
}

// A module-resolution hook (registered in the child with `module.register`) that appends every
// resolution to the file passed as `data.file`.
const RECORDER = `import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  appendFileSync(file, JSON.stringify({ specifier, url: result.url }) + '\\n');
  return result;
}`;

/**
 * Every module resolution made while a fresh Node process imports `specifier` (resolved from the
 * repository root, with Node's default conditions: the BUILT entry, as an install gets it). Use it
 * to prove what an entry does not load, e.g. that `@mobkit/routing` never reaches the MCP SDK.
 */
export function resolutionsOf(specifier: string): ModuleResolution[] {
  const dir = mkdtempSync(join(tmpdir(), 'mobkit-resolutions-'));
  const log = join(dir, 'resolutions.jsonl');
  const hook = `data:text/javascript,${encodeURIComponent(RECORDER)}`;
  const script = `import { register } from 'node:module';
register(${JSON.stringify(hook)}, { data: { file: ${JSON.stringify(log)} } });
await import(${JSON.stringify(specifier)});`;
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: childEnv(),
      stdio: 'pipe',
      timeout: 30_000,
    });
    return readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ModuleResolution);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
