const encoder = new TextEncoder();

/**
 * FNV-1a 64-bit hash of the UTF-8 bytes of `text`, as a `bigint` (offset basis 0xcbf29ce484222325,
 * prime 0x100000001b3). Computed on 16-bit limbs, so it costs no `bigint` arithmetic per byte.
 */
export function fnv1a64(text: string): bigint {
  const [hi, lo] = fnv1a64Parts(text);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function fnv1a64Parts(text: string): [number, number] {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  const step = (byte: number): void => {
    h0 ^= byte;
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + h0 * 0x100;
    let t3 = h3 * 0x1b3 + h1 * 0x100;
    t1 += t0 >>> 16;
    t2 += t1 >>> 16;
    t3 += t2 >>> 16;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  };
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) for (let i = 0; i < text.length; i++) step(text.charCodeAt(i));
  else for (const byte of encoder.encode(text)) step(byte);
  return [((h3 << 16) | h2) >>> 0, ((h1 << 16) | h0) >>> 0];
}

/**
 * The deterministic jitter of a schedule, as the original computes it:
 * `FNV-1a-64(scheduleId) mod (min(jitterMs, baseMs − 1) + 1)`, where `baseMs` is the marker period
 * (or 60 000 for cron). The result is in `[0, min(jitterMs, baseMs − 1)]`, so always below the
 * interval; 0 when `jitterMs` is 0.
 */
export function jitterOffsetMs(scheduleId: string, jitterMs: number, baseMs: number): number {
  const span = Math.min(jitterMs, baseMs - 1);
  if (span <= 0) return 0;
  const [hi, lo] = fnv1a64Parts(scheduleId);
  const modulus = span + 1;
  if (modulus <= 0x200000) {
    // (hi·2^32 + lo) mod m with every intermediate below 2^53.
    return ((((hi % modulus) * 0x100000000) % modulus) + (lo % modulus)) % modulus;
  }
  return Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(modulus));
}
