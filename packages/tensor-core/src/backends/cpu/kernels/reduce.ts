// Reductions (sum, max) over any set of axes, keeping reduced axes as size 1. Sums accumulate in float64.
import type { ReduceOp } from '../../../backend.js';
import { forEachBroadcast } from './iterate.js';
import type { FloatArray, NumArray } from './types.js';

/** Reduce x (shape) over `axes` into out (shape with those axes set to 1). */
export function reduceF32(op: ReduceOp, x: NumArray, shape: readonly number[], axes: readonly number[], out: FloatArray): void {
  const r = shape.length;
  // Strides into the output, 0 along reduced axes.
  const ost = new Array<number>(r).fill(0);
  let acc = 1;
  for (let d = r - 1; d >= 0; d--) {
    if (axes.includes(d)) continue;
    ost[d] = acc;
    acc *= shape[d]!;
  }
  const n = out.length;
  if (op === 'sum' && sumContiguousBlock(x, shape, axes, out)) return;
  if (op === 'sum') {
    const s = new Float64Array(n);
    forEachBroadcast(shape, [ost], (o, len, st, inner) => {
      let io = st[0]!;
      const so = inner[0]!;
      if (so === 0) {
        let t = 0;
        for (let i = 0; i < len; i++) t += x[o + i]!;
        s[io]! += t;
      } else {
        for (let i = 0; i < len; i++, io += so) s[io]! += x[o + i]!;
      }
    });
    for (let i = 0; i < n; i++) out[i] = s[i]!;
  } else {
    out.fill(-Infinity);
    forEachBroadcast(shape, [ost], (o, len, st, inner) => {
      let io = st[0]!;
      const so = inner[0]!;
      for (let i = 0; i < len; i++, io += so) {
        const v = x[o + i]!;
        if (v > out[io]! || Number.isNaN(v)) out[io] = v;
      }
    });
  }
}

/**
 * Sum over one contiguous block of axes that is not the last axis, or over the last axis alone: x viewed as
 * (outer, r, inner), out[o, i] = Σ_j x[o, j, i] — one pass, the same float64 accumulation in the same order as the
 * general loop (bit-identical results), without a callback per row (the backward of a broadcast over a middle axis,
 * e.g. grouped kv heads). Returns false when the axes are not such a block.
 */
function sumContiguousBlock(x: NumArray, shape: readonly number[], axes: readonly number[], out: FloatArray): boolean {
  const a0 = axes[0];
  if (a0 === undefined) return false;
  const a1 = axes[axes.length - 1]!;
  if (a1 - a0 + 1 !== axes.length) return false;
  let outer = 1;
  let r = 1;
  let inner = 1;
  for (let d = 0; d < shape.length; d++) {
    if (d < a0) outer *= shape[d]!;
    else if (d <= a1) r *= shape[d]!;
    else inner *= shape[d]!;
  }
  // A block ending at the last axis sums each row first in the general loop: only the lone last axis matches it.
  if (inner === 1 && a0 !== shape.length - 1) return false;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let t = 0;
      const base = o * r;
      for (let j = 0; j < r; j++) t += x[base + j]!;
      out[o] = 0 + t;
    }
    return true;
  }
  const s = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    s.fill(0);
    for (let j = 0; j < r; j++) {
      const base = (o * r + j) * inner;
      for (let i = 0; i < inner; i++) s[i]! += x[base + i]!;
    }
    out.set(s, o * inner);
  }
  return true;
}
