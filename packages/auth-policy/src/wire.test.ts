import { parseWithSchema } from '@mobkit/core';
import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closedObject } from './wire.js';

describe('closedObject', () => {
  const schema = closedObject({ alpha: z.string().optional(), beta: z.number().optional() });

  it('accepts the known keys', () => {
    expect(parseWithSchema(schema, { alpha: 'x', beta: 1 }, { what: 'thing' })).toEqual({ alpha: 'x', beta: 1 });
    expect(parseWithSchema(schema, {}, { what: 'thing' })).toEqual({});
  });

  it('refuses unknown keys naming them and the allowed ones, at the object’s path', () => {
    const error = expectMobKitError(
      () => parseWithSchema(schema, { alpha: 'x', gamma: 1, delta: 2 }, { what: 'thing', pathPrefix: 'section' }),
      'InvalidSchema',
    );
    expect(error.message).toBe('invalid thing: section: unknown key(s) gamma, delta; allowed: alpha, beta');
    expect(error.details?.field).toBe('section');
  });

  it('reports a wrong known key by its path', () => {
    const error = expectMobKitError(() => parseWithSchema(schema, { alpha: 3 }, { what: 'thing', pathPrefix: 's' }));
    expect(error.message).toBe('invalid thing: s.alpha: expected string, got integer');
  });

  it('encodes through a codec without the unknown-key check getting in the way', () => {
    const codec = z.codec(schema, z.custom<{ a?: string }>(), {
      decode: (w) => ({ a: w.alpha }),
      encode: (v) => ({ alpha: v.a }),
    });
    expect(z.encode(codec, { a: 'q' })).toEqual({ alpha: 'q' });
  });
});
