import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseWithSchema, toMobKitError } from '@mobkit/core';
import { z } from 'zod';
import { injectionFor, type SchedulingModuleConfig } from './config.js';
import { compileSchedules } from './definition.js';
import { evaluateScheduleRequest } from './evaluate.js';
import type { SchedulingDispatchArgs } from './hook.js';

/** Package version reported as the MCP server version. */
export const SCHEDULING_PACKAGE_VERSION = '0.1.0';

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

function json(value: Record<string, unknown>): CallToolResult {
  // One JSON text block, like the router and delivery modules (no duplicate structured copy).
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

function failure(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(toMobKitError(error).toJSON()) }] };
}

const field = (description: string) => z.unknown().optional().describe(description);

/** Options of {@link createSchedulingMcpServer}. */
export interface SchedulingMcpServerOptions {
  /** Which member each dispatch injects into and the message template; none → `{}` answers. */
  config?: SchedulingModuleConfig;
  /** Called with each valid dispatch (for logs and tests). */
  onDispatch?: (args: SchedulingDispatchArgs) => void;
}

/**
 * Builds the `scheduling` module as an MCP server (not yet connected). Tool `scheduling.dispatch`
 * takes `{schedule_id, interval, timezone, due_tick_ms, tick_ms, claim_key}` and answers `{}` or
 * `{"runtime_injection":{"member_id","message"}}` from the module config (message template filled
 * from the dispatch). Tool `scheduling.evaluate` answers which of `{schedules, tick_ms}` are due.
 * Bad arguments answer `isError` with `{code, message}`.
 */
export function createSchedulingMcpServer(options: SchedulingMcpServerOptions = {}): McpServer {
  const config = options.config ?? { defaultInjection: null, schedules: {} };
  const server = new McpServer({ name: 'mobkit-scheduling', version: SCHEDULING_PACKAGE_VERSION });
  server.registerTool(
    'scheduling.dispatch',
    {
      description:
        'A schedule was dispatched (claimed once by the runtime). Answers {} or {"runtime_injection":{"member_id","message"}} telling the runtime which mob member to send which message.',
      inputSchema: z.looseObject({
        schedule_id: field('schedule id (string)'),
        interval: field('the schedule interval (*/N{s,m,h,d} or 5-field cron)'),
        timezone: field('the schedule time zone'),
        due_tick_ms: field('due time, ms since the epoch'),
        tick_ms: field('dispatch tick, ms since the epoch'),
        claim_key: field('"<schedule_id>:<due_tick_ms>"'),
      }),
    },
    async (raw) => {
      try {
        const args = parseSchedulingDispatchArgs(raw);
        options.onDispatch?.(args);
        const injection = injectionFor(config, args);
        return json(
          injection === null
            ? {}
            : { runtime_injection: { member_id: injection.memberId, message: injection.message } },
        );
      } catch (error) {
        return failure(error);
      }
    },
  );
  server.registerTool(
    'scheduling.evaluate',
    {
      description:
        'Which schedules are due exactly at tick_ms. Arguments {schedules:[{schedule_id, interval, timezone, enabled?, jitter_ms?, catch_up?}], tick_ms}.',
      inputSchema: z.looseObject({
        schedules: field('at most 256 schedule definitions'),
        tick_ms: field('tick, ms since the epoch'),
      }),
    },
    async (raw) => {
      try {
        return json({ ...evaluateScheduleRequest(raw) });
      } catch (error) {
        return failure(error);
      }
    },
  );
  return server;
}
