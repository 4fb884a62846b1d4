import { z } from 'zod';

/**
 * The encoder of a wire codec: a function from the camelCase value to its snake_case wire form,
 * derived from the codec (`z.codec(WireSchema, ValueSchema, { decode, encode })`), so a shape's
 * mapping is written once, in its codec, for both directions. Parse with the codec itself
 * (`parseWithSchema(Codec, input)` decodes).
 */
export function wireEncoder<C extends z.ZodType>(codec: C): (value: z.output<C>) => z.input<C> {
  return (value) => z.encode(codec, value);
}
