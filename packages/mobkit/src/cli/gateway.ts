import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import {
  MOBKIT_CONTRACT_VERSION,
  MobKitError,
  type ModuleConfig,
  type PreSpawnData,
  DEFAULT_RPC_LIMITS,
  RPC_ERROR,
  type RpcId,
  parseModuleConfig,
  parsePreSpawnData,
  parseRpcMessage,
  rpcError,
  rpcErrorFromException,
  rpcResult,
  stringifyRpcResponses,
  toMobKitError,
} from '@mobkit/core';
import { MobDefinition } from '@mobkit/mob-adapter';
import express from 'express';
import { z } from 'zod';
import { authOffDecisionState } from '../app-config/decision-state.js';
import { createReferenceAppRouter } from '../http/router.js';
import { type LlmChoice, chooseLlm } from '../llm.js';
import { type UnifiedRpcHandler, createRpcHandler } from '../rpc/handler.js';
import { UnifiedRuntime } from '../runtime/unified-runtime.js';
import { MobBootstrapSpec, MobStorage } from '../spec.js';
import { type BoundedLine, boundedLines } from './lines.js';

/**
 * The longest line the gateway reads, in UTF-8 bytes: core's framing limit (`DEFAULT_RPC_LIMITS`),
 * enforced while reading so a longer line is never held in memory.
 */
/** The longest stdin line read: the framing's own message-size limit. */
const MAX_LINE_BYTES = DEFAULT_RPC_LIMITS.maxMessageBytes;

/** The mob the gateway runs when `mobkit/init` brings no `mob_config`. */
export const FALLBACK_MOB_TOML = `
[mob]
id = "mobkit-gateway"

[profiles.worker]
model = "gpt-5.2"
external_addressable = true
peer_description = "General worker"

[profiles.worker.tools]
comms = true
`;

const InitParams = z.strictObject({
  mob_config: z.string().optional(),
  modules: z.array(z.unknown()).default([]),
  pre_spawn: z.array(z.unknown()).default([]),
  has_session_builder: z.boolean().default(false),
  runtime_options: z.record(z.string(), z.unknown()).optional(),
  timeout_ms: z.number().int().positive().max(600_000).default(5_000),
});

/** Options of {@link runGateway}. */
export interface GatewayOptions {
  input: Readable;
  output: Writable;
  /** Where warnings and the LLM choice are logged (default: stderr). */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** How the gateway ended. */
export interface GatewayResult {
  /** 0 after a clean run to EOF; 1 when `mobkit/init` failed. */
  exitCode: number;
}

/**
 * The persistent stdio gateway (spec 16.1): line 1 must be `mobkit/init`; the gateway boots a
 * UnifiedRuntime from it (mob TOML or a minimal fallback mob, the given modules all started),
 * serves the reference app router on 127.0.0.1 with console auth off (`POST /rpc`, `GET /healthz`,
 * the console, SSE such as `GET /mob/events`), answers the init with
 * `{ http_base_url, loaded_modules, contract_version, runtime_origin, runtime_fingerprint }`, then
 * answers one request per line (notifications get no line) until EOF, and shuts down cleanly.
 */
export async function runGateway(options: GatewayOptions): Promise<GatewayResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = options.env ?? process.env;
  const write = (value: unknown) =>
    new Promise<void>((resolve) => {
      options.output.write(`${stringifyRpcResponses(value)}\n`, () => resolve());
    });
  const iterator = boundedLines(options.input, MAX_LINE_BYTES);
  const close = () => void iterator.return(undefined);
  const nextLine = async (): Promise<IteratorResult<BoundedLine>> => {
    for (;;) {
      const next = await iterator.next();
      if (next.done || !('text' in next.value) || next.value.text.trim() !== '') return next;
    }
  };

  const first = await nextLine();
  if (first.done) {
    close();
    return { exitCode: 0 };
  }

  let runtime: UnifiedRuntime | undefined;
  let server: Server | undefined;
  const streams = new AbortController();
  let initId: RpcId = null;
  try {
    const init = readInit(first.value);
    if (!init.ok) {
      await write(init.response);
      return { exitCode: 1 };
    }
    initId = init.id;
    const booted = await bootFromInit(init.params, env, log);
    runtime = booted.runtime;
    let baseUrl: string | undefined;
    const rpc = createRpcHandler(runtime, { httpBaseUrl: () => baseUrl });
    server = await serveHttp(runtime, rpc, booted.modules, streams.signal, log);
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const loaded = runtime.loadedModules();
    await write(
      rpcResult(initId, {
        http_base_url: baseUrl,
        loaded_modules: loaded,
        contract_version: MOBKIT_CONTRACT_VERSION,
        runtime_origin: booted.origin,
        runtime_fingerprint: createHash('sha256')
          .update(booted.mobToml)
          .update('\n')
          .update(loaded.join(','))
          .digest('hex'),
        llm: booted.llm.description,
      }),
    );

    for (;;) {
      const next = await nextLine();
      if (next.done) break;
      const response = 'text' in next.value ? await rpc.handleText(next.value.text) : lineTooLarge();
      if (response !== undefined) await write(response);
    }
    return { exitCode: 0 };
  } catch (error) {
    if (runtime === undefined) {
      await write(rpcErrorFromException(initId, error));
      return { exitCode: 1 };
    }
    log(`[mobkit gateway] ${toMobKitError(error).message}`);
    return { exitCode: 1 };
  } finally {
    close();
    streams.abort();
    if (server) await closeServer(server);
    if (runtime) await runtime.shutdown();
  }
}

