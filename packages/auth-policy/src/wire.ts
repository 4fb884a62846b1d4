import { z } from 'zod';

/**
 * A wire object that refuses unknown keys with a message naming them and the allowed ones
 * (`auth: unknown key(s) provider; allowed: default_provider, email_allowlist`), so a typo in a config
 * file says what was meant. Known keys are validated by `shape`; decoding reads only them.
 */
export function closedObject<S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S, z.core.$loose> {
  const allowed = Object.keys(shape);
  return z.looseObject(shape).check((ctx) => {
    const unknown = Object.keys(ctx.value).filter((key) => !Object.hasOwn(shape, key));
    if (unknown.length === 0) return;
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `unknown key(s) ${unknown.join(', ')}; allowed: ${allowed.join(', ')}`,
    });
  });
}
