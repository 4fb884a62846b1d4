import { randomUUID } from 'node:crypto';

/**
 * The form of a delivery id: `delivery-<ms>-<n><random>` — the clock time in base36 (9 digits,
 * so ids sort by time as text), a per-process counter within that millisecond (base36, 4 digits or
 * more) and 40 random bits (10 hex digits). Ids never repeat across restarts: a restarted process
 * starts no sequence from zero, and two processes in the same millisecond differ in the random part.
 */
export const DELIVERY_ID_PATTERN = /^delivery-[0-9a-z]{9}-[0-9a-z]{4,}[0-9a-f]{10}$/;

/**
 * Makes time-ordered unique delivery ids ({@link DELIVERY_ID_PATTERN}). Within one source, ids
 * increase as text even when the clock stands still or steps back (the time part never decreases).
 */
export class DeliveryIdSource {
  private lastMs = -1;
  private counter = 0;

  /** A new id for a delivery admitted at clock time `nowMs`. */
  next(nowMs: number): string {
    const ms = Math.max(Math.floor(Number.isFinite(nowMs) ? nowMs : 0), this.lastMs, 0);
    if (ms === this.lastMs) this.counter++;
    else {
      this.lastMs = ms;
      this.counter = 0;
    }
    const time = ms.toString(36).padStart(9, '0');
    const n = this.counter.toString(36).padStart(4, '0');
    return `delivery-${time}-${n}${randomHex10()}`;
  }
}

/**
 * 40 random bits as 10 hex digits, from a version-4 UUID (122 bits of the CSPRNG; Node draws them from
 * a pooled buffer, so this costs far less than a `randomBytes` call per id): its first 8 and next 2 hex
 * digits, all random.
 */
function randomHex10(): string {
  const uuid = randomUUID();
  return uuid.slice(0, 8) + uuid.slice(9, 11);
}