/**
 * The first line, read with core's JSON-RPC framing (its size and depth limits included): it must be
 * one `mobkit/init` request; anything else is the error response to send before exiting 1.
 */
function readInit(
  line: BoundedLine,
): { ok: true; id: RpcId; params: unknown } | { ok: false; response: ReturnType<typeof rpcError> } {
  if (!('text' in line)) return { ok: false, response: lineTooLarge() };
  const message = parseRpcMessage(line.text);
  const [entry] = message.entries;
  if (entry === undefined) throw new MobKitError('Internal', 'the JSON-RPC framing returned no entry');
  if (!entry.ok) return { ok: false, response: entry.response };
  const id = entry.request.id ?? null;
  if (message.batch || entry.request.method !== 'mobkit/init') {
    return {
      ok: false,
      response: rpcError(id, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: Expected mobkit/init as the first request'),
    };
  }
  return { ok: true, id, params: entry.request.params };
}

/** The answer to a line longer than {@link MAX_LINE_BYTES}: the framing's own `-32600`, id null (the line was never read). */
function lineTooLarge(): ReturnType<typeof rpcError> {
  const message = `Invalid Request: message larger than ${MAX_LINE_BYTES} bytes`;
  return rpcErrorFromException(
    null,
    new MobKitError('RpcMessageTooLarge', message, { details: { max_bytes: MAX_LINE_BYTES } }),
  );
}

async function bootFromInit(
  params: unknown,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{
  runtime: UnifiedRuntime;
  origin: 'workspace_config' | 'fallback_minimal';
  mobToml: string;
  llm: LlmChoice;
  modules: ModuleConfig[];
}> {
  const parsed = InitParams.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '<params>';
    throw new MobKitError('RpcInvalidParams', `Invalid params: ${field}: ${issue?.message ?? 'invalid'}`, {
      details: { field },
    });
  }
  const p = parsed.data;
  if (p.runtime_options !== undefined)
    log('[mobkit gateway] warning: mobkit/init runtime_options are ignored (as the original gateway)');
  if (p.has_session_builder)
    log(
      '[mobkit gateway] warning: has_session_builder callbacks (callback/build_agent, callback/call_tool) are not supported yet; members are built by default',
    );
  const origin = p.mob_config !== undefined && p.mob_config.trim() !== '' ? 'workspace_config' : 'fallback_minimal';
  const mobToml = origin === 'workspace_config' ? (p.mob_config as string) : FALLBACK_MOB_TOML;
  let definition: MobDefinition;
  try {
    definition = MobDefinition.fromToml(mobToml);
  } catch (error) {
    const e = toMobKitError(error);
    throw new MobKitError('RpcInvalidParams', `Invalid params: mob_config: ${e.message}`, {
      cause: e,
      details: { field: 'mob_config', ...e.details },
    });
  }
  const modules: ModuleConfig[] = p.modules.map((m, i) => wrapParams(() => parseModuleConfig(m, `modules[${i}]`)));
  const preSpawn: PreSpawnData[] = p.pre_spawn.map((d, i) => wrapParams(() => parsePreSpawnData(d), `pre_spawn[${i}]`));
  const llm = chooseLlm(env);
  log(`[mobkit gateway] LLM: ${llm.description}`);
  try {
    const runtime = await UnifiedRuntime.bootstrap(
      MobBootstrapSpec.new(definition, MobStorage.inMemory()).withOptions({ defaultLlmClient: llm.client }),
      { modules, discovery: { namespace: 'gateway', modules: modules.map((m) => m.id) }, preSpawn },
      p.timeout_ms,
    );
    return { runtime, origin, mobToml, llm, modules };
  } catch (error) {
    throw new MobKitError('GatewayBootstrapFailed', `bootstrap failed: ${toMobKitError(error).message}`, {
      cause: error,
    });
  }
}

function wrapParams<T>(fn: () => T, prefix?: string): T {
  try {
    return fn();
  } catch (error) {
    const e = toMobKitError(error);
    throw new MobKitError('RpcInvalidParams', `Invalid params: ${prefix ? `${prefix}: ` : ''}${e.message}`, {
      cause: e,
      details: e.details,
    });
  }
}

/**
 * Serves the reference app router over `runtime` on 127.0.0.1, port 0, console auth off (a loopback
 * endpoint for the process that started the gateway): `/rpc` answers with the gateway's own handler.
 */
function serveHttp(
  runtime: UnifiedRuntime,
  rpc: UnifiedRpcHandler,
  modules: readonly ModuleConfig[],
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    createReferenceAppRouter(runtime, authOffDecisionState(modules), {
      rpcHandler: rpc,
      signal,
      onError: (error) => log(`[mobkit gateway] HTTP request failed: ${toMobKitError(error).message}`),
    }),
  );
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1');
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
