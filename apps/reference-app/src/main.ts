/**
 * `npm start`: the MobKit-TS reference app. Loads a config directory (`--config <dir>`, default the
 * app's `config/`), boots the UnifiedRuntime (the mob plus the router, delivery and scheduling
 * modules as supervised child processes), starts the live scheduler, and serves the console, SSE
 * streams and JSON-RPC on http://127.0.0.1:8080 (`PORT`, `HOST`). Ctrl-C / SIGTERM stops HTTP, then
 * the runtime, and exits 0. A bad config exits 1 with the file and field named, nothing started.
 */
import { isMobKitError, toMobKitError } from '@mobkit/core';
import type { Logger } from 'pino';
import { type AppConfig, DEFAULT_CONFIG_DIR, displayPath, loadAppConfig } from './config.js';
import { createLogger, prettyLogging } from './log.js';
import { type RunningApp, startApp } from './server.js';

const USAGE = `Usage: node apps/reference-app/dist/main.js [--config <dir>] [--ephemeral]   (or: npm start -- …)

  --config <dir>   config directory with mob.toml, mobkit.toml, schedules.toml, routing.toml,
                   delivery.toml (default: ${DEFAULT_CONFIG_DIR})
  --ephemeral      keep everything in memory for this run ([store] of mobkit.toml and DATABASE_URL
                   are ignored; nothing survives a restart)

Environment:
  PORT             HTTP port (default 8080; 0 picks a free one)
  HOST             interface to bind (default 127.0.0.1)
  OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL
                   use real models (per profile); without them members answer with the TestClient
  MOBKIT_LLM=test  force the TestClient
  DATABASE_URL     postgres://user@host:port/db keeps state in PostgreSQL instead of [store]
  LOG_LEVEL        pino level (default info); LOG_FORMAT=json|pretty overrides the TTY choice
`;

/** Hard bound on a graceful shutdown; past it the app exits 1 rather than hang. */
const SHUTDOWN_DEADLINE_MS = 20_000;

interface Args {
  configDir: string;
  help: boolean;
  ephemeral: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { configDir: DEFAULT_CONFIG_DIR, help: false, ephemeral: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--ephemeral') args.ephemeral = true;
    else if (arg === '--config' || arg === '-c') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new UsageError('--config needs a directory');
      args.configDir = value;
      i += 1;
    } else if (arg.startsWith('--config=')) args.configDir = arg.slice('--config='.length);
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return args;
}

class UsageError extends Error {}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`PORT must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  return port;
}

function banner(app: RunningApp, configDir: string): string {
  const rpc = (method: string, params: string) =>
    `curl -s ${app.url}/rpc -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"${method}","params":${params}}'`;
  return [
    '',
    `MobKit reference app running at ${app.url}`,
    `  config  ${configDir}`,
    `  LLM     ${app.llm.description}`,
    `  store   ${app.store.kind} ${app.store.location}`,
    '',
    'Try:',
    `  open the console        ${app.url}/console`,
    `  runtime status          ${rpc('mobkit/status', '{}')}`,
    `  send a message          ${rpc('mobkit/send_message', '{"member_id":"lead","message":"hello"}')}`,
    `  watch events live       curl -N ${app.url}/mob/events`,
    '',
    'Ctrl-C stops it (HTTP first, then the scheduler, modules and mob).',
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const log = createLogger();
  let args: Args;
  let port: number;
  try {
    args = parseArgs(process.argv.slice(2));
    port = parsePort(process.env.PORT);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const host = process.env.HOST?.trim() || '127.0.0.1';

  // Signals: the first starts an orderly shutdown; more (a terminal's Ctrl-C reaches both
  // `npm start` and this process) are noted and wait for it.
  let stopRequested = false;
  let running: RunningApp | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const requestStop = (reason: string) => {
    if (stopRequested) {
      log.info({ reason }, `${reason}: shutdown already in progress`);
      return;
    }
    stopRequested = true;
    log.info({ reason }, `${reason}: shutting down`);
    setTimeout(() => {
      log.error(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    wake?.();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => requestStop(`${signal} received`));
  // A bug that escapes every handler still gets an orderly shutdown (and exit 1); the supervisor
  // also kills module process groups at exit, so nothing is orphaned even if this cannot finish.
  let crashed = false;
  const onCrash = (error: unknown) => {
    log.fatal({ err: error }, 'uncaught error: shutting down');
    crashed = true;
    requestStop('uncaught error');
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  let config: AppConfig;
  try {
    config = loadAppConfig(args.configDir, { databaseUrl: process.env.DATABASE_URL, ephemeral: args.ephemeral });
  } catch (error) {
    reportFailure(log, 'invalid configuration', error);
    return 1;
  }
  log.info({ configDir: config.dir }, `config loaded from ${displayPath(config.dir)}`);

  try {
    running = await startApp(config, { port, host }, log);
  } catch (error) {
    // startApp stopped whatever it had started; a failed runtime build rolls itself back.
    reportFailure(log, 'start-up failed', error);
    return 1;
  }
  // The banner goes with pretty logs on stdout; with JSON logs it goes to stderr so stdout stays one JSON object per line.
  if (!stopRequested) (prettyLogging() ? process.stdout : process.stderr).write(banner(running, config.dir));
  log.info({ url: running.url }, `listening on ${running.url}`);

  await stopped;
  try {
    await running.close();
  } catch (error) {
    reportFailure(log, 'shutdown failed', error);
    return 1;
  }
  log.info('stopped');
  return crashed ? 1 : 0;
}

function reportFailure(log: Logger, what: string, error: unknown): void {
  const e = toMobKitError(error);
  const details = e.details ?? {};
  log.error({ code: e.code, file: details.file, field: details.field }, `${what}: ${e.message}`);
  // A MobKitError is the whole story; anything else is a bug worth its stack.
  if (!isMobKitError(error)) log.error({ err: error }, 'unexpected error');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `mobkit reference app: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
