// The WASM runtime's rotary embedding, rotate-half, forward or inverse (assembly/fused.ts).
import { OP_ROPE, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, overlaps, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/**
 * Rotary embedding, rotate-half convention (as the cpu kernel): x is rows = outer·t rows of d floats (d even),
 * row r at position r mod t; cos and sin are t × d/2. For i < d/2: y[i] = x[i]·c − x[i+d/2]·s,
 * y[i+d/2] = x[i+d/2]·c + x[i]·s; `inverse` rotates by −angle (the backward). y may be x.
 */
export interface RopeArgs {
  x: WasmBuffer;
  cos: WasmBuffer;
  sin: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  d: number;
  t: number;
  inverse: boolean;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function ropeKernels(rt: RuntimeContext) {
  const rope = (args: RopeArgs): void => {
    const { x, cos, sin, y, rows, d, t } = args;
    if (!rt.rowsReady('rope', rows, d)) return;
    checkDim('t', t);
    if (d % 2 !== 0 || t === 0 || rows % t !== 0) throw new RangeError(`rope: d must be even and rows a multiple of t ≥ 1, got rows ${rows}, d ${d}, t ${t}`);
    rt.checkBuffer('rope', 'x', x, rows * d);
    rt.checkBuffer('rope', 'cos', cos, (t * d) / 2);
    rt.checkBuffer('rope', 'sin', sin, (t * d) / 2);
    rt.checkBuffer('rope', 'y', y, rows * d);
    if ((y.ptr !== x.ptr && overlaps(y, x)) || overlapsAny(y, cos, sin)) throw new Error('rope: y must be x or overlap no input');
    const ctl = rt.job(OP_ROPE, x, cos, y, rows, d);
    ctl[P] = t;
    ctl[P + 1] = sin.ptr;
    ctl[P + 2] = bitsOf(args.inverse ? -1 : 1);
    rt.launch(ctl, rt.rowsParallel(rows, d));
  };

  return { rope };
}
