import type { JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';

type Validator = JsonSchemaValidator<unknown>;
type Provider = { getValidator<T>(schema: unknown): JsonSchemaValidator<T> };

let provider: Promise<Provider> | undefined;
// The MCP SDK's Ajv provider is loaded on first use, so a mob that validates nothing never imports it.
function loadProvider(): Promise<Provider> {
  provider ??= import('@modelcontextprotocol/sdk/validation/ajv').then(
    (m) => new m.AjvJsonSchemaValidator() as unknown as Provider,
  );
  return provider;
}

const compiled = new WeakMap<object, Validator | null>();

/**
 * A checker for JSON Schema `schema` (the MCP SDK's Ajv provider, non-strict so servers' schemas with
 * unknown keywords still compile). Resolves `check(value)`: undefined when `value` matches, else the
 * reasons (Ajv's messages, with the paths). A schema that does not compile checks nothing (`null`
 * from `compile`), so the value reaches its owner, which validates it again.
 */
export async function compileSchema(
  schema: Record<string, unknown>,
): Promise<((value: unknown) => string | undefined) | null> {
  let validator = compiled.get(schema);
  if (validator === undefined) {
    const p = await loadProvider();
    try {
      validator = p.getValidator<unknown>(schema);
    } catch {
      validator = null;
    }
    compiled.set(schema, validator);
  }
  if (validator === null) return null;
  const v = validator;
  return (value) => {
    const result = v(value);
    return result.valid ? undefined : (result.errorMessage ?? 'does not match the schema');
  };
}
