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
