import { MobRuntimeError } from '../../errors.js';

const VAR = /\$\{([^}]*)\}/g;

/**
 * Expands every `${VAR}` in `value` from `env` (an MCP server's `env` value or header). An unset
 * variable is a `DEFINITION_ERROR` naming the server, the key (`env.API_KEY`, `headers.Authorization`)
 * and the variable.
 */
export function expandVars(
  value: string,
  env: Record<string, string | undefined>,
  server: string,
  key: string,
): string {
  return value.replace(VAR, (_match, name: string) => {
    const found = name.trim() === '' ? undefined : env[name];
    if (found === undefined)
      throw new MobRuntimeError(
        'DEFINITION_ERROR',
        `MCP server "${server}": ${key} uses \${${name}}, which is not set in the environment; set ${name || 'a variable name'} or change ${key}`,
        { details: { server, field: key, variable: name } },
      );
    return found;
  });
}
