import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { jsonTool } from '@mobkit/module-kit';
import { z } from 'zod';
import pkg from '../../package.json' with { type: 'json' };
import { injectionFor, type SchedulingModuleConfig } from '../config.js';
import { evaluateScheduleRequest } from '../evaluate.js';
import type { SchedulingDispatchArgs } from '../hook.js';
import { parseSchedulingDispatchArgs } from '../mcp.js';

const field = (description: string) => z.unknown().optional().describe(description);

/** Options of {@link createSchedulingMcpServer}. */
export interface SchedulingMcpServerOptions {
  /** Which member each dispatch injects into and the message template; none → `{}` answers. */
  config?: SchedulingModuleConfig;
  /** Called with each valid dispatch (for logs and tests). */
  onDispatch?: (args: SchedulingDispatchArgs) => void;
}

/**
 * Builds the `scheduling` module as an MCP server (not yet connected), announced as
 * `mobkit-scheduling` with this package's version. Tool `scheduling.dispatch` takes
 * `{schedule_id, interval, timezone, due_tick_ms, tick_ms, claim_key}` and answers `{}` or
 * `{"runtime_injection":{"member_id","message"}}` from the module config (message template filled
 * from the dispatch). Tool `scheduling.evaluate` answers which of `{schedules, tick_ms}` are due.
 * Bad arguments answer `isError` with `{code, message}`.
 */
export function createSchedulingMcpServer(options: SchedulingMcpServerOptions = {}): McpServer {
  const config = options.config ?? { defaultInjection: null, schedules: {} };
  const server = new McpServer({ name: 'mobkit-scheduling', version: pkg.version });
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
    jsonTool((raw) => {
      const args = parseSchedulingDispatchArgs(raw);
      options.onDispatch?.(args);
      const injection = injectionFor(config, args);
      return injection === null
        ? {}
        : { runtime_injection: { member_id: injection.memberId, message: injection.message } };
    }),
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
    jsonTool((raw) => ({ ...evaluateScheduleRequest(raw) })),
  );
  return server;
}
