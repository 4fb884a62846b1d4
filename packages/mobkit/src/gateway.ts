import { createHash } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  MOBKIT_CONTRACT_VERSION,
  MobKitError,
  type ModuleConfig,
  type PreSpawnData,
  RPC_ERROR,
  type RpcId,
  parseModuleConfig,
  parsePreSpawnData,
  rpcError,
  rpcErrorFromException,
  rpcResult,
  toMobKitError,
} from '@mobkit/core';
import { MobDefinition } from '@mobkit/mob-adapter';
import { z } from 'zod';
import { type LlmChoice, chooseLlm } from './llm.js';
import { createRpcHandler } from './rpc.js';
import { UnifiedRuntime } from './runtime.js';
import { MobBootstrapSpec, MobStorage } from './spec.js';

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
 * serves JSON-RPC over HTTP on 127.0.0.1 (`POST /rpc`, `GET /healthz`), answers the init with
 * `{ http_base_url, loaded_modules, contract_version, runtime_origin, runtime_fingerprint }`, then
 * answers one request per line (notifications get no line) until EOF, and shuts down cleanly.
 */
export async function runGateway(options: GatewayOptions): Promise<GatewayResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = options.env ?? process.env;
  const write = (value: unknown) =>
    new Promise<void>((resolve) => {
      options.output.write(`${JSON.stringify(value)}\n`, () => resolve());
    });
  const lines = createInterface({ input: options.input, crlfDelay: Number.POSITIVE_INFINITY });
  const iterator = lines[Symbol.asyncIterator]();

  let first: IteratorResult<string>;
  do {
    first = await iterator.next();
  } while (!first.done && first.value.trim() === '');
  if (first.done) {
    lines.close();
    return { exitCode: 0 };
  }

  let runtime: UnifiedRuntime | undefined;
  let server: Server | undefined;
  let initId: RpcId = null;
  try {
    let message: unknown;
    try {
      message = JSON.parse(first.value);
    } catch {
      await write(rpcError(null, RPC_ERROR.PARSE_ERROR, 'Parse error'));
      lines.close();
      return { exitCode: 1 };
    }
    const request = message as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    initId = typeof request?.id === 'string' || typeof request?.id === 'number' ? request.id : null;
    if (
      request === null ||
      typeof request !== 'object' ||
      request.jsonrpc !== '2.0' ||
      request.method !== 'mobkit/init'
    ) {
      await write(
        rpcError(initId, RPC_ERROR.INVALID_REQUEST, 'Invalid Request: Expected mobkit/init as the first request'),
      );
      lines.close();
      return { exitCode: 1 };
    }
    const booted = await bootFromInit(request.params, env, log);
    runtime = booted.runtime;
    const rpc = createRpcHandler(runtime, { httpBaseUrl: () => baseUrl });
    server = await serveRpcOverHttp(rpc.handleText);
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
      const next = await iterator.next();
      if (next.done) break;
      if (next.value.trim() === '') continue;
      const response = await rpc.handleText(next.value);
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
    lines.close();
    if (server) await closeServer(server);
    if (runtime) await runtime.shutdown();
  }
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
    return { runtime, origin, mobToml, llm };
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

const MAX_BODY_BYTES = 1024 * 1024;

/** Serves `POST /rpc` (JSON-RPC text in, response out) and `GET /healthz` on 127.0.0.1, port 0. */
export function serveRpcOverHttp(handleText: (text: string) => Promise<unknown>): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = type === 'application/json' ? JSON.stringify(body) : String(body);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET' && req.url === '/healthz') return send(200, 'ok', 'text/plain');
    if (req.url !== '/rpc') return send(404, { error: 'not_found' });
    if (req.method !== 'POST') return send(405, { error: 'method_not_allowed' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        send(413, { error: 'payload_too_large', limit_bytes: MAX_BODY_BYTES });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      handleText(Buffer.concat(chunks).toString('utf8')).then(
        (response) => (response === undefined ? (res.writeHead(204), res.end()) : send(200, response)),
        (error: unknown) => send(500, rpcErrorFromException(null, error)),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
