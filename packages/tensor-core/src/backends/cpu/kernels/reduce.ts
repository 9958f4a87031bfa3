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
