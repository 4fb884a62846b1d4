import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Package root and the built executable. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const binPath = join(packageRoot, 'dist', 'bin', 'mobkit-scheduling.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The root `npm test` builds every package before vitest runs; when this package is tested on its
 * own and dist/bin is missing or older than src, build just the executable (tsup, ~2 s).
 */
export async function ensureBin(): Promise<string> {
  let built = 0;
  try {
    built = statSync(binPath).mtimeMs;
  } catch {
    built = 0;
  }
  if (built < newestMtime(join(packageRoot, 'src'))) {
    const { build } = await import('tsup');
    const configs = (await import('../tsup.config.js')).default as unknown as Record<string, unknown>[];
    const binConfig = configs.find(
      (c) => typeof c.entry === 'object' && c.entry !== null && 'bin/mobkit-scheduling' in (c.entry as object),
    );
    await build({
      ...(binConfig as object),
      config: false,
      silent: true,
      outDir: join(packageRoot, 'dist'),
    } as Parameters<typeof build>[0]);
  }
  return binPath;
}
