import { describe, expect, it } from 'vitest';
import { fnv1a64, jitterOffsetMs } from './jitter.js';

function reference(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

describe('FNV-1a 64 jitter', () => {
  it('matches the published FNV-1a 64 test vectors and a BigInt reference', () => {
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
    for (const text of ['sched-a', 'phase5-happy', 'Ünïcödé-日本', 'x'.repeat(300), ' spaced '])
      expect(fnv1a64(text)).toBe(reference(text));
  });

  it('is the hash modulo min(jitter, base − 1) + 1', () => {
    for (const [id, jitter, base] of [
      ['sched-a', 10_000, 60_000],
      ['sched-b', 59_999, 60_000],
      ['sched-c', 1_000_000, 60_000],
      ['big', 9_000_000_000, 86_400_000 * 400],
    ] as const) {
      const expected = Number(reference(id) % BigInt(Math.min(jitter, base - 1) + 1));
      expect(jitterOffsetMs(id, jitter, base)).toBe(expected);
    }
    expect(jitterOffsetMs('anything', 0, 60_000)).toBe(0);
    expect(jitterOffsetMs('anything', 5_000, 1)).toBe(0);
  });
});
