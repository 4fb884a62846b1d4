import { MAX_SCHEDULES_PER_REQUEST, describeType, parseWithSchema, wireCodec } from '@mobkit/core';
import { z } from 'zod';
import { SchedulingError } from './errors.js';
import { parseInterval, type ScheduleInterval } from './interval.js';
import { jitterOffsetMs } from './jitter.js';
import { parseTimeZone, type ScheduleTimeZone } from './timezone.js';

/** Largest accepted tick: the end of the JavaScript `Date` range (year 275760). */
export const MAX_TICK_MS = 8_640_000_000_000_000;

/** A schedule as a caller writes it (camelCase; defaults: `enabled` true, `jitterMs` 0, `catchUp` false). */
export interface ScheduleDefinition {
  /** Identity of the schedule; trimmed (case kept). Must be unique after trimming. */
  scheduleId: string;
  /** `*\/N{s,m,h,d}` marker or 5-field cron (`min hour dom month dow`). */
  interval: string;
  /** `UTC`, `Z`, a fixed offset (`UTC+01:00`, `GMT-0530`, `+02:00`) or an IANA name. */
  timezone: string;
  /** Disabled schedules are validated but never due. Default `true`. */
  enabled?: boolean;
  /** Upper bound of the deterministic per-id jitter added to each due time. Default 0. */
  jitterMs?: number;
  /** Strict catch-up bookkeeping (see the README's dispatch rules). Default `false`. */
  catchUp?: boolean;
}

/** A validated schedule with its defaults applied, its interval and zone parsed and its jitter computed. */
export interface CompiledSchedule {
  readonly scheduleId: string;
  readonly interval: string;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly jitterMs: number;
  readonly catchUp: boolean;
  /** The parsed interval. */
  readonly parsedInterval: ScheduleInterval;
  /** The parsed time zone. */
  readonly zone: ScheduleTimeZone;
  /** This schedule's jitter offset in ms (FNV-1a of the id, below the interval). */
  readonly jitterOffsetMs: number;
}

/** Wire form of a schedule (snake_case, as in the MobKit RPC and MCP contracts). */
export const ScheduleDefinitionWireSchema = z.object({
  schedule_id: z.string(),
  interval: z.string(),
  timezone: z.string(),
  enabled: z.boolean().default(true),
  jitter_ms: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  catch_up: z.boolean().default(false),
});

/** A schedule as written on the wire. */
export type ScheduleDefinitionWire = z.input<typeof ScheduleDefinitionWireSchema>;

/** The codec between a wire schedule and a {@link ScheduleDefinition} with its defaults applied. */
export const ScheduleDefinitionSchema = wireCodec(ScheduleDefinitionWireSchema, {
  decode: (w): Required<ScheduleDefinition> => ({
    scheduleId: w.schedule_id,
    interval: w.interval,
    timezone: w.timezone,
    enabled: w.enabled,
    jitterMs: w.jitter_ms,
    catchUp: w.catch_up,
  }),
  encode: (s) => ({
    schedule_id: s.scheduleId,
    interval: s.interval,
    timezone: s.timezone,
    enabled: s.enabled,
    jitter_ms: s.jitterMs,
    catch_up: s.catchUp,
  }),
});

/** A schedule with its defaults (`enabled` true, `jitterMs` 0, `catchUp` false) applied. */
export function withScheduleDefaults(schedule: ScheduleDefinition): Required<ScheduleDefinition> {
  return {
    scheduleId: schedule.scheduleId,
    interval: schedule.interval,
    timezone: schedule.timezone,
    enabled: schedule.enabled ?? true,
    jitterMs: schedule.jitterMs ?? 0,
    catchUp: schedule.catchUp ?? false,
  };
}

/** Converts a schedule to its wire form, defaults written out (the codec's encoder). */
export function scheduleToWire(schedule: ScheduleDefinition): Required<ScheduleDefinitionWire> {
  // The codec's encode writes every field, so the defaulted wire fields are all present.
  return z.encode(ScheduleDefinitionSchema, withScheduleDefaults(schedule)) as Required<ScheduleDefinitionWire>;
}

/** Parses one wire schedule (types only; call {@link compileSchedules} for the MobKit rules). */
export function parseScheduleDefinition(input: unknown, pathPrefix = ''): Required<ScheduleDefinition> {
  return parseWithSchema(ScheduleDefinitionSchema, input, { what: 'schedule', pathPrefix });
}

/** A scheduling request (`mobkit/scheduling/evaluate`, `…/dispatch`): schedules plus a tick. */
export interface ScheduleRequest {
  schedules: Required<ScheduleDefinition>[];
  tickMs: number;
}

const RequestShape = z.object({ schedules: z.array(z.unknown()), tick_ms: z.unknown() });

/**
 * Parses a wire scheduling request `{schedules, tick_ms}`: at most {@link MAX_SCHEDULES_PER_REQUEST}
 * schedules (`TooManySchedules`), each with the wire schema, and a valid tick (`InvalidTickMs`).
 * MobKit's own rules (ids, intervals, zones) are checked by {@link compileSchedules}.
 */
export function parseScheduleRequest(input: unknown): ScheduleRequest {
  const shape = parseWithSchema(RequestShape, input, { what: 'scheduling request' });
  if (shape.schedules.length > MAX_SCHEDULES_PER_REQUEST) {
    throw new SchedulingError(
      'TooManySchedules',
      `schedules: ${shape.schedules.length} schedules in one request, at most ${MAX_SCHEDULES_PER_REQUEST} are accepted; split the request`,
      { details: { field: 'schedules', count: shape.schedules.length, max: MAX_SCHEDULES_PER_REQUEST } },
    );
  }
  const tickMs = validateTickMs(shape.tick_ms);
  const schedules = shape.schedules.map((s, i) => parseScheduleDefinition(s, `schedules[${i}]`));
  return { schedules, tickMs };
}

