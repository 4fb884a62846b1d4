import { TomlError, parse } from 'smol-toml';
import { MobKitError } from './errors/error.js';

/**
 * Parses TOML text; a syntax error becomes `InvalidToml` naming the line and column
 * (`<what>: TOML syntax error at line 3, column 9: …`).
 */
export function parseTomlText(text: string, what: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0] ?? error.message;
      throw new MobKitError(
        'InvalidToml',
        `${what}: TOML syntax error at line ${error.line}, column ${error.column}: ${reason}`,
        {
          cause: error,
          details: { line: error.line, column: error.column },
        },
      );
    }
    throw new MobKitError('InvalidToml', `${what}: ${(error as Error).message}`, { cause: error });
  }
}
