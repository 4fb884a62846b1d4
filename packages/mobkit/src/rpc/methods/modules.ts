import { z } from 'zod';
import { nonBlank } from '../params.js';
import { type RpcMethod, rpcMethod } from '../registry.js';

const ModulesParams = z.strictObject({ modules: z.array(z.string()) });
const CallToolParams = z.strictObject({
  module_id: nonBlank('module_id'),
  tool: nonBlank('tool'),
  arguments: z.record(z.string(), z.unknown()).default({}),
  timeout_ms: z.number().int().positive().optional(),
});

/** The module methods: `mobkit/reconcile` (start what is missing) and `mobkit/call_tool` (an MCP tool). */
export const moduleMethods: readonly RpcMethod[] = [
  rpcMethod('mobkit/reconcile', ModulesParams, async ({ modules }, { runtime, options }) => {
    const added = await runtime.reconcileModules(modules, options.moduleTimeoutMs);
    return { accepted: true, reconciled_modules: modules, added };
  }),
  rpcMethod('mobkit/call_tool', CallToolParams, async (p, { runtime, options }) => {
    const result = await runtime.callTool(p.module_id, p.tool, p.arguments, p.timeout_ms ?? options.moduleTimeoutMs);
    return { module_id: p.module_id, tool: p.tool, result: result.payload };
  }),
];
