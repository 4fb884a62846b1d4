import { DAY_MS, MINUTE_MS } from './calendar.js';
import { SchedulingError } from './errors.js';

/**
 * A schedule time zone: UTC, a fixed offset or an IANA zone. Local times are handled as "local
 * epoch milliseconds" (the wall-clock time written as if it were UTC).
 */
export interface ScheduleTimeZone {
  /** The zone as written (trimmed). */
  readonly name: string;
  /** `utc`, `fixed` (a constant offset) or `iana` (rules with daylight saving). */
  readonly kind: 'utc' | 'fixed' | 'iana';
  /** The constant offset in ms for `utc`/`fixed`; `null` for IANA zones. */
  readonly fixedOffsetMs: number | null;
  /** Offset from UTC in ms at the instant `utcMs` (local = utc + offset). */
  offsetAt(utcMs: number): number;
  /** The local wall-clock time (local epoch ms) at instant `utcMs`. */
  toLocal(utcMs: number): number;
  /**
   * The earliest instant whose local wall-clock time is `localMs`, or `null` when that local time
   * does not exist (it falls in a spring-forward gap). A time that happens twice (fall-back fold)
   * maps to its first occurrence.
   */
  fromLocal(localMs: number): number | null;
  /**
   * Every instant whose local wall-clock time is `localMs`, ascending: none in a spring-forward
   * gap, two in a fall-back fold (its first and second pass), one otherwise.
   */
  instantsOf(localMs: number): readonly number[];
  /** The largest offset change (ms, ≥ 0) within a day either side of `utcMs`; 0 for fixed zones. */
  shiftAround(utcMs: number): number;
}

const FIXED_OFFSET = /^(?:(utc|gmt))?([+-])(?:(\d{2}):?(\d{2})|(\d{1,2}))$/i;

class FixedZone implements ScheduleTimeZone {
  readonly fixedOffsetMs: number;
  constructor(
    readonly name: string,
    readonly kind: 'utc' | 'fixed',
    offsetMs: number,
  ) {
    this.fixedOffsetMs = offsetMs;
  }
  offsetAt(): number {
    return this.fixedOffsetMs;
  }
  toLocal(utcMs: number): number {
    return utcMs + this.fixedOffsetMs;
  }
  fromLocal(localMs: number): number {
    return localMs - this.fixedOffsetMs;
  }
  instantsOf(localMs: number): readonly number[] {
    return [localMs - this.fixedOffsetMs];
  }
  shiftAround(): number {
    return 0;
  }
}

const OFFSET_CACHE_LIMIT = 50_000;

class IanaZone implements ScheduleTimeZone {
  readonly kind = 'iana' as const;
  readonly fixedOffsetMs = null;
  private readonly format: Intl.DateTimeFormat;
  /** Offsets by UTC minute (tz database transitions since 1970 fall on whole minutes). */
  private readonly cache = new Map<number, number>();

  constructor(
    readonly name: string,
    format: Intl.DateTimeFormat,
  ) {
    this.format = format;
  }

