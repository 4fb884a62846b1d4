import {
  MobKitError,
  type RpcHandler,
  type RpcRequest,
  type RpcResponse,
  handleRpcText,
  methodNotFound,
} from '@mobkit/core';
import type { UnifiedRuntime } from '../runtime/unified-runtime.js';
import { METHOD_GROUPS } from './methods/index.js';
import { type RpcHandlerOptions, type RpcMethodContext, RpcMethodRegistry } from './registry.js';

/** Default timeout of module calls made by the RPC methods. */
const DEFAULT_MODULE_TIMEOUT_MS = 5_000;

/** What {@link createRpcHandler} returns: a request handler plus the text entry point and the method list. */
export type UnifiedRpcHandler = RpcHandler & {
  /** Method names `mobkit/capabilities` advertises: exactly the registered ones, sorted. */
  readonly methods: readonly string[];
  /** Serves raw JSON-RPC text; `undefined` means nothing to send (notifications). */
  handleText(text: string): Promise<RpcResponse | RpcResponse[] | undefined>;
};

/** A registry holding every built-in method group. */
export function defaultRpcMethodRegistry(): RpcMethodRegistry {
  const registry = new RpcMethodRegistry();
  for (const group of METHOD_GROUPS) registry.register(...group);
  return registry;
}

/**
 * The JSON-RPC 2.0 surface of a {@link UnifiedRuntime} (spec section 16): every method validates its
 * params with a schema (`-32602` naming the parameter), results use the spec's snake_case shapes,
 * errors map through the one code table. `<module>/<method>` (not `mobkit/`) is proxied to the module.
 * Returns a function serving one request object, and `handleText` serving raw text (batches,
 * notifications, parse errors).
 */
export function createRpcHandler(
  runtime: UnifiedRuntime,
  options: RpcHandlerOptions = {},
  registry: RpcMethodRegistry = defaultRpcMethodRegistry(),
): UnifiedRpcHandler {
  const methods: readonly string[] = Object.freeze(registry.names());
  const settings: RpcMethodContext['options'] = {
    moduleTimeoutMs: options.moduleTimeoutMs ?? DEFAULT_MODULE_TIMEOUT_MS,
    httpBaseUrl: options.httpBaseUrl,
  };
  const handler = async (request: RpcRequest): Promise<unknown> => {
    const method = registry.get(request.method);
    if (method) return method.invoke(request.params, { runtime, options: settings, methods, request });
    return proxyToModule(runtime, request, settings.moduleTimeoutMs);
  };
  return Object.assign(handler, {
    methods,
    handleText: (text: string) => handleRpcText(text, handler),
  });
}

/** `<module>/<method>`: proxied to a loaded module; an unknown `mobkit/…` name is `-32601`. */
async function proxyToModule(runtime: UnifiedRuntime, request: RpcRequest, timeoutMs: number): Promise<unknown> {
  if (request.method.startsWith('mobkit/')) throw methodNotFound(request.method);
  const slash = request.method.indexOf('/');
  if (slash <= 0 || slash === request.method.length - 1) throw methodNotFound(request.method);
  const moduleId = request.method.slice(0, slash);
  if (!runtime.loadedModules().includes(moduleId)) {
    throw new MobKitError('UnloadedModule', `Module '${moduleId}' not loaded`, { details: { module_id: moduleId } });
  }
  const routed = await runtime.routeModuleCall(
    { moduleId, method: request.method.slice(slash + 1), params: request.params ?? {} },
    timeoutMs,
  );
  return { module_id: routed.moduleId, method: routed.method, payload: routed.payload };
}
