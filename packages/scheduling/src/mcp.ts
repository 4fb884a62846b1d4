import { parseWithSchema } from '@mobkit/core';
import { z } from 'zod';
import { compileSchedules } from './definition.js';
import type { SchedulingDispatchArgs } from './hook.js';

/** Schema of the `scheduling.dispatch` tool arguments (wire form, as the runtime sends them). */
export const SchedulingDispatchArgsSchema = z.object({
  schedule_id: z.string().refine((s) => s.trim() !== '', 'must be a non-blank string'),
  interval: z.string(),
  timezone: z.string(),
  due_tick_ms: z.number().int().min(0),
  tick_ms: z.number().int().min(0),
  claim_key: z.string().refine((s) => s.trim() !== '', 'must be a non-blank string'),
});

/** Parses `scheduling.dispatch` arguments; the interval and zone must be valid schedule fields too. */
export function parseSchedulingDispatchArgs(input: unknown): SchedulingDispatchArgs {
  const args = parseWithSchema(SchedulingDispatchArgsSchema, input, {
    what: 'scheduling.dispatch arguments',
    code: 'InvalidInput',
  });
  compileSchedules([{ scheduleId: args.schedule_id, interval: args.interval, timezone: args.timezone }]);
  return args;
}
