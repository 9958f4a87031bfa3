// The WASM runtime's per-token fake quantization of f32 activations (assembly/fake-quant.ts): the activation
// quantizers of @bitskip/quant (schemes.ts) in float64 SIMD, bit for bit the JS reference's values; rows split
// across the threads. @bitskip/quant registers it as its `wasm` fakeQuant kernel for activations.
import { OP_FAKE_QUANT, P } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlaps } from './context.js';
import type { RuntimeContext } from './context.js';

/** x_q (rows × cols) of x under absmax (codes in [−qmax, qmax], qmin = −qmax) or absmean (β/√7 steps, [qmin, qmax]). */
export interface FakeQuantRowsArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  cols: number;
  scale: 'absmax' | 'absmean';
  qmin: number;
  qmax: number;
}

/** The launcher of this family over the runtime `rt` (argument checks, then one control-block call). */
export function fakeQuantKernels(rt: RuntimeContext) {
  const fakeQuantRows = (args: FakeQuantRowsArgs): void => {
    const { x, y, rows, cols, qmin, qmax } = args;
    if (args.scale !== 'absmax' && args.scale !== 'absmean') throw new RangeError(`fakeQuantRows: scale must be 'absmax' or 'absmean', got '${String(args.scale)}'`);
    for (const [name, q] of [['qmin', qmin], ['qmax', qmax]] as const) {
      if (!Number.isInteger(q) || Math.abs(q) > 127) throw new RangeError(`fakeQuantRows: ${name} must be an integer in [−127, 127], got ${q}`);
    }
    if (qmin >= qmax) throw new RangeError(`fakeQuantRows: qmin (${qmin}) must be below qmax (${qmax})`);
    if (args.scale === 'absmax' && qmin !== -qmax) throw new RangeError(`fakeQuantRows: absmax codes are symmetric (qmin = −qmax), got [${qmin}, ${qmax}]`);
    if (!rt.rowsReady('fakeQuantRows', rows, cols)) return;
    rt.checkBuffer('fakeQuantRows', 'x', x, rows * cols);
    rt.checkBuffer('fakeQuantRows', 'y', y, rows * cols);
    if (overlaps(x, y) && x.ptr !== y.ptr) throw new Error('fakeQuantRows: y must be x itself or not overlap it');
    const ctl = rt.job(OP_FAKE_QUANT, x, x, y, rows, cols);
    ctl[P] = args.scale === 'absmean' ? 1 : 0;
    ctl[P + 1] = qmax;
    ctl[P + 2] = qmin;
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };
  return { fakeQuantRows };
}
