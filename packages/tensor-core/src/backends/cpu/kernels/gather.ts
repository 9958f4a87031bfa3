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
  if (distinctIndices(idx, n)) {
    // Each destination row receives one update (layer dropout's kept rows): 0 + u is u, so copy, no float64 pass.
    out.fill(0);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < nIdx; j++) {
        const dst = (o * n + idx[j]!) * inner;
        const src = (o * nIdx + j) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] = upd[src + i]! + 0; // + 0: −0 becomes 0, as 0 + u does
      }
    }
    return;
  }
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

/** True when every index is in [0, n) and none repeats. */
function distinctIndices(idx: Int32Array, n: number): boolean {
  if (idx.length > n) return false;
  const seen = new Uint8Array(n);
  for (let j = 0; j < idx.length; j++) {
    const k = idx[j]!;
    if (k < 0 || k >= n || seen[k] === 1) return false;
    seen[k] = 1;
  }
  return true;
}
