import { expect } from 'vitest';
import { MobKitError, isMobKitError } from '../src/errors/error.js';

/** Runs `fn`, asserts it throws a {@link MobKitError} (never a bare Error) and returns it. */
export function catchError(fn: () => unknown): MobKitError {
  try {
    fn();
  } catch (error) {
    expect(isMobKitError(error)).toBe(true);
    expect(error).toBeInstanceOf(MobKitError);
    return error as MobKitError;
  }
  throw new Error('expected a MobKitError, nothing was thrown');
}
