/**
 * Due instants of an interval in a time zone: the one place that decides how local wall-clock due
 * times map to real instants. Local times inside a spring-forward gap never occur, so they never
 * fire. A local time repeated by a fall-back fold fires on both passes when the interval repeats
 * through the hours (`bothFoldPasses`: markers, cron with hour `*` or `*\/n`) and once, on its first
 * pass, when a cron expression names its hours.
 */
import { MINUTE_MS, floorTo } from './calendar.js';
import {
  CRON_LOOKBACK_MS,
  cronMatchesLocal,
  intervalMatchesLocal,
  type CronInterval,
  type ScheduleInterval,
} from './interval.js';
import type { ScheduleTimeZone } from './timezone.js';

/** Upper bound on marker steps in one search (a period of one second covers 11 days). */
const MARKER_STEP_LIMIT = 1_000_000;

/** The instants at which local time `localMs` (already known to match) is due: 0, 1 or 2, ascending. */
function dueInstantsOf(interval: ScheduleInterval, zone: ScheduleTimeZone, localMs: number): readonly number[] {
  if (interval.bothFoldPasses) return zone.instantsOf(localMs);
  const first = zone.fromLocal(localMs);
  return first === null ? [] : [first];
}

/** True when instant `utcMs` is a due time of `interval` in `zone` (see the module rules above). */
export function isDueInstant(interval: ScheduleInterval, zone: ScheduleTimeZone, utcMs: number): boolean {
  const local = zone.toLocal(utcMs);
  if (!intervalMatchesLocal(interval, local)) return false;
  return interval.bothFoldPasses || zone.fixedOffsetMs !== null || zone.fromLocal(local) === utcMs;
}

function nextCronLocal(cron: CronInterval, afterLocalMs: number): number | null {
  // croner compares at second granularity and strips milliseconds; every cron candidate is at second 0.
  const next = cron.croner.nextRun(new Date(floorTo(afterLocalMs, 1000)));
  return next === null ? null : next.getTime();
}

/** The first local candidate ≥ `localMs` (markers: the multiple at or below it), or `null`. */
function firstCandidate(interval: ScheduleInterval, localMs: number): number | null {
  return interval.kind === 'marker' ? floorTo(localMs, interval.periodMs) : nextCronLocal(interval, localMs - 1000);
}

/** The local candidate after `localMs`, or `null` when there is none. */
function nextCandidate(interval: ScheduleInterval, localMs: number): number | null {
  return interval.kind === 'marker' ? localMs + interval.periodMs : nextCronLocal(interval, localMs);
}

/**
 * The earliest due instant > `utcMs` (no jitter), or `null` when none exists before croner's limit
 * (year 3000). Walks the local timeline from a little before local(`utcMs`). First passes are
 * ascending along it, so without `bothFoldPasses` the first hit is the answer; with it, a second
 * pass can come after a later local time's first pass, so the walk goes on as far as an earlier
 * instant could still sit (the local time of the best instant plus the offset shift around it).
 */
export function nextDueAfter(interval: ScheduleInterval, zone: ScheduleTimeZone, utcMs: number): number | null {
  if (zone.fixedOffsetMs !== null) {
    const local = utcMs + zone.fixedOffsetMs;
    if (interval.kind === 'marker') return floorTo(local, interval.periodMs) + interval.periodMs - zone.fixedOffsetMs;
    const next = nextCronLocal(interval, local);
    return next === null ? null : next - zone.fixedOffsetMs;
  }
  let best: number | null = null;
  let stopLocal = Number.POSITIVE_INFINITY;
  let candidate = firstCandidate(interval, zone.toLocal(utcMs) - zone.shiftAround(utcMs));
  for (let steps = 0; candidate !== null && candidate <= stopLocal; steps++) {
    if (interval.kind === 'marker' && steps >= MARKER_STEP_LIMIT) return best;
    if (intervalMatchesLocal(interval, candidate)) {
      for (const u of dueInstantsOf(interval, zone, candidate)) {
        if (u > utcMs && (best === null || u < best)) best = u;
      }
      if (best !== null) {
        if (!interval.bothFoldPasses) return best;
        if (stopLocal === Number.POSITIVE_INFINITY) stopLocal = zone.toLocal(best) + zone.shiftAround(best);
      }
    }
    candidate = nextCandidate(interval, candidate);
  }
  return best;
}

