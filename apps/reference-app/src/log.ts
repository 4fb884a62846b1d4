import type { EventEnvelope } from '@mobkit/core';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * The app's logger: human-readable lines when stdout is a terminal, one JSON object per line
 * otherwise (for log shippers and tests). Writes synchronously so nothing is lost at exit.
 * `LOG_LEVEL` sets the level (default `info`); `LOG_FORMAT=json|pretty` overrides the choice.
 */
export function createLogger(
  env: NodeJS.ProcessEnv = process.env,
  isTty: boolean = process.stdout.isTTY === true,
): Logger {
  const level = env.LOG_LEVEL?.trim() || 'info';
  const usePretty = prettyLogging(env, isTty);
  const base = { name: 'mobkit-reference-app', level, base: { pid: process.pid } };
  if (usePretty) {
    const colorize = isTty && env.NO_COLOR === undefined;
    return pino(
      base,
      pretty({ colorize, sync: true, destination: 1, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss.l' }),
    );
  }
  return pino(base, pino.destination({ dest: 1, sync: true }));
}

/** Whether {@link createLogger} writes pretty lines (`LOG_FORMAT`, else whether stdout is a terminal). */
export function prettyLogging(
  env: NodeJS.ProcessEnv = process.env,
  isTty: boolean = process.stdout.isTTY === true,
): boolean {
  const format = env.LOG_FORMAT?.trim().toLowerCase();
  return format === 'pretty' || (format !== 'json' && isTty);
}

/** The payload fields of the supervisor's failure events this module reads (see `@mobkit/supervisor`). */
interface SupervisorPayload {
  module_id?: string;
  from?: string | null;
  to?: string;
  attempt?: number;
  reason?: string;
  code?: string;
  error?: string;
  exit_code?: number | null;
  signal?: string | null;
  stderr?: string[];
  will_retry?: boolean;
  restart?: number;
  delay_ms?: number;
}

/** The events {@link logModuleEvent} logs. */
const SUPERVISOR_EVENTS = new Set(['supervisor.start_failed', 'supervisor.health', 'supervisor.warning']);

/**
 * Logs one event of the module supervisor if it is about a module's supervision: a failed start
 * attempt (`supervisor.start_failed`, error), a crash (`supervisor.health` to `Failed`, error), a
 * restart (`Restarting`, warn) and its recovery (`Healthy`, info), a module given up on (`Stopped`,
 * error) and the supervisor's warnings (warn). Each line names the module (`module`) and carries
 * the quoted cause: `code`, `exitCode`, `signal` and the module's last `stderr` lines. Other events
 * are ignored; returns whether the event was logged.
 */
export function logModuleEvent(log: Logger, envelope: EventEnvelope): boolean {
  const event = envelope.event;
  if (event.kind !== 'module' || !SUPERVISOR_EVENTS.has(event.eventType)) return false;
  const p = (typeof event.payload === 'object' && event.payload !== null ? event.payload : {}) as SupervisorPayload;
  const id = p.module_id ?? event.module;
  const fields = {
    module: id,
    event: event.eventType,
    ...(p.attempt === undefined ? {} : { attempt: p.attempt }),
    ...(p.from === undefined ? {} : { from: p.from }),
    ...(p.to === undefined ? {} : { to: p.to }),
    ...(p.code === undefined ? {} : { code: p.code }),
    ...(p.exit_code === undefined ? {} : { exitCode: p.exit_code }),
    ...(p.signal === undefined ? {} : { signal: p.signal }),
    ...(p.stderr === undefined ? {} : { stderr: p.stderr }),
    ...(p.restart === undefined ? {} : { restart: p.restart, delayMs: p.delay_ms }),
    ...(p.will_retry === undefined ? {} : { willRetry: p.will_retry }),
  };
  const cause = p.error ?? p.reason ?? 'no cause given';
  switch (event.eventType) {
    case 'supervisor.start_failed':
      log.error(
        fields,
        `module ${id}: start attempt ${p.attempt}${p.will_retry ? ' failed, retrying' : ' failed'}: ${cause}`,
      );
      return true;
    case 'supervisor.warning':
      log.warn(fields, `module ${id}: ${cause}`);
      return true;
  }
  switch (p.to) {
    case 'Failed':
      log.error(fields, `module ${id} failed (attempt ${p.attempt}): ${cause}`);
      return true;
    case 'Restarting':
      log.warn(
        fields,
        `module ${id} restarting (restart ${p.restart ?? '?'}, in ${p.delay_ms ?? 0} ms) after ${p.reason ?? cause}`,
      );
      return true;
    case 'Stopped':
      log.error(fields, `module ${id} stopped: ${p.reason ?? cause}`);
      return true;
    case 'Healthy':
      log.info(fields, `module ${id} is healthy again (attempt ${p.attempt})`);
      return true;
    default:
      log.info(fields, `module ${id}: ${p.from ?? 'none'} → ${p.to}`);
      return true;
  }
}
