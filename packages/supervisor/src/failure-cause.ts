import type { MobKitError, RestartPolicy } from '@mobkit/core';
import { SupervisorError } from './errors.js';

/** Most stderr lines a failure event quotes (the newest ones). */
const QUOTED_STDERR_LINES = 10;

/**
 * The cause of a module failure as it appears in the payload of the supervisor's failure events
 * (`supervisor.start_failed`, `supervisor.health` to `Failed`, `Restarting` or `Stopped`, and
 * `supervisor.warning`): the error's code and message, how the process ended, and the module's last
 * stderr lines. Fields that are not known are `null` (or `[]`), so every such payload has one shape.
 */
export interface FailureCause {
  /** The MobKit error code (`EmptyOutput`, `McpConnectionFailed`, `ModuleUnavailable`, …). */
  code: string;
  /** The error message (it quotes the stderr tail too). */
  error: string;
  /** The process's exit code, when it exited. */
  exit_code: number | null;
  /** The signal that ended the process, when one did. */
  signal: string | null;
  /** The newest stderr lines of the module at the time of the failure, oldest first. */
  stderr: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The {@link FailureCause} of a module error: exit and stderr come from the error's `details`
 * (`details.exit`, `details.stderr`), where {@link moduleError} and the MCP session put them.
 */
export function failureCause(error: MobKitError): FailureCause {
  const details = isRecord(error.details) ? error.details : {};
  const exit = isRecord(details.exit) ? details.exit : {};
  const stderr = typeof details.stderr === 'string' && details.stderr !== '' ? details.stderr.split('\n') : [];
  return {
    code: error.code,
    error: error.message,
    exit_code: typeof exit.exitCode === 'number' ? exit.exitCode : null,
    signal: typeof exit.signal === 'string' ? exit.signal : null,
    stderr: stderr.slice(-QUOTED_STDERR_LINES),
  };
}

/**
 * Why the supervisor gave up on a module: `its restart policy is never`, or `its restart budget (n)
 * is exhausted`.
 */
export function whyGivenUp(policy: RestartPolicy, budget: number): string {
  return policy === 'never' ? 'its restart policy is never' : `its restart budget (${budget}) is exhausted`;
}

/**
 * The error of a `supervisor.warning` that says the supervisor gave up on module `moduleId`:
 * `<headline> (<why>): <cause>`, with the cause's code and details (so its exit and stderr stay quoted).
 */
export function givenUpError(moduleId: string, headline: string, why: string, cause: MobKitError): SupervisorError {
  return new SupervisorError(cause.code, `${headline} (${why}): ${cause.message}`, {
    details: { moduleId, ...(isRecord(cause.details) ? cause.details : {}) },
    cause,
  });
}
