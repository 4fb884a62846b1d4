import { MobKitError, type RpcRequest, parseRpcParams } from '@mobkit/core';
import type { z } from 'zod';
import type { UnifiedRuntime } from '../runtime/unified-runtime.js';

/** Extra facts the RPC surface reports (e.g. the gateway's HTTP base URL). */
export interface RpcHandlerOptions {
  /** Reported by `mobkit/status` when set. */
  httpBaseUrl?: () => string | undefined;
  /** Default timeout for `mobkit/reconcile`, `mobkit/spawn_member`, `call_tool` and module proxy calls. Default 5 s. */
  moduleTimeoutMs?: number;
}

/** What a method's handler gets besides its params. */
export interface RpcMethodContext {
  runtime: UnifiedRuntime;
  /** The handler's options, defaults applied. */
  options: Required<Pick<RpcHandlerOptions, 'moduleTimeoutMs'>> & Pick<RpcHandlerOptions, 'httpBaseUrl'>;
  /** Every registered method name, sorted (what `mobkit/capabilities` advertises). */
  methods: readonly string[];
  request: RpcRequest;
}

/**
 * How a method reads its params: a zod schema (parsed with core's `parseRpcParams`: `-32602 Invalid
 * params: <path>: …`), or a parser function owned by the subsystem (which throws `RpcInvalidParams`).
 */
export type RpcParamsSpec<P> = z.ZodType<P> | { parseParams: (params: unknown, method: string) => P };

/** One JSON-RPC method: its name, its params spec (for validation and introspection) and how it runs. */
export interface RpcMethod {
  readonly name: string;
  readonly params: RpcParamsSpec<unknown>;
  /** Reads the params with the spec (`-32602` on bad input, before anything runs), then runs the method. */
  invoke(params: unknown, context: RpcMethodContext): unknown;
}

/** Declares a method; the params type flows from the spec to the handler. */
export function rpcMethod<P>(
  name: string,
  params: RpcParamsSpec<P>,
  handler: (params: P, context: RpcMethodContext) => unknown,
): RpcMethod {
  return {
    name,
    params,
    invoke: (raw, context) => handler(readParams(params, raw, name), context),
  };
}

function readParams<P>(spec: RpcParamsSpec<P>, params: unknown, method: string): P {
  if ('parseParams' in spec) return spec.parseParams(params, method);
  return parseRpcParams(spec, params, method);
}

/** The params spec of a method that takes none: absent, `null`, `{}` or `[]`; anything else is `-32602`. */
export const NO_PARAMS: RpcParamsSpec<undefined> = {
  parseParams: (params, method) => {
    if (params === undefined || params === null) return undefined;
    if (Array.isArray(params) ? params.length === 0 : Object.keys(params as object).length === 0) return undefined;
    throw new MobKitError('RpcInvalidParams', `Invalid params: ${method} takes no params`, { details: { method } });
  },
};

/**
 * The JSON-RPC methods a handler serves, keyed by name in a `Map`: only registered names are
 * methods (`constructor`, `__proto__`, `toString` are not). A name is registered once.
 */
export class RpcMethodRegistry {
  private readonly methods = new Map<string, RpcMethod>();

  /** Registers methods; a name registered twice is a programming error (`InvalidInput`). */
  register(...methods: readonly RpcMethod[]): this {
    for (const method of methods) {
      if (this.methods.has(method.name)) {
        throw new MobKitError('InvalidInput', `RPC method ${method.name} is registered twice`, {
          details: { method: method.name },
        });
      }
      this.methods.set(method.name, method);
    }
    return this;
  }

  /** The registered method of that name, if any. */
  get(name: string): RpcMethod | undefined {
    return this.methods.get(name);
  }

  /** Every registered name, sorted. */
  names(): string[] {
    return [...this.methods.keys()].sort();
  }
}
