import { readFileSync } from 'node:fs';
import { MobKitError } from './errors/error.js';

/**
 * Reads a UTF-8 config file. `what` names it in the error (`"routing config"` →
 * `routing config ./routing.toml: cannot read the file (ENOENT)`): a file that cannot be read is
 * `InvalidConfig` with the OS reason (`ENOENT`, `EACCES`, …), the cause and `details.path`.
 */
export function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MobKitError('InvalidConfig', `${what} ${path}: cannot read the file (${reason})`, {
      cause: error,
      details: { path },
    });
  }
}
