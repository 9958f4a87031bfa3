// Rotary position embedding (Su et al., 2021), rotate-half convention of HF Llama / the PyTorch reference:
// the pairs are (i, i + D/2), not interleaved (2i, 2i+1). The inverse (angle -> -angle) is the backward.
import type { FloatArray, NumArray } from './types.js';

/**
 * x is (outer, T, D) row-major, cos and sin are (T, D/2). For i < D/2:
 *   y[i]       = x[i] cos - x[i + D/2] sin
 *   y[i + D/2] = x[i + D/2] cos + x[i] sin        (sin negated when inverse)
 */
export function ropeF(x: NumArray, cos: NumArray, sin: NumArray, outer: number, t: number, d: number, inverse: boolean, y: FloatArray): void {
  const h = d >> 1;
  const sg = inverse ? -1 : 1;
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < t; p++) {
      const base = (o * t + p) * d;
      const cb = p * h;
      for (let i = 0; i < h; i++) {
        const c = cos[cb + i]!;
        const s = sg * sin[cb + i]!;
        const x1 = x[base + i]!;
        const x2 = x[base + i + h]!;
        y[base + i] = x1 * c - x2 * s;
        y[base + i + h] = x2 * c + x1 * s;
      }
    }
  }
}
