import { readFileSync } from 'node:fs';
import { parseTomlText, parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { formatLocal } from './calendar.js';
import { compileSchedules, ScheduleDefinitionSchema, type ScheduleDefinition } from './definition.js';
import { SchedulingError } from './errors.js';
import type { RuntimeInjection, SchedulingDispatchArgs } from './hook.js';
import { parseTimeZone } from './timezone.js';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SchedulingError('InvalidConfig', `${what} ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  }
}

const SchedulesFileSchema = z.object({ schedules: z.array(z.unknown()).default([]) });

/**
 * Parses a `schedules.toml` text: `[[schedules]]` tables with the wire fields (`schedule_id`,
 * `interval`, `timezone`, `enabled`, `jitter_ms`, `catch_up`). Every schedule is validated
 * (ids, intervals, zones) so a bad file fails at load, naming the schedule.
 */
export function parseSchedulesToml(text: string, what = 'schedules.toml'): Required<ScheduleDefinition>[] {
  const doc = parseTomlText(text, what);
  const file = parseWithSchema(SchedulesFileSchema, doc, { what, code: 'InvalidConfig' });
  const schedules = file.schedules.map((s, i) =>
    parseWithSchema(ScheduleDefinitionSchema, s, { what, pathPrefix: `schedules[${i}]`, code: 'InvalidConfig' }),
  );
  compileSchedules(schedules);
  return schedules;
}

/** Reads and parses a `schedules.toml` file (see {@link parseSchedulesToml}). */
export function loadSchedulesToml(path: string): Required<ScheduleDefinition>[] {
  return parseSchedulesToml(readText(path, 'schedules file'), path);
}

/** Placeholders a message template may use. */
export const TEMPLATE_PLACEHOLDERS = [
  'schedule_id',
  'interval',
  'timezone',
  'due_tick_ms',
  'tick_ms',
  'claim_key',
  'due_iso',
  'due_local',
] as const;

const InjectionRuleSchema = z.object({
  member_id: z.string().optional(),
  message: z.string().optional(),
  enabled: z.boolean().optional(),
});
const ModuleConfigSchema = z.object({
  runtime_injection: InjectionRuleSchema.extend({
    schedules: z.record(z.string(), InjectionRuleSchema).default({}),
  }).optional(),
});

/** One resolved injection rule. */
interface InjectionRule {
  memberId: string;
  message: string;
}

/**
 * The `mobkit-scheduling` module configuration: which member each dispatched schedule injects into
 * and with what message. Written in TOML:
 * ```toml
 * [runtime_injection]            # default for every schedule (omit for "no injection")
 * member_id = "worker-1"
 * message = "scheduled {schedule_id} due at {due_local}"
 * [runtime_injection.schedules."nightly-report"]   # per-schedule override
 * member_id = "lead-1"
 * message = "write the nightly report for {due_local}"
 * # enabled = false                                  # no injection for this schedule
 * ```
 */
export interface SchedulingModuleConfig {
  /** The rule for schedules without their own; `null` = no injection. */
  defaultInjection: InjectionRule | null;
  /** Per-schedule rules (`null` = disabled for that schedule). */
  schedules: Record<string, InjectionRule | null>;
}

function checkTemplate(template: string, field: string): void {
  for (const match of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(match[1] as string)) {
      throw new SchedulingError(
        'InvalidConfig',
        `${field}: unknown placeholder {${match[1]}}; use one of ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
        { details: { field } },
      );
    }
  }
}

function rule(
  raw: z.output<typeof InjectionRuleSchema>,
  inherited: { member_id?: string | undefined; message?: string | undefined },
  field: string,
): InjectionRule | null {
  if (raw.enabled === false) return null;
  const memberId = raw.member_id ?? inherited.member_id;
  const message = raw.message ?? inherited.message;
  if (memberId === undefined && message === undefined) return null;
  if (memberId === undefined || memberId.trim() === '') {
    throw new SchedulingError('InvalidConfig', `${field}.member_id: required and non-blank when a message is set`, {
      details: { field: `${field}.member_id` },
    });
  }
  if (message === undefined || message.trim() === '') {
    throw new SchedulingError('InvalidConfig', `${field}.message: required and non-blank when a member_id is set`, {
      details: { field: `${field}.message` },
    });
  }
  checkTemplate(message, `${field}.message`);
  return { memberId: memberId.trim(), message };
}

/** Parses the module TOML text (see {@link SchedulingModuleConfig}); errors are `InvalidConfig`/`InvalidToml`. */
export function parseSchedulingModuleConfig(text: string, what = 'scheduling module config'): SchedulingModuleConfig {
  const doc = parseWithSchema(ModuleConfigSchema, parseTomlText(text, what), { what, code: 'InvalidConfig' });
  const top = doc.runtime_injection;
  if (top === undefined) return { defaultInjection: null, schedules: {} };
  const defaultInjection = rule(top, {}, 'runtime_injection');
  const schedules: Record<string, InjectionRule | null> = {};
  for (const [id, raw] of Object.entries(top.schedules)) {
    schedules[id.trim()] = rule(
      raw,
      { member_id: top.member_id, message: top.message },
      `runtime_injection.schedules.${id}`,
    );
  }
  return { defaultInjection, schedules };
}

/** Reads and parses the module TOML file. */
export function loadSchedulingModuleConfig(path: string): SchedulingModuleConfig {
  return parseSchedulingModuleConfig(readText(path, 'scheduling module config'), path);
}

/** Fills `{placeholder}`s of a message template from a dispatch. */
export function renderTemplate(template: string, args: SchedulingDispatchArgs): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    switch (name) {
      case 'schedule_id':
        return args.schedule_id;
      case 'interval':
        return args.interval;
      case 'timezone':
        return args.timezone;
      case 'due_tick_ms':
        return String(args.due_tick_ms);
      case 'tick_ms':
        return String(args.tick_ms);
      case 'claim_key':
        return args.claim_key;
      case 'due_iso':
        return new Date(args.due_tick_ms).toISOString();
      case 'due_local':
        return formatLocal(parseTimeZone(args.timezone, args.schedule_id).toLocal(args.due_tick_ms));
      default:
        return whole;
    }
  });
}

/** The injection a module config asks for on one dispatch, or `null`. */
export function injectionFor(config: SchedulingModuleConfig, args: SchedulingDispatchArgs): RuntimeInjection | null {
  const id = args.schedule_id.trim();
  const chosen = Object.hasOwn(config.schedules, id) ? config.schedules[id] : config.defaultInjection;
  if (chosen === null || chosen === undefined) return null;
  return { memberId: chosen.memberId, message: renderTemplate(chosen.message, args) };
}
