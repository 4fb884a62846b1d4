import { expectMobKitError } from '@mobkit/test-utils';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closedObject, parseWithSchema } from './schema.js';

describe('closedObject', () => {
  const Config = closedObject({
    name: z.string(),
    limits: closedObject({ max: z.number().optional(), min: z.number().optional() }).optional(),
  });
  const parse = (input: unknown) => parseWithSchema(Config, input, { what: 'test config', code: 'InvalidConfig' });

  it('accepts known keys and keeps their values', () => {
    expect(parse({ name: 'a', limits: { max: 2 } })).toEqual({ name: 'a', limits: { max: 2 } });
  });

  it('refuses each unknown key at its own path, listing the allowed keys', () => {
    const error = expectMobKitError(() => parse({ name: 'a', limits: { maxx: 2 }, nme: 'b' }), 'InvalidConfig');
    const issues = (error.details as { issues: { field: string; message: string }[] }).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'nme', message: 'nme: unknown key; allowed: name, limits' },
        { field: 'limits.maxx', message: 'limits.maxx: unknown key; allowed: max, min' },
      ]),
    );
    expect(issues).toHaveLength(2);
  });

  it('says a missing enum value is required, naming the choices', () => {
    const error = expectMobKitError(() =>
      parseWithSchema(z.object({ mode: z.enum(['a', 'b']) }), {}, { what: 'mode config' }),
    );
    expect(error.code).toBe('MissingField');
    expect(error.message).toBe('invalid mode config: mode: required (expected one of a, b)');
  });
});

describe('readConfigFile', () => {
  it('reads a file, and names the file and the OS reason when it cannot', async () => {
    const { readConfigFile } = await import('./files.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'core-files-'));
    writeFileSync(join(dir, 'a.toml'), 'x = 1\n');
    expect(readConfigFile(join(dir, 'a.toml'), 'test config')).toBe('x = 1\n');
    const missing = join(dir, 'missing.toml');
    const error = expectMobKitError(() => readConfigFile(missing, 'test config'), 'InvalidConfig');
    expect(error.message).toBe(`test config ${missing}: cannot read the file (ENOENT)`);
    expect(error.details).toEqual({ path: missing });
  });
});

describe('parseWithSchema messages', () => {
  it('names up to five problems, then how many more', () => {
    const Six = z.object(Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => [k, z.number()])));
    const error = expectMobKitError(() => parseWithSchema(Six, {}, { what: 'six' }), 'MissingField');
    expect(error.message).toBe(
      'invalid six: a: required (expected number); b: required (expected number); c: required (expected number); ' +
        'd: required (expected number); e: required (expected number) (and 1 more problem)',
    );
    expect((error.details as { issues: unknown[] }).issues).toHaveLength(6);
  });

  it('encodes through a codec over a closed object', async () => {
    const { wireCodec, wireEncoder } = await import('./codec.js');
    const Codec = wireCodec(closedObject({ max_items: z.number() }), {
      decode: (w) => ({ maxItems: w.max_items }),
      encode: (v) => ({ max_items: v.maxItems }),
    });
    expect(Codec.parse({ max_items: 3 })).toEqual({ maxItems: 3 });
    expect(wireEncoder(Codec)({ maxItems: 4 })).toEqual({ max_items: 4 });
  });
});
