import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { MobKitError, toMobKitError } from '@mobkit/core';

/** A path as a person reads it: relative to the working directory when that is shorter. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && rel.length < file.length ? rel : file;
}

/** Runs a loader, turning whatever it throws into a MobKitError whose message starts with the file (`details.file`, field kept). */
export function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const e = toMobKitError(error, 'InvalidConfig');
    const shown = displayPath(file);
    const message = e.message.includes(file) || e.message.includes(shown) ? e.message : `${shown}: ${e.message}`;
    throw new MobKitError(e.code, message, { cause: e, details: { ...(e.details ?? {}), file } });
  }
}

/** Throws `InvalidConfig` naming the file and the key path. */
export function fail(file: string, field: string, message: string): never {
  throw new MobKitError('InvalidConfig', `${displayPath(file)}: ${field}: ${message}`, { details: { file, field } });
}

/** Reads a config file; a missing optional file is `undefined`, a missing required one `InvalidConfig`. */
export function readConfigFile(file: string, required: boolean): string | undefined {
  if (!existsSync(file)) {
    if (!required) return undefined;
    throw new MobKitError(
      'InvalidConfig',
      `${displayPath(file)}: file not found (every config directory needs it; see apps/reference-app/config for an example)`,
      { details: { file, field: '<file>' } },
    );
  }
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new MobKitError('InvalidConfig', `${displayPath(file)}: cannot read: ${(error as Error).message}`, {
      cause: error,
      details: { file, field: '<file>' },
    });
  }
}
