import { Cron, CronPattern } from 'croner';
import { DAY_MS, HOUR_MS, MINUTE_MS, daysInMonth, mod, monthDayOf } from './calendar.js';
import { SchedulingError } from './errors.js';

/** How far back a cron search looks for a due time: 5,270,400 minutes (≈ 10 years, as the original). */
export const CRON_LOOKBACK_MS = 5_270_400 * MINUTE_MS;

const UNIT_MS: Record<string, number> = { s: 1_000, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };

/** A parsed `*\/N{s,m,h,d}` marker: due at every local multiple of `periodMs`. */
export interface MarkerInterval {
  readonly kind: 'marker';
  /** The interval as written (trimmed). */
  readonly text: string;
  /** The period in ms. */
  readonly periodMs: number;
  /** Jitter base: the period. */
  readonly baseMs: number;
  /** Always `true`: a marker is an interval, so it fires on both passes of a fall-back fold. */
  readonly bothFoldPasses: true;
}

/** A parsed 5-field cron expression, matched on local wall-clock fields at second 0. */
export interface CronInterval {
  readonly kind: 'cron';
  /** The interval as written (trimmed). */
  readonly text: string;
  /** The expression handed to croner (semantic wildcards in day-of-month/day-of-week written as `*`). */
  readonly normalized: string;
  readonly minutes: readonly boolean[];
  readonly hours: readonly boolean[];
  /** Index 1–31. */
  readonly daysOfMonth: readonly boolean[];
  /** Index 1–12. */
  readonly months: readonly boolean[];
  /** Index 0–6 (0 = Sunday; a written 7 is folded into 0). */
  readonly daysOfWeek: readonly boolean[];
  /** Day-of-month selects every day (written `*` or equivalent, e.g. `1-31`, `*\/1`). */
  readonly domWildcard: boolean;
  /** Day-of-week selects every day (written `*` or equivalent, e.g. `0-7`, `*\/1`). */
  readonly dowWildcard: boolean;
  /** Jitter base: one minute. */
  readonly baseMs: number;
  /**
   * Fires on both passes of a fall-back fold: `true` when the hour field is `*` or a step `*\/n`
   * (the expression repeats through the hours), `false` when it names hours (values, ranges or
   * lists), which then fire once, on the first pass.
   */
  readonly bothFoldPasses: boolean;
  /** croner job (never started) searching the local timeline as if it were UTC. */
  readonly croner: Cron;
}

/** A parsed schedule interval. */
export type ScheduleInterval = MarkerInterval | CronInterval;

const MONTH_NAMES = 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec';
const DAY_NAMES = 'sun|mon|tue|wed|thu|fri|sat';
const FIELD_SYNTAX = [
  /^[0-9*,/-]+$/,
  /^[0-9*,/-]+$/,
  /^[0-9*,/-]+$/,
  new RegExp(`^(?:[0-9*,/-]|${MONTH_NAMES})+$`, 'i'),
  new RegExp(`^(?:[0-9*,/-]|${DAY_NAMES})+$`, 'i'),
];
const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
/** An hour field that steps through the hours (`*`, `*\/n`) rather than naming them. */
const HOUR_STEPS = /^\*(?:\/\d+)?$/;

const intervalCache = new Map<string, ScheduleInterval | string>();
const INTERVAL_CACHE_LIMIT = 4096;

function flags(values: readonly number[], from: number, to: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i <= to; i++) out.push(i >= from && (values[i - from] ?? 0) !== 0);
  return out;
}

function all(values: readonly boolean[], from: number, to: number): boolean {
  for (let i = from; i <= to; i++) if (!values[i]) return false;
  return true;
}

function parseMarker(text: string): MarkerInterval | string | null {
  const match = /^\*\/(\d+)([smhd])$/i.exec(text);
  if (match === null) return null;
  const n = Number(match[1]);
  const unit = UNIT_MS[(match[2] as string).toLowerCase()] as number;
  if (n <= 0) return 'has a zero period (N must be > 0)';
  const periodMs = n * unit;
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(periodMs)) return 'overflows (the period must fit in 2^53 ms)';
  return { kind: 'marker', text, periodMs, baseMs: periodMs, bothFoldPasses: true };
}

