import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ModuleConfig } from '@mobkit/core';
import { fail } from './files.js';

/** Module executables of the MobKit packages, run with this Node when named bare in `mobkit.toml`. */
export const MODULE_BINS: Readonly<Record<string, string>> = Object.freeze({
  'mobkit-router': '@mobkit/routing',
  'mobkit-delivery': '@mobkit/delivery',
  'mobkit-scheduling': '@mobkit/scheduling',
});

/**
 * Resolves a module command: a bare MobKit module executable name runs as `node <bin file>` of its
 * installed package; anything else runs as written. `file` and `index` name the entry in errors.
 */
export function resolveModuleCommand(module: ModuleConfig, file: string, index: number): ModuleConfig {
  const pkg = MODULE_BINS[module.command];
  if (pkg === undefined) return module;
  const field = `modules[${index}].command`;
  const require = createRequire(import.meta.url);
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${pkg}/package.json`);
  } catch {
    fail(
      file,
      field,
      `"${module.command}" comes from ${pkg}, which is not installed here; run npm install (or give the executable's path)`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  const binRel = manifest.bin?.[module.command];
  if (binRel === undefined) fail(file, field, `${pkg} has no bin named "${module.command}"`);
  const bin = join(dirname(manifestPath), binRel);
  if (!existsSync(bin))
    fail(file, field, `${bin} is missing: build the packages first (npm start and npm run build do)`);
  return { ...module, command: process.execPath, args: [bin, ...module.args] };
}
