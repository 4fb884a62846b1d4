import { join } from 'node:path';
import { FIXTURES_DIR, expectMobKitError, readFixture, waitFor } from '@mobkit/test-utils';
import { MobDefinition } from '../src/index.js';

export { FAKE_RKAT_RPC } from '@mobkit/test-utils';

/** The repository's fixtures/ folder. */
export const FIXTURES = FIXTURES_DIR;

/** A definition from fixtures/mob/<name>. */
export function fixtureDefinition(name: string): MobDefinition {
  return MobDefinition.fromToml(readFixture('mob', name), { baseDir: join(FIXTURES, 'mob') });
}

/** Awaits `promise` and returns the MobKitError it rejects with (fails when it resolves or throws something else). */
export async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> | undefined }> {
  const error = await expectMobKitError(promise);
  return { code: error.code, message: error.message, details: error.details };
}

/** Resolves when `predicate` holds (polling) or rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  await waitFor('condition', () => predicate(), timeoutMs);
}
