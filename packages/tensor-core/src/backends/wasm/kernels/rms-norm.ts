// The WASM runtime's RMSNorm forward and backward; dgain summed in float64 per thread (assembly/fused.ts).
import { OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlaps, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/** y = x · rstd · gain per row, rstd = 1/√(mean(x²) + eps). */
export interface RmsNormArgs {
  x: WasmBuffer;
  gain: WasmBuffer;
  y: WasmBuffer;
  rstd: WasmBuffer;
  rows: number;
  cols: number;
  eps: number;
}

/** The gradients of rmsNorm: dx (rows × cols) and dgain (cols, summed over rows in float64). */
export interface RmsNormBackwardArgs {
  x: WasmBuffer;
  gain: WasmBuffer;
  rstd: WasmBuffer;
  dy: WasmBuffer;
  dx: WasmBuffer;
  dgain: WasmBuffer;
  rows: number;
  cols: number;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function rmsNormKernels(rt: RuntimeContext) {
  const rmsNorm = (args: RmsNormArgs): void => {
    const { x, gain, y, rstd, rows, cols } = args;
    if (!rt.rowsReady('rmsNorm', rows, cols)) return;
    rt.checkBuffer('rmsNorm', 'x', x, rows * cols);
    rt.checkBuffer('rmsNorm', 'gain', gain, cols);
    rt.checkBuffer('rmsNorm', 'y', y, rows * cols);
    rt.checkBuffer('rmsNorm', 'rstd', rstd, rows);
    if (overlapsAny(y, x, gain) || overlapsAny(rstd, x, y)) throw new Error('rmsNorm: outputs must not overlap inputs');
    const ctl = rt.job(OP_RMSNORM_FORWARD, x, gain, y, rows, cols);
    ctl[P] = rstd.ptr;
    ctl[P + 1] = bitsOf(args.eps);
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };

  const rmsNormBackward = (args: RmsNormBackwardArgs): void => {
    const { x, gain, rstd, dy, dx, dgain, rows, cols } = args;
    if (!rt.rowsReady('rmsNormBackward', rows, cols)) {
      if (cols > 0 && dgain.length >= cols) new Float32Array(rt.memory.buffer, dgain.ptr, cols).fill(0);
      return;
    }
    rt.checkBuffer('rmsNormBackward', 'x', x, rows * cols);
    rt.checkBuffer('rmsNormBackward', 'gain', gain, cols);
    rt.checkBuffer('rmsNormBackward', 'rstd', rstd, rows);
    rt.checkBuffer('rmsNormBackward', 'dy', dy, rows * cols);
    rt.checkBuffer('rmsNormBackward', 'dx', dx, rows * cols);
    rt.checkBuffer('rmsNormBackward', 'dgain', dgain, cols);
    if (overlapsAny(dx, x, gain, rstd, dy) || overlapsAny(dgain, x, gain, rstd, dy)) throw new Error('rmsNormBackward: outputs must not overlap inputs');
    if (overlaps(dx, dgain)) throw new Error('rmsNormBackward: dx and dgain overlap');
    const par = rt.rowsParallel(rows, cols);
    const parts = par ? rt.threads : 1;
    // One float64 accumulator row of dgain per thread, summed here.
    const acc = rt.heap.allocBytes(parts * cols * 8);
    try {
      new Float64Array(rt.memory.buffer, acc, parts * cols).fill(0);
      const ctl = rt.job(OP_RMSNORM_BACKWARD, x, gain, dy, rows, cols);
      ctl[P] = rstd.ptr;
      ctl[P + 1] = dx.ptr;
      ctl[P + 2] = acc;
      rt.launch(ctl, par);
      const sums = new Float64Array(rt.memory.buffer, acc, parts * cols);
      const out = new Float32Array(rt.memory.buffer, dgain.ptr, cols);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < parts; t++) s += sums[t * cols + j]!;
        out[j] = s;
      }
    } finally {
      rt.heap.free(acc);
    }
  };

  return { rmsNorm, rmsNormBackward };
}
