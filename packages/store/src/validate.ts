import { type EventLogInput, MobKitError } from '@mobkit/core';

/*
 * The input rules of the storage ports, shared by every adapter so that what one store accepts another does
 * too: a name (namespace, key, owner, an event's id, kind and type) is a non-empty string that every engine
 * stores exactly — no NUL and no unpaired surrogate (PostgreSQL's text refuses the first, UTF-8 replaces the
 * second) — an instant is a safe integer of milliseconds, and a value is JSON.
 */

// Lone surrogates would be replaced on the way to UTF-8 (PostgreSQL's text type also refuses NUL, checked apart).
const LONE_SURROGATE = /\p{Cs}/u;

/** Rejects what is not a non-empty string every engine stores exactly, naming the argument. */
export function requireName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MobKitError('InvalidInput', `${what} must be a non-empty string, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  if (value.includes('\u0000') || LONE_SURROGATE.test(value)) {
    throw new MobKitError('InvalidInput', `${what} must not contain NUL characters or unpaired surrogates`, {
      details: { field: what },
    });
  }
  return value;
}

/** Rejects what is not a safe integer (milliseconds), naming the argument. */
function requireMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new MobKitError('InvalidInput', `${what} must be an integer number of milliseconds, got ${describe(value)}`, {
      details: { field: what },
    });
  }
  return value;
}

/**
 * Checks one event of `events.append` / `events.restore` (`at` names it, e.g. `events[3]`) by the rules every
 * adapter shares; resolves with its data's JSON text.
 */
export function checkEventInput(event: EventLogInput, at: string): string {
  if (typeof event !== 'object' || event === null) {
    throw new MobKitError('InvalidInput', `${at} must be an event object, got ${describe(event)}`, {
      details: { field: at },
    });
  }
  requireName(event.id, `${at}.id`);
  requireMs(event.timestampMs, `${at}.timestampMs`);
  if (event.memberId !== null) requireName(event.memberId, `${at}.memberId`);
  requireName(event.kind, `${at}.kind`);
  requireName(event.eventType, `${at}.eventType`);
  return toJsonText(event.data, `${at}.data`);
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

/** The `data` an event keeps once {@link EventLogPort.redact} has redacted it. */
export function redactedData(reason: string): { redacted: true; reason: string } {
  return { redacted: true, reason };
}