function parseCron(text: string): CronInterval | string {
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return `is not a marker (*/N followed by s, m, h or d) nor a 5-field cron expression (minute hour day-of-month month day-of-week); it has ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  }
  for (let i = 0; i < 5; i++) {
    if (!(FIELD_SYNTAX[i] as RegExp).test(fields[i] as string)) {
      return `has an invalid ${FIELD_NAMES[i]} field ${JSON.stringify(fields[i])} (use numbers, *, lists a,b, ranges a-b and steps */n or a-b/n)`;
    }
  }
  let pattern: CronPattern;
  try {
    pattern = new CronPattern(fields.join(' '));
  } catch (error) {
    return `is not a valid cron expression (${(error as Error).message.replace(/^CronPattern: /, '')})`;
  }
  const minutes = flags(pattern.minute, 0, 59);
  const hours = flags(pattern.hour, 0, 23);
  const daysOfMonth = flags(pattern.day, 1, 31);
  const months = flags(pattern.month, 1, 12);
  const dow = flags(pattern.dayOfWeek, 0, 7);
  const daysOfWeek = dow.slice(0, 7);
  if (dow[7]) daysOfWeek[0] = true;
  const domWildcard = all(daysOfMonth, 1, 31);
  const dowWildcard = all(daysOfWeek, 0, 6);
  if (!domWildcard && dowWildcard) {
    // Only the day of month restricts: it must exist in at least one selected month (Feb has 29 in leap years).
    let firstDom = 1;
    while (!daysOfMonth[firstDom]) firstDom++;
    let possible = false;
    for (let m = 1; m <= 12; m++) if (months[m] && firstDom <= (m === 2 ? 29 : daysInMonth(2001, m))) possible = true;
    if (!possible) return 'can never fire (no selected month has the selected day of month)';
  }
  const normalized = [
    fields[0],
    fields[1],
    domWildcard ? '*' : fields[2],
    fields[3],
    dowWildcard ? '*' : fields[4],
  ].join(' ');
  const croner = new Cron(normalized, { utcOffset: 0, legacyMode: true, paused: true });
  return {
    kind: 'cron',
    text,
    normalized,
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    domWildcard,
    dowWildcard,
    baseMs: MINUTE_MS,
    bothFoldPasses: HOUR_STEPS.test(fields[1] as string),
    croner,
  };
}

/**
 * Parses a schedule interval: a marker `*\/N{s,m,h,d}` (any case, N > 0) or a 5-field cron
 * expression (lists, ranges, steps, month and weekday names, day-of-week 0–7 with 7 = Sunday, the
 * standard day-of-month OR day-of-week rule when both are restricted). Parsing is croner's; MobKit
 * adds the 5-field restriction, semantic-wildcard detection and the "can never fire" check.
 * Throws `InvalidInterval` (naming `scheduleId` when given). Results are cached by text.
 */
export function parseInterval(interval: string, scheduleId?: string): ScheduleInterval {
  const text = interval.trim();
  let parsed = intervalCache.get(text);
  if (parsed === undefined) {
    parsed = text === '' ? 'is blank' : (parseMarker(text) ?? parseCron(text));
    if (intervalCache.size >= INTERVAL_CACHE_LIMIT) intervalCache.clear();
    intervalCache.set(text, parsed);
  }
  if (typeof parsed === 'string') {
    const where = scheduleId === undefined ? 'interval' : `schedule '${scheduleId}': interval`;
    throw new SchedulingError(
      'InvalidInterval',
      `${where} ${JSON.stringify(text)} ${parsed}; examples: */5m, */1h, 0 9 * * 1-5, 0 0 29 2 *`,
      { details: { interval: text, ...(scheduleId === undefined ? {} : { schedule_id: scheduleId }) } },
    );
  }
  return parsed;
}

/** True when the local wall-clock time `localMs` matches `cron` (second 0, fields, DOM/DOW rule). */
export function cronMatchesLocal(cron: CronInterval, localMs: number): boolean {
  if (mod(localMs, MINUTE_MS) !== 0) return false;
  // Cheap fields first (no allocation): most schedules are rejected on minute or hour.
  const days = Math.floor(localMs / DAY_MS);
  const msOfDay = localMs - days * DAY_MS;
  if (!cron.minutes[Math.floor((msOfDay % HOUR_MS) / MINUTE_MS)] || !cron.hours[Math.floor(msOfDay / HOUR_MS)])
    return false;
  const monthDay = monthDayOf(days);
  if (!cron.months[monthDay >> 5]) return false;
  const dom = cron.daysOfMonth[monthDay & 31] === true;
  const dow = cron.daysOfWeek[mod(days + 4, 7)] === true; // 1970-01-01 was a Thursday
  if (cron.domWildcard) return dow;
  if (cron.dowWildcard) return dom;
  return dom || dow;
}

/** True when local wall-clock time `localMs` is a due time of `interval` (ignoring time-zone gaps/folds). */
export function intervalMatchesLocal(interval: ScheduleInterval, localMs: number): boolean {
  return interval.kind === 'marker' ? mod(localMs, interval.periodMs) === 0 : cronMatchesLocal(interval, localMs);
}
