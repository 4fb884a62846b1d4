import { MobKitError, type MobKitErrorCode, type MobKitErrorOptions } from '@mobkit/core';

/** Error codes raised by `@mobkit/scheduling` (plus the core codes it reuses). */
export type SchedulingErrorCode = Extract<
  MobKitErrorCode,
  | 'EmptyScheduleId'
  | 'DuplicateScheduleId'
  | 'InvalidInterval'
  | 'InvalidTimezone'
  | 'InvalidTickMs'
  | 'TooManySchedules'
  | 'ScheduleNotFound'
  | 'InvalidRuntimeInjection'
  | 'ClaimLogCorrupt'
  | 'ClaimLogWriteFailed'
  | 'SchedulerStopped'
  | 'InvalidInput'
  | 'InvalidConfig'
>;

/** A {@link MobKitError} raised by schedule validation, evaluation, dispatch or the live scheduler. */
export class SchedulingError extends MobKitError<SchedulingErrorCode> {
  constructor(code: SchedulingErrorCode, message: string, options: MobKitErrorOptions = {}) {
    super(code, message, options);
  }
}
