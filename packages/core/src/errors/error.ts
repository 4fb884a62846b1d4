import { type MobKitErrorCode, errorCodeInfo } from './codes.js';

/** Options accepted by {@link MobKitError}. */
export interface MobKitErrorOptions {
  /** The underlying failure, kept for diagnosis. */
  cause?: unknown;
  /** Structured facts about the failure (field path, module id, limits…), safe to put on the wire. */
  details?: Record<string, unknown>;
}

/**
 * The one error type MobKit throws. `code` is stable and machine-readable; `message` says what was
 * wrong and what to do; `details` carries structured facts. Packages subclass it (`SupervisorError`,
 * `DeliveryError`, …) but always with a code from the one table ({@link ERROR_CODES}).
 */
export class MobKitError<C extends MobKitErrorCode = MobKitErrorCode> extends Error {
  /** Stable error code from {@link ERROR_CODES}. */
  readonly code: C;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: MobKitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  /** The JSON-RPC error number for this error's code. */
  get rpcCode(): number {
    return errorCodeInfo(this.code).rpc;
  }

  /** The HTTP status for this error's code. */
  get httpStatus(): number {
    return errorCodeInfo(this.code).http;
  }

  /** Wire form: `{ code, message, details? }` (never a stack). */
  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True when `value` is a {@link MobKitError} (optionally with `code`). Works across package copies
 * because it checks the shape, not only the prototype chain.
 */
export function isMobKitError<C extends MobKitErrorCode>(value: unknown, code?: C): value is MobKitError<C> {
  if (!(value instanceof Error)) return false;
  const candidate = value as Partial<MobKitError>;
  if (typeof candidate.code !== 'string' || typeof candidate.toJSON !== 'function') return false;
  return code === undefined || candidate.code === code;
}

/**
 * Wraps anything thrown into a {@link MobKitError}: MobKit errors pass through unchanged, anything
 * else becomes `Internal` (or `fallbackCode`) with the original kept as `cause`.
 */
export function toMobKitError(value: unknown, fallbackCode: MobKitErrorCode = 'Internal'): MobKitError {
  if (isMobKitError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new MobKitError(fallbackCode, message, { cause: value });
}
