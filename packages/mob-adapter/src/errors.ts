import { MobKitError, type MobKitErrorCode } from '@mobkit/core';

/** Meerkat's wire names for mob errors (meerkat-mob.md §5.4), carried in `details.mobCode`. */
export type MobErrorWireCode =
  | 'MOB_NOT_FOUND'
  | 'PROFILE_NOT_FOUND'
  | 'MEMBER_NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'MEMBER_ALREADY_EXISTS'
  | 'NOT_EXTERNALLY_ADDRESSABLE'
  | 'INVALID_TRANSITION'
  | 'DEFINITION_ERROR'
  | 'WIRING_ERROR'
  | 'TOPOLOGY_VIOLATION'
  | 'UNSUPPORTED_FOR_MODE'
  | 'TIMEOUT'
  | 'BUSY'
  | 'STALE_CURSOR'
  | 'STALE_FENCE'
  | 'SCOPE_DENIED'
  | 'PROVIDER_ERROR'
  | 'CANCELLED'
  | 'TRANSPORT'
  | 'VERSION_MISMATCH'
  | 'INVALID_INPUT'
  | 'INTERNAL';

/** The MobKit code for each Meerkat wire code. */
export const MOB_CODE_BY_WIRE: Readonly<Record<MobErrorWireCode, MobKitErrorCode>> = Object.freeze({
  MOB_NOT_FOUND: 'MobNotFound',
  PROFILE_NOT_FOUND: 'ProfileNotFound',
  MEMBER_NOT_FOUND: 'MemberNotFound',
  SESSION_NOT_FOUND: 'SessionNotFound',
  MEMBER_ALREADY_EXISTS: 'MemberAlreadyExists',
  NOT_EXTERNALLY_ADDRESSABLE: 'NotExternallyAddressable',
  INVALID_TRANSITION: 'InvalidTransition',
  DEFINITION_ERROR: 'DefinitionError',
  WIRING_ERROR: 'WiringError',
  TOPOLOGY_VIOLATION: 'TopologyViolation',
  UNSUPPORTED_FOR_MODE: 'UnsupportedForMode',
  TIMEOUT: 'MobTimeout',
  BUSY: 'MobBusy',
  STALE_CURSOR: 'StaleCursor',
  STALE_FENCE: 'StaleFence',
  SCOPE_DENIED: 'ScopeDenied',
  PROVIDER_ERROR: 'ProviderError',
  CANCELLED: 'RunCancelled',
  TRANSPORT: 'MobTransport',
  VERSION_MISMATCH: 'MobVersionMismatch',
  INVALID_INPUT: 'InvalidInput',
  INTERNAL: 'Internal',
});

/** Options of {@link MobRuntimeError}. */
export interface MobRuntimeErrorOptions {
  /** Whether retrying the same call may succeed (BUSY). */
  retryable?: boolean;
  /** Extra structured facts. */
  details?: Record<string, unknown>;
  /** The underlying failure. */
  cause?: unknown;
  /** A more specific MobKit code than the wire code's default (e.g. `MissingProviderKey` for PROVIDER_ERROR). */
  code?: MobKitErrorCode;
}

/**
 * A mob failure. `code` is the MobKit code (`NotExternallyAddressable`, `MemberNotFound`, …);
 * `mobCode` is Meerkat's wire name (`NOT_EXTERNALLY_ADDRESSABLE`, …), also in `details.mobCode`.
 */
export class MobRuntimeError extends MobKitError {
  /** Meerkat's wire name for this error. */
  readonly mobCode: MobErrorWireCode;
  /** Whether retrying may succeed. */
  readonly retryable: boolean;

  constructor(mobCode: MobErrorWireCode, message: string, options: MobRuntimeErrorOptions = {}) {
    const retryable = options.retryable ?? mobCode === 'BUSY';
    super(options.code ?? MOB_CODE_BY_WIRE[mobCode], message, {
      cause: options.cause,
      details: { mobCode, ...(retryable ? { retryable } : {}), ...options.details },
    });
    this.mobCode = mobCode;
    this.retryable = retryable;
  }
}

/** `mob member not found: <id>` (Meerkat's wording). */
export function memberNotFound(id: string): MobRuntimeError {
  return new MobRuntimeError('MEMBER_NOT_FOUND', `mob member not found: ${id}`, { details: { memberId: id } });
}

/** `mob member is not externally addressable: <id>` (Meerkat's wording) plus what to do. */
export function notExternallyAddressable(id: string, profile: string): MobRuntimeError {
  return new MobRuntimeError(
    'NOT_EXTERNALLY_ADDRESSABLE',
    `mob member is not externally addressable: ${id} (set external_addressable = true on profile '${profile}' to let the host send to it)`,
    { details: { memberId: id, profile } },
  );
}

/** `InvalidInput` naming the field. */
export function invalidInput(field: string, message: string): MobRuntimeError {
  return new MobRuntimeError('INVALID_INPUT', `${field} ${message}`, { details: { field } });
}

/** Rejects a blank member id (`member_id must not be empty`). */
export function requireMemberId(id: unknown, field = 'member_id'): string {
  if (typeof id !== 'string' || id.trim() === '') throw invalidInput(field, 'must not be empty');
  return id;
}
