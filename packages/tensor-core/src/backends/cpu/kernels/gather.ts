// Gather along an axis (embedding lookup) and its adjoint, scatter-add (the embedding gradient).
import type { FloatArray, NumArray } from './types.js';

/** x viewed as (outer, n, inner); out is (outer, nIdx, inner) with out[o, j, :] = x[o, idx[j], :]. */
export function gatherF(x: NumArray, idx: Int32Array, outer: number, n: number, inner: number, out: NumArray): void {
  const nIdx = idx.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      const src = (o * n + idx[j]!) * inner;
      const dst = (o * nIdx + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i]!;
    }
  }
}

/** out (outer, n, inner) = zeros, then out[o, idx[j], :] += upd[o, j, :]. Accumulates in float64. */
export function scatterAddF(upd: NumArray, idx: Int32Array, outer: number, n: number, inner: number, out: FloatArray): void {
  const nIdx = idx.length;
  const acc = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      const dst = (o * n + idx[j]!) * inner;
      const src = (o * nIdx + j) * inner;
      for (let i = 0; i < inner; i++) acc[dst + i]! += upd[src + i]!;
    }
  }
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]!;
}
