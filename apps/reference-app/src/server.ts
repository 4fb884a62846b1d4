import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MobKitStore, StoreInfo } from '@mobkit/core';
import { openStore } from '@mobkit/store';
import express from 'express';
import type { Logger } from 'pino';
import {
  MobBootstrapSpec,
  MobKitError,
  UnifiedRuntime,
  chooseLlm,
  discoverySpecToSpawnSpec,
  type LlmChoice,
} from 'mobkit';
import { createReferenceAppRouter, httpSecurityOptions } from 'mobkit/http';
import type { AppConfig } from './config.js';
import { logModuleEvent } from './log.js';

/** Where and how the app listens. */
export interface ServeOptions {
  /** TCP port (0 = any free port). */
  port: number;
  /** Interface to bind (default 127.0.0.1). */
  host: string;
  /** Environment for the LLM choice (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** A running reference app. */
export interface RunningApp {
  /** `http://<host>:<port>` */
  url: string;
  runtime: UnifiedRuntime;
  llm: LlmChoice;
  /** The store in use (kind, location, schema version). */
  store: StoreInfo;
  /** Stops HTTP (closing every stream), then shuts the runtime down (scheduler, modules, mob). Idempotent. */
  close(): Promise<void>;
}

/** Opens the configured store; a bad path, URL or a server that is down fails here, before any module starts. */
async function openAppStore(config: AppConfig, log: Logger): Promise<MobKitStore> {
  const choice = config.store;
  const store = await openStore(
    choice.kind === 'sqlite'
      ? { kind: 'sqlite', path: choice.path }
      : choice.kind === 'postgres'
        ? { kind: 'postgres', url: choice.url }
        : { kind: 'memory' },
  );
  log.info({ store: store.info }, `store: ${store.info.kind} ${store.info.location}`);
  return store;
}

/**
 * Opens the store, boots the UnifiedRuntime from `config` (mob, modules, members) on it, starts the live
 * scheduler and serves the reference app router on `host:port`. If any step fails, whatever was started
 * is stopped again (and the store closed) before the error is thrown.
 */
export async function startApp(config: AppConfig, options: ServeOptions, log: Logger): Promise<RunningApp> {
  const llm = chooseLlm(options.env ?? process.env, (line) => log.warn(line.replace(/^\[mobkit\] /, '')));
  log.info({ llm: llm.kind }, `LLM client: ${llm.description}`);
  const store = await openAppStore(config, log);
  try {
    return await serveOnStore(config, options, log, llm, store);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

async function serveOnStore(
  config: AppConfig,
  options: ServeOptions,
  log: Logger,
  llm: LlmChoice,
  store: MobKitStore,
): Promise<RunningApp> {
  log.info(
    { modules: config.modules.discovery.modules },
    `starting modules ${config.modules.discovery.modules.join(', ') || '(none)'}`,
  );
  const runtime = await UnifiedRuntime.builder()
    .mobSpec(MobBootstrapSpec.new(config.mob).withOptions({ defaultLlmClient: llm.client }))
    .moduleConfig(config.modules)
    .timeout(config.startupTimeoutMs)
    .store(store)
    .drainTimeout(config.drainTimeoutMs)
    .onError((event) => log.warn({ errorEvent: event }, `runtime error event: ${event.category}`))
    // Every module failure, crash, restart and budget exhaustion is logged as it happens, start-up included.
    .onModuleEvent((event) => logModuleEvent(log, event))
    .build();

  let server: Server | undefined;
  const streams = new AbortController();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (server) {
        log.info('stopping HTTP');
        streams.abort();
        await closeServer(server);
      }
      log.info('shutting down the runtime (scheduler, modules, mob)');
      const report = await runtime.shutdown();
      log.info(
        {
          terminatedModules: report.moduleShutdown.terminatedModules,
          orphanProcesses: report.moduleShutdown.orphanProcesses,
          drainTimedOut: report.drain.timedOut,
          mobStopped: report.mobStop.ok,
        },
        'runtime stopped',
      );
      await store.close();
    })();
    return closing;
  };

  try {
    const loaded = runtime.loadedModules();
    const missing = config.modules.discovery.modules.filter((id) => !loaded.includes(id));
    if (missing.length > 0) {
      const health = runtime
        .moduleHealthTransitions()
        .filter((t) => missing.includes(t.moduleId))
        .map((t) => `${t.moduleId}: ${t.to}`);
      log.warn(
        { missing, health },
        `modules not running: ${missing.join(', ')} (their process exited or never answered; see mobkit.toml)`,
      );
    }
    log.info({ loaded }, `modules running: ${loaded.join(', ') || '(none)'}`);
    // Core's one spawn-spec schema: labels, context, additional_instructions and resume_session_id all reach the mob.
    const specs = config.members.map((m, i) => discoverySpecToSpawnSpec(m, `members[${i}]`));
    const report = await runtime.reconcile(specs);
    log.info(
      { members: report.mob.spawned, retained: report.mob.retained, routes: report.routing.addedRouteKeys },
      `members ${report.mob.spawned.join(', ') || '(none)'} spawned` +
        (report.mob.retained.length > 0 ? `, ${report.mob.retained.join(', ')} restored from the store` : ''),
    );

    runtime.subscribe((event) => {
      if (event.event.kind !== 'module') return;
      const type = event.event.eventType;
      if (type.startsWith('runtime.injection') || type === 'injection.dispatch') {
        log.info(
          { eventId: event.eventId, module: event.event.module, eventType: type },
          `schedule: ${event.event.module}/${type}`,
        );
      }
    });
    if (config.schedules.length > 0) {
      runtime.startScheduler(config.schedules, {
        onError: (error) => log.warn({ err: error }, 'scheduler error'),
      });
      log.info(
        { schedules: config.schedules.map((s) => `${s.scheduleId} ${s.interval}`) },
        `scheduler started (${config.schedules.length} schedule${config.schedules.length === 1 ? '' : 's'})`,
      );
    }

    const app = express();
    app.disable('x-powered-by');
    app.use(
      // The runtime's router: JSON-RPC through createRpcHandler, streams closed when it shuts down.
      createReferenceAppRouter(runtime, config.decisionState, {
        // [http] of mobkit.toml: allowed origins and hosts, console token exp and lifetime cap.
        ...httpSecurityOptions(config.http),
        signal: streams.signal,
        onError: (error) => log.error({ err: error }, 'request failed'),
        onStreamDropped: (info) => log.warn({ stream: info }, 'slow SSE client dropped'),
      }),
    );
    server = await listen(app, options.port, options.host);
  } catch (error) {
    await close().catch((closeError: unknown) =>
      log.error({ err: closeError }, 'shutdown after a failed start failed too'),
    );
    throw error;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, runtime, llm, store: store.info, close };
}

function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use; set PORT to another port` : error.message;
      reject(
        new MobKitError('InvalidConfig', `cannot listen on ${host}:${port}: ${reason}`, {
          cause: error,
          details: { field: error.code === 'EADDRINUSE' ? 'PORT' : 'HOST' },
        }),
      );
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Streams were ended by the router's abort signal; whatever is still open is cut.
    setTimeout(() => server.closeAllConnections(), 1_000).unref();
  });
}
