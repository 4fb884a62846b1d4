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

/**
 * A wire codec: `wire` validates the snake_case form (errors name the key path), `decode` maps it to
 * the camelCase value and `encode` maps a value back; the encoded form is validated by `wire` again.
 * `wireCodec(...).parse(input)` decodes; {@link wireEncoder} gives the encoder.
 */
export function wireCodec<W extends z.ZodType, T>(
  wire: W,
  mapping: { decode: (wire: z.output<W>) => T; encode: (value: T) => z.output<W> },
): z.ZodCodec<W, z.ZodType<T>> {
  return z.codec(wire, z.custom<T>(), {
    decode: (w) => mapping.decode(w),
    encode: (v) => mapping.encode(v),
  });
}
