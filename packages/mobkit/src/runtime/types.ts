import type { ContentInput, MemberSnapshot, MobStatus } from '@mobkit/mob-adapter';
import type { McpToolResult, RouteModuleCallRequest, RouteModuleCallResult } from '@mobkit/supervisor';
import type { ScheduleEvaluation, Scheduler, SchedulerOptions } from '@mobkit/scheduling';

/** The mob's state, as `UnifiedRuntime.status()` reports it (`'Running'` after bootstrap). */
export type RuntimeMobStatus = MobStatus;
/** A member snapshot as the runtime's member methods return it. */
export type RuntimeMemberSnapshot = MemberSnapshot;
/** What `UnifiedRuntime.sendMessage` accepts: text or content blocks. */
export type RuntimeMessageContent = ContentInput;
/** The result of `UnifiedRuntime.callTool`: the MCP tool's payload. */
export type RuntimeToolResult = McpToolResult;
/** A `<module>/<method>` call: `{ moduleId, method, params }`. */
export type RuntimeModuleCallRequest = RouteModuleCallRequest;
/** The answer of a routed module call: `{ moduleId, method, payload }`. */
export type RuntimeModuleCallResult = RouteModuleCallResult;
/** Which schedules are due at a tick (`UnifiedRuntime.evaluateScheduleTick`). */
export type RuntimeScheduleEvaluation = ScheduleEvaluation;
/** Options of `UnifiedRuntime.startScheduler` (the live scheduler's, without what the runtime supplies). */
export type RuntimeSchedulerOptions = Omit<SchedulerOptions, 'schedules' | 'dispatcher' | 'dispatcherOptions'>;
/** The live scheduler `UnifiedRuntime.startScheduler` returns. */
export type RuntimeScheduler = Scheduler;
