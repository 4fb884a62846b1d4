/** Calendar arithmetic on "local epoch milliseconds" (a wall-clock time written as if it were UTC). */

/** Milliseconds per minute / hour / day. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Wall-clock fields of a local epoch-ms value. */
export interface LocalFields {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  /** 0–59 */
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

/** Floor modulo (always non-negative for a positive divisor). */
export function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/** Largest multiple of `step` that is ≤ `value`. */
export function floorTo(value: number, step: number): number {
  return value - mod(value, step);
}

/** Splits local epoch ms into calendar fields (proleptic Gregorian, Hinnant's civil-from-days). */
export function localFields(localMs: number): LocalFields {
  const days = Math.floor(localMs / DAY_MS);
  const msOfDay = localMs - days * DAY_MS;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {
    year,
    month,
    day,
    hour: Math.floor(msOfDay / HOUR_MS),
    minute: Math.floor((msOfDay % HOUR_MS) / MINUTE_MS),
    weekday: mod(days + 4, 7), // 1970-01-01 was a Thursday
  };
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
