import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's directory. */
export const packageDir = fileURLToPath(new URL('..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Path of a built bin. The root `npm test` builds every package before vitest runs; when the bin is
 * missing or older than src (a local run after an edit) it is rebuilt here with tsup. `dir` is the
 * package directory (default this package).
 */
export function builtBin(name: string, dir: string = packageDir): string {
  const bin = join(dir, 'dist', 'bin', `${name}.js`);
  const stale = !existsSync(bin) || statSync(bin).mtimeMs < newestMtime(join(dir, 'src'));
  if (stale)
    execFileSync('npx', ['tsup'], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 120_000,
    });
  return bin;
}

/** The environment for a spawned bin: no colours (Nx sets FORCE_COLOR). */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'FORCE_COLOR') env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}
