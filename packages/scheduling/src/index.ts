/**
 * @mobkit/scheduling — schedules that fire on time, once: validation of interval markers and cron
 * in time zones (croner underneath, with MobKit's daylight-saving rules), pure evaluation with
 * deterministic jitter, an idempotent dispatcher with claims and catch-up, and a live scheduler.
 * The `mobkit-scheduling` MCP module's server is on the `@mobkit/scheduling/module` subpath (this
 * entry never loads the MCP SDK).
 * @packageDocumentation
 */
export { SchedulingError, type SchedulingErrorCode } from './errors.js';
export {
  MAX_TICK_MS,
  ScheduleDefinitionWireSchema,
  ScheduleDefinitionSchema,
  scheduleToWire,
  parseScheduleDefinition,
  parseScheduleRequest,
  validateTickMs,
  compileSchedules,
  compileSchedule,
  type ScheduleDefinition,
  type ScheduleDefinitionWire,
  type CompiledSchedule,
  type ScheduleRequest,
} from './definition.js';
export { parseTimeZone, type ScheduleTimeZone } from './timezone.js';
export {
  CRON_LOOKBACK_MS,
  parseInterval,
  type ScheduleInterval,
  type MarkerInterval,
  type CronInterval,
} from './interval.js';
export { fnv1a64, jitterOffsetMs } from './jitter.js';
export {
  evaluateSchedulesAtTick,
  evaluateScheduleRequest,
  ScheduleEvaluationWireSchema,
  ScheduleEvaluationSchema,
  scheduleEvaluationToWire,
  isDueAt,
  latestDueTick,
  nextDueTick,
  compareTriggers,
  type DueTrigger,
  type ScheduleEvaluation,
  type ScheduleEvaluationWire,
} from './evaluate.js';
export {
  Dispatcher,
  CLAIM_RETENTION_MS,
  MAX_CLAIMS,
  DEFAULT_HOOK_TIMEOUT_MS,
  DEFAULT_INJECTION_TIMEOUT_MS,
  type DispatcherOptions,
  type SchedulingEvent,
} from './dispatch.js';
export {
  ScheduleDispatchReportWireSchema,
  ScheduleDispatchReportSchema,
  SupervisorSignalSchema,
  dispatchReportToWire,
  supervisorSignalToWire,
  type DispatchedSchedule,
  type DispatchedInjection,
  type ScheduleDispatchReport,
  type ScheduleDispatchReportWire,
  type SupervisorSignal,
  type SupervisorSignalWire,
} from './report.js';
export {
  parseRuntimeInjection,
  toolDispatchHook,
  type DispatchHook,
  type InjectionExecutor,
  type InjectionRequest,
  type InjectionOutcome,
  type RuntimeInjection,
  type SchedulingDispatchArgs,
} from './hook.js';
export {
  MemoryClaimStore,
  JsonlClaimStore,
  ScheduleClaimWireSchema,
  ScheduleClaimSchema,
  claimToWire,
  type ClaimStore,
  type ScheduleClaim,
  type ScheduleClaimWire,
  type JsonlClaimStoreOptions,
} from './claims.js';
export { StoreClaimStore, SCHEDULE_CLAIMS_NAMESPACE, type StoreClaimStoreOptions } from './store-claims.js';
export { Scheduler, type SchedulerOptions, type SchedulerFire, type SchedulerState } from './scheduler.js';
export {
  parseSchedulesToml,
  loadSchedulesToml,
  parseSchedulingModuleConfig,
  loadSchedulingModuleConfig,
  renderTemplate,
  injectionFor,
  TEMPLATE_PLACEHOLDERS,
  type SchedulingModuleConfig,
} from './config.js';
export { parseSchedulingDispatchArgs, SchedulingDispatchArgsSchema } from './mcp.js';
