/** Calendar arithmetic on "local epoch milliseconds" (a wall-clock time written as if it were UTC). */

/** Milliseconds per minute / hour / day. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Floor modulo (always non-negative for a positive divisor). */
export function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** Largest multiple of `step` that is ≤ `value`. */
export function floorTo(value: number, step: number): number {
  return value - mod(value, step);
}

/** Month (1–12) × 32 + day (1–31) of a day number (days since 1970-01-01), without allocating. */
export function monthDayOf(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  return (mp < 10 ? mp + 3 : mp - 9) * 32 + day;
}

/** Days in `month` (1–12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Formats local epoch ms as `YYYY-MM-DDTHH:MM:SS` (no offset). */
export function formatLocal(localMs: number): string {
  return new Date(localMs).toISOString().slice(0, 19);
}