  offsetAt(utcMs: number): number {
    const minute = Math.floor(utcMs / MINUTE_MS);
    const cached = this.cache.get(minute);
    if (cached !== undefined) return cached;
    const at = minute * MINUTE_MS;
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let min = 0;
    let second = 0;
    for (const part of this.format.formatToParts(at)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value) % 24;
          break;
        case 'minute':
          min = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
        default:
          break;
      }
    }
    const local = Date.UTC(year, month - 1, day, hour, min, second);
    // Date.UTC maps years 0–99 to 1900–1999; fix that for completeness.
    const fixedLocal = year >= 0 && year < 100 ? new Date(local).setUTCFullYear(year) : local;
    const offset = fixedLocal - at;
    if (this.cache.size >= OFFSET_CACHE_LIMIT) this.cache.clear();
    this.cache.set(minute, offset);
    return offset;
  }

  toLocal(utcMs: number): number {
    return utcMs + this.offsetAt(utcMs);
  }

  fromLocal(localMs: number): number | null {
    let best: number | null = null;
    const tried = new Set<number>();
    for (const probe of [localMs - DAY_MS, localMs, localMs + DAY_MS]) {
      const offset = this.offsetAt(probe);
      if (tried.has(offset)) continue;
      tried.add(offset);
      const candidate = localMs - offset;
      if (this.offsetAt(candidate) === offset && (best === null || candidate < best)) best = candidate;
    }
    return best;
  }

  instantsOf(localMs: number): readonly number[] {
    const out: number[] = [];
    for (const probe of [localMs - DAY_MS, localMs, localMs + DAY_MS]) {
      const offset = this.offsetAt(probe);
      const candidate = localMs - offset;
      if (this.offsetAt(candidate) === offset && !out.includes(candidate)) out.push(candidate);
    }
    return out.sort((a, b) => a - b);
  }

  shiftAround(utcMs: number): number {
    const a = this.offsetAt(utcMs - DAY_MS);
    const b = this.offsetAt(utcMs);
    const c = this.offsetAt(utcMs + DAY_MS);
    return Math.max(a, b, c) - Math.min(a, b, c);
  }
}

const ZONE_CACHE_LIMIT = 1024;
const zoneCache = new Map<string, ScheduleTimeZone | string>();

function invalid(name: string, reason: string, scheduleId?: string): SchedulingError {
  const where = scheduleId === undefined ? 'timezone' : `schedule '${scheduleId}': timezone`;
  return new SchedulingError(
    'InvalidTimezone',
    `${where} ${JSON.stringify(name)} ${reason}; use UTC, Z, a fixed offset such as UTC+01:00, GMT-0530 or +02:00, or an IANA name such as Europe/Stockholm`,
    { details: { timezone: name, ...(scheduleId === undefined ? {} : { schedule_id: scheduleId }) } },
  );
}

function build(name: string): ScheduleTimeZone | string {
  if (name === '') return 'is blank';
  if (/^(utc|z)$/i.test(name)) return new FixedZone(name, 'utc', 0);
  const fixed = FIXED_OFFSET.exec(name);
  if (fixed !== null) {
    const hours = Number(fixed[3] ?? fixed[5]);
    const minutes = fixed[4] === undefined ? 0 : Number(fixed[4]);
    if (hours > 23) return `has hours ${hours} (at most 23)`;
    if (minutes > 59) return `has minutes ${minutes} (at most 59)`;
    const sign = fixed[2] === '-' ? -1 : 1;
    return new FixedZone(name, 'fixed', sign * (hours * 60 + minutes) * MINUTE_MS);
  }
  if (/^[+-]/.test(name) || /^(utc|gmt)[+-]/i.test(name))
    return 'is not a valid fixed offset (±HH:MM or ±HHMM, hours ≤ 23, minutes ≤ 59)';
  try {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    return new IanaZone(name, format);
  } catch {
    return 'is not a known time zone';
  }
}

/**
 * Parses a schedule time zone: `UTC`/`utc`/`Z`, a fixed offset (`UTC+01:00`, `GMT-0530`, `+02:00`,
 * `-0800`; hours ≤ 23, minutes ≤ 59) or an IANA name (`Europe/Stockholm`), with surrounding spaces
 * trimmed. Throws `InvalidTimezone` (naming `scheduleId` when given) otherwise. Results are cached.
 */
export function parseTimeZone(timezone: string, scheduleId?: string): ScheduleTimeZone {
  const name = timezone.trim();
  let zone = zoneCache.get(name);
  if (zone === undefined) {
    zone = build(name);
    if (zoneCache.size >= ZONE_CACHE_LIMIT) zoneCache.clear();
    zoneCache.set(name, zone);
  }
  if (typeof zone === 'string') throw invalid(name, zone, scheduleId);
  return zone;
}
