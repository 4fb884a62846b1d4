import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMobKitError } from '@mobkit/core';
import { MobDefinition } from '../src/index.js';

/** The repository's fixtures/ folder. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures');

/** A definition from fixtures/mob/<name>. */
export function fixtureDefinition(name: string): MobDefinition {
  return MobDefinition.fromToml(readFileSync(join(FIXTURES, 'mob', name), 'utf8'), { baseDir: join(FIXTURES, 'mob') });
}

/** Awaits `promise` and returns the MobKitError it rejects with (fails when it resolves or throws something else). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isMobKitError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error('expected a rejection');
}

/** Resolves when `predicate` holds (polling every 5 ms) or rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
