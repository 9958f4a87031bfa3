// Concatenation along an axis (the strided copy for permute/slice/broadcast lives in elementwise.ts).
import type { NumArray } from './types.js';

/** out = concat(parts, axis); each part is (outer, sizes[i], inner) in row-major terms. */
export function concatF(parts: readonly NumArray[], sizes: readonly number[], outer: number, inner: number, out: NumArray): void {
  let total = 0;
  for (const s of sizes) total += s;
  let at = 0;
  for (let pi = 0; pi < parts.length; pi++) {
    const src = parts[pi]!;
    const w = sizes[pi]! * inner;
    for (let o = 0; o < outer; o++) {
      const dst = o * total * inner + at;
      const s0 = o * w;
      for (let i = 0; i < w; i++) out[dst + i] = src[s0 + i]!;
    }
    at += w;
  }
}
