import { MobKitError } from '@mobkit/core';

/** What {@link parseConfigArgv} found on a module executable's command line. */
export type ConfigArgv = { help: true } | { help: false; configPath: string | undefined };

/**
 * Parses the command line shared by MobKit's module executables: `[--config|-c] <file.toml>`,
 * `--config=<file>`, or `--help`/`-h`. Anything else is `InvalidInput` with the usage line appended.
 * The caller decides whether a missing path is allowed.
 */
export function parseConfigArgv(argv: readonly string[], usage: string): ConfigArgv {
  const args = [...argv];
  let configPath: string | undefined;
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--config' || arg === '-c') {
      configPath = args.shift();
      if (configPath === undefined || configPath === '') {
        throw new MobKitError('InvalidInput', `--config needs a path\n${usage}`, { details: { field: '--config' } });
      }
    } else if (arg.startsWith('--config=')) {
      configPath = arg.slice('--config='.length);
    } else if (!arg.startsWith('-') && configPath === undefined) {
      configPath = arg;
    } else {
      throw new MobKitError('InvalidInput', `unknown argument ${JSON.stringify(arg)}\n${usage}`, {
        details: { argument: arg },
      });
    }
  }
  return { help: false, configPath: configPath === '' ? undefined : configPath };
}
