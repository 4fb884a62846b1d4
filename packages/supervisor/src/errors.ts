import { MobKitError, type MobKitErrorCode, type MobKitErrorOptions } from '@mobkit/core';
import type { StderrRing } from './stderr-ring.js';

/**
 * The error type of `@mobkit/supervisor`: a {@link MobKitError} whose `details` name the module
 * (`moduleId`) and, for failures of a module process, quote its recent stderr (`details.stderr`).
 */
export class SupervisorError<C extends MobKitErrorCode = MobKitErrorCode> extends MobKitError<C> {}

/** Builds a {@link SupervisorError} about module `moduleId`, appending the module's recent stderr. */
export function moduleError<C extends MobKitErrorCode>(
  code: C,
  moduleId: string,
  message: string,
  details: Record<string, unknown> = {},
  ring?: StderrRing,
  cause?: unknown,
): SupervisorError<C> {
  const stderr = ring?.tail(10) ?? '';
  const full =
    stderr === ''
      ? message
      : `${message}; stderr: ${JSON.stringify(stderr.length > 1200 ? `…${stderr.slice(-1200)}` : stderr)}`;
  const opts: MobKitErrorOptions = { details: { moduleId, ...details, ...(stderr === '' ? {} : { stderr }) } };
  if (cause !== undefined) opts.cause = cause;
  return new SupervisorError(code, full, opts);
}