/** Checks a tick: an integer number of ms in `[0, MAX_TICK_MS]`; else `InvalidTickMs`. */
export function validateTickMs(tickMs: unknown): number {
  if (typeof tickMs !== 'number' || !Number.isInteger(tickMs) || tickMs < 0 || tickMs > MAX_TICK_MS) {
    throw new SchedulingError(
      'InvalidTickMs',
      `tick_ms must be an integer number of milliseconds since the epoch between 0 and ${MAX_TICK_MS}, got ${typeof tickMs === 'number' ? String(tickMs) : describeType(tickMs)}`,
      { details: { field: 'tick_ms', tick_ms: typeof tickMs === 'number' ? tickMs : null } },
    );
  }
  return tickMs;
}

/** Schedules compiled by this package, so a second pass only re-checks id uniqueness. */
class Compiled implements CompiledSchedule {
  constructor(
    readonly scheduleId: string,
    readonly interval: string,
    readonly timezone: string,
    readonly enabled: boolean,
    readonly jitterMs: number,
    readonly catchUp: boolean,
    readonly parsedInterval: ScheduleInterval,
    readonly zone: ScheduleTimeZone,
    readonly jitterOffsetMs: number,
  ) {}
}

function duplicate(index: number, scheduleId: string): SchedulingError {
  return new SchedulingError(
    'DuplicateScheduleId',
    `schedules[${index}].schedule_id '${scheduleId}' is used by an earlier schedule (ids are compared after trimming); give each schedule its own id`,
    { details: { field: `schedules[${index}].schedule_id`, index, schedule_id: scheduleId } },
  );
}

function badField(index: number, field: string, expected: string, got: unknown): SchedulingError {
  const path = `schedules[${index}].${field}`;
  return new SchedulingError(
    'InvalidInput',
    `${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
    {
      details: { field: path },
    },
  );
}

/**
 * Validates schedules and prepares them for evaluation, in order (the first problem is thrown):
 * `EmptyScheduleId` (blank after trimming), `DuplicateScheduleId` (same id after trimming),
 * `InvalidInterval`, `InvalidTimezone` (each naming the schedule), `InvalidInput` for wrong field
 * types. Disabled schedules are validated too; nothing is silently dropped. Ids, intervals and
 * zones are trimmed. There is no count limit here (requests are limited by {@link parseScheduleRequest}).
 */
export function compileSchedules(schedules: readonly (ScheduleDefinition | CompiledSchedule)[]): CompiledSchedule[] {
  if (!Array.isArray(schedules))
    throw new SchedulingError('InvalidInput', 'schedules: expected an array of schedule definitions');
  const seen = new Set<string>();
  const out: CompiledSchedule[] = new Array(schedules.length);
  for (let i = 0; i < schedules.length; i++) {
    const s = schedules[i] as ScheduleDefinition | undefined;
    if (s === null || typeof s !== 'object') throw badField(i, '', 'a schedule object', s);
    if (s instanceof Compiled) {
      // Already validated by this package: only the cross-schedule rule (unique ids) is left.
      const id = (s as CompiledSchedule).scheduleId;
      if (seen.has(id)) throw duplicate(i, id);
      seen.add(id);
      out[i] = s;
      continue;
    }
    if (typeof s.scheduleId !== 'string') throw badField(i, 'schedule_id', 'a string', s.scheduleId);
    if (typeof s.interval !== 'string') throw badField(i, 'interval', 'a string', s.interval);
    if (typeof s.timezone !== 'string') throw badField(i, 'timezone', 'a string', s.timezone);
    const enabled = s.enabled ?? true;
    const jitterMs = s.jitterMs ?? 0;
    const catchUp = s.catchUp ?? false;
    if (typeof enabled !== 'boolean') throw badField(i, 'enabled', 'a boolean', enabled);
    if (typeof catchUp !== 'boolean') throw badField(i, 'catch_up', 'a boolean', catchUp);
    if (typeof jitterMs !== 'number' || !Number.isSafeInteger(jitterMs) || jitterMs < 0) {
      throw badField(i, 'jitter_ms', 'a non-negative integer number of ms', jitterMs);
    }
    const scheduleId = s.scheduleId.trim();
    if (scheduleId === '') {
      throw new SchedulingError(
        'EmptyScheduleId',
        `schedules[${i}].schedule_id is blank; give every schedule a non-blank id`,
        {
          details: { field: `schedules[${i}].schedule_id`, index: i },
        },
      );
    }
    if (seen.has(scheduleId)) throw duplicate(i, scheduleId);
    seen.add(scheduleId);
    const parsedInterval = parseInterval(s.interval, scheduleId);
    const zone = parseTimeZone(s.timezone, scheduleId);
    const entry = new Compiled(
      scheduleId,
      parsedInterval.text,
      zone.name,
      enabled,
      jitterMs,
      catchUp,
      parsedInterval,
      zone,
      jitterOffsetMs(scheduleId, jitterMs, parsedInterval.baseMs),
    );
    out[i] = entry;
  }
  return out;
}

/** Validates one schedule on its own (see {@link compileSchedules}). */
export function compileSchedule(schedule: ScheduleDefinition): CompiledSchedule {
  return compileSchedules([schedule])[0] as CompiledSchedule;
}
