import { readFileSync } from 'node:fs';
import { MobKitError, parseTomlText } from '@mobkit/core';

/**
 * Reads and parses a TOML file into a plain object, for a module's `load`. `what` names the file in
 * errors (`"greeter config"` → `greeter config ./greeter.toml: …`): a file that cannot be read is
 * `InvalidConfig` with the OS reason (`ENOENT`, `EACCES`, …) and `details.path`; a syntax error is
 * core's `InvalidToml` with line and column. Validate the result with your schema
 * (`parseWithSchema` from `@mobkit/core`), which names the offending key path.
 */
export function loadTomlFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new MobKitError('InvalidConfig', `${what} ${path}: cannot read the file (${reason})`, {
      cause: error,
      details: { path },
    });
  }
  return parseTomlText(text, `${what} ${path}`);
}
