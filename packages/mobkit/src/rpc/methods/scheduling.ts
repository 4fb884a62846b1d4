import { dispatchReportToWire, scheduleEvaluationToWire } from '@mobkit/scheduling';
import { parseScheduleParams } from '../../scheduling.js';
import { type RpcMethod, rpcMethod } from '../registry.js';

const scheduleParams = { parseParams: parseScheduleParams };

/** The scheduling methods: evaluate a tick (pure) and dispatch it (once per schedule and tick). */
export const schedulingMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/scheduling/evaluate', scheduleParams, ({ schedules, tickMs }, { runtime }) =>
    scheduleEvaluationToWire(runtime.evaluateScheduleTick(schedules, tickMs)),
  ),
  rpcMethod('mobkit/scheduling/dispatch', scheduleParams, async ({ schedules, tickMs }, { runtime }) =>
    dispatchReportToWire(await runtime.dispatchScheduleTick(schedules, tickMs)),
  ),
];
