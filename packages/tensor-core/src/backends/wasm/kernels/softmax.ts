// The WASM runtime's row softmax and its backward (assembly/softmax.ts).
import { OP_SOFTMAX, OP_SOFTMAX_BACKWARD } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlaps } from './context.js';
import type { RuntimeContext } from './context.js';

/** y = softmax of each row of x (rows×cols, row-major). y may be x (in place). */
export interface SoftmaxArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  cols: number;
}

/** dx = y ⊙ (dy − rowsum(dy ⊙ y)), the gradient through y = softmax(x). dx may be dy (in place). */
export interface SoftmaxBackwardArgs {
  y: WasmBuffer;
  dy: WasmBuffer;
  dx: WasmBuffer;
  rows: number;
  cols: number;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function softmaxKernels(rt: RuntimeContext) {
  const softmax = (args: SoftmaxArgs): void => {
    const { x, y, rows, cols } = args;
    if (!rt.rowsReady('softmax', rows, cols)) return;
    rt.checkBuffer('softmax', 'x', x, rows * cols);
    rt.checkBuffer('softmax', 'y', y, rows * cols);
    if (x.ptr !== y.ptr && overlaps(x, y)) throw new Error('softmax: y must be x or not overlap it');
    rt.launch(rt.job(OP_SOFTMAX, x, y, y, rows, cols), rt.rowsParallel(rows, cols)); // C: unused by the forward kernel
  };

  const softmaxBackward = (args: SoftmaxBackwardArgs): void => {
    const { y, dy, dx, rows, cols } = args;
    if (!rt.rowsReady('softmax', rows, cols)) return;
    rt.checkBuffer('softmaxBackward', 'y', y, rows * cols);
    rt.checkBuffer('softmaxBackward', 'dy', dy, rows * cols);
    rt.checkBuffer('softmaxBackward', 'dx', dx, rows * cols);
    if (overlaps(dx, y) || (dx.ptr !== dy.ptr && overlaps(dx, dy))) throw new Error('softmaxBackward: dx must be dy or overlap neither y nor dy');
    rt.launch(rt.job(OP_SOFTMAX_BACKWARD, y, dy, dx, rows, cols), rt.rowsParallel(rows, cols));
  };

  return { softmax, softmaxBackward };
}
