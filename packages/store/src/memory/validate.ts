import { MobKitError } from '@mobkit/core';

/** Rejects what is not a non-empty string, naming the argument. */
export function requireName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MobKitError('InvalidInput', `${what} must be a non-empty string, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  return value;
}

/** Rejects what is not a finite number, naming the argument. */
export function requireFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new MobKitError('InvalidInput', `${what} must be a finite number, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  return value;
}

/** Rejects what is not a positive finite number (a TTL), naming the argument. */
export function requirePositive(value: unknown, what: string): number {
  if (requireFinite(value, what) <= 0) {
    throw new MobKitError('InvalidInput', `${what} must be greater than 0, got ${String(value)}`, {
      details: { field: what },
    });
  }
  return value as number;
}

/** A `limit` option: undefined stays undefined; otherwise a whole number >= 0. */
export function optionalLimit(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new MobKitError('InvalidInput', `${what} must be a whole number >= 0, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  return value;
}

/**
 * The JSON text of a value, as the ports store it: what `JSON.stringify` gives. A value JSON cannot
 * carry at all (undefined, a function, a cycle, a bigint) is refused, naming the argument.
 */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new MobKitError('InvalidInput', `${what} is not JSON-serializable: ${(error as Error).message}`, {
      details: { field: what },
      cause: error,
    });
  }
  if (text === undefined) {
    throw new MobKitError('InvalidInput', `${what} must be a JSON value, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  return text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