/**
 * The latest due instant ≤ `utcMs` (no jitter), or `null` when there is none within the look-back
 * (cron: ≈ 10 years; markers: always found). Mirrors {@link nextDueAfter}: markers step back from
 * a little after local(`utcMs`); cron searches windows growing backwards (croner only looks forward).
 */
export function latestDueAtOrBefore(interval: ScheduleInterval, zone: ScheduleTimeZone, utcMs: number): number | null {
  if (zone.fixedOffsetMs !== null) {
    const offset = zone.fixedOffsetMs;
    const local = utcMs + offset;
    if (interval.kind === 'marker') return floorTo(local, interval.periodMs) - offset;
    return latestCronDue(
      interval,
      local,
      local - CRON_LOOKBACK_MS,
      utcMs,
      (l) => [l - offset],
      false,
      () => local,
    );
  }
  // A local time up to `slack` after local(utcMs) can still have its first pass ≤ utcMs (fold).
  const slack = zone.shiftAround(utcMs);
  const upper = zone.toLocal(utcMs) + slack;
  const lowerBound = (best: number): number => zone.toLocal(best) - zone.shiftAround(best);
  if (interval.kind === 'cron') {
    const instants = (l: number) => dueInstantsOf(interval, zone, l);
    return latestCronDue(
      interval,
      upper,
      upper - CRON_LOOKBACK_MS - slack,
      utcMs,
      instants,
      interval.bothFoldPasses,
      lowerBound,
    );
  }
  let best: number | null = null;
  let stopLocal = Number.NEGATIVE_INFINITY;
  let l = floorTo(upper, interval.periodMs);
  for (let steps = 0; steps < MARKER_STEP_LIMIT && l >= stopLocal; steps++, l -= interval.periodMs) {
    for (const u of dueInstantsOf(interval, zone, l)) if (u <= utcMs && (best === null || u > best)) best = u;
    if (best !== null) {
      if (!interval.bothFoldPasses) return best;
      if (stopLocal === Number.NEGATIVE_INFINITY) stopLocal = lowerBound(best);
    }
  }
  return best;
}

/**
 * The latest cron due instant ≤ `limit` among local times in (floor, upper]. Windows grow ×4
 * backwards from one minute; each is scanned forward and stops at the first local time whose first
 * pass is after the limit (first passes ascend along the local timeline). Once one is found, only
 * `repeats` (second passes) can beat it from further back, and only from local times after
 * `lowerBound(best)`.
 */
function latestCronDue(
  cron: CronInterval,
  upper: number,
  floor: number,
  limit: number,
  instantsAt: (localMs: number) => readonly number[],
  repeats: boolean,
  lowerBound: (best: number) => number,
): number | null {
  let best: number | null = null;
  let low = floor;
  let end = upper;
  let width = MINUTE_MS;
  while (end > low) {
    const start = Math.max(low, floorTo(end - width, MINUTE_MS));
    let candidate = nextCronLocal(cron, start - 1000);
    while (candidate !== null && candidate <= end) {
      if (cronMatchesLocal(cron, candidate)) {
        const instants = instantsAt(candidate);
        if (instants.length > 0 && (instants[0] as number) > limit) break;
        for (const u of instants) if (u <= limit && (best === null || u > best)) best = u;
      }
      candidate = nextCronLocal(cron, candidate);
    }
    if (best !== null) {
      if (!repeats) return best;
      low = Math.max(low, lowerBound(best));
    }
    end = start - 1;
    width *= 4;
  }
  return best;
}
