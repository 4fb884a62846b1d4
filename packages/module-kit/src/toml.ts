import { parseTomlText, parseWithSchema, readConfigFile } from '@mobkit/core';
import type { z } from 'zod';

/**
 * Reads and parses a TOML file for a module's `load`. `what` names the file in errors
 * (`"greeter config"` → `greeter config ./greeter.toml: …`): a file that cannot be read is
 * `InvalidConfig` with the OS reason (`ENOENT`, `EACCES`, …) and `details.path`; a syntax error is
 * `InvalidToml` with line and column. With a zod `schema`, the table is validated and its output
 * returned; a mismatch is `InvalidConfig` naming the key path (`…: port: expected number, got string`).
 */
export function loadTomlFile(path: string, what: string): Record<string, unknown>;
export function loadTomlFile<S extends z.ZodType>(path: string, what: string, schema: S): z.output<S>;
export function loadTomlFile(path: string, what: string, schema?: z.ZodType): unknown {
  const text = readConfigFile(path, what);
  const table = parseTomlText(text, `${what} ${path}`);
  return schema === undefined
    ? table
    : parseWithSchema(schema, table, { what: `${what} ${path}`, code: 'InvalidConfig' });
}
