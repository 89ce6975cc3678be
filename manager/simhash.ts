// 64-bit SimHash (Charikar) over word shingles: texts that share most of their shingles get hashes
// that differ in few bits. Kept as two 32-bit halves so the arithmetic stays in plain numbers.

export interface SimHash {
  hi: number;
  lo: number;
}

const SHINGLE = 3;

/** FNV-1a 64-bit of a string, as two 32-bit halves. */
function fnv64(text: string): SimHash {
  // 64-bit FNV offset basis and prime, multiplied in 16-bit limbs to stay exact in doubles.
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // × 0x100000001b3 = × (2^40 + 0x1b3)
    const t0 = h0 * 0x1b3, t1 = h1 * 0x1b3, t2 = h2 * 0x1b3, t3 = h3 * 0x1b3;
    const c1 = t1 + (t0 >>> 16);
    const c2 = t2 + (c1 >>> 16) + (h0 << 8);
    const c3 = t3 + (c2 >>> 16) + (h1 << 8);
    h0 = t0 & 0xffff;
    h1 = c1 & 0xffff;
    h2 = c2 & 0xffff;
    h3 = c3 & 0xffff;
  }
  return { hi: ((h3 << 16) | h2) >>> 0, lo: ((h1 << 16) | h0) >>> 0 };
}

export function simhash(words: readonly string[]): SimHash {
  const counts = new Int32Array(64);
  const shingles = words.length < SHINGLE ? [words.join(' ')] : [];
  for (let i = 0; i + SHINGLE <= words.length; i++) shingles.push(words.slice(i, i + SHINGLE).join(' '));
  for (const shingle of shingles) {
    const { hi, lo } = fnv64(shingle);
    for (let b = 0; b < 32; b++) {
      counts[b]! += (lo >>> b) & 1 ? 1 : -1;
      counts[b + 32]! += (hi >>> b) & 1 ? 1 : -1;
    }
  }
  let lo = 0, hi = 0;
  for (let b = 0; b < 32; b++) {
    if (counts[b]! > 0) lo |= 1 << b;
    if (counts[b + 32]! > 0) hi |= 1 << b;
  }
  return { hi: hi >>> 0, lo: lo >>> 0 };
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function hammingDistance(a: SimHash, b: SimHash): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

/** Bands the hash is cut into for lookup: two hashes within BANDS − 1 bits of each other share a band. */
export const BANDS = 8;

/** The hash's eight 8-bit bands, each tagged with its number so one index can hold them all. */
export function bands(h: SimHash): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push((i << 8) | ((h.hi >>> (i * 8)) & 0xff), ((i + 4) << 8) | ((h.lo >>> (i * 8)) & 0xff));
  return out;
}
