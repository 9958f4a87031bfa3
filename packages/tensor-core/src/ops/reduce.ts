// Reductions with gradients: sum (broadcast.ts, beside its adjoint broadcastTo), mean (composite), max (gradient
// shared among ties), over axes, keepdims.
import { normAxes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reduceOp, sum } from './broadcast.js';
import { div, eq, mul } from './elementwise.js';
import { reshape } from './reshape.js';

export { sum } from './broadcast.js';

/** Max over axes (all by default); ties share the gradient. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduceOp('max', x, axes, keepDims, (kdShape, ax) => ({
    save: [x],
    saveOutput: true,
    backward: (dy, [sx, sy]) => {
      // Gradient split evenly among the maxima of each slice.
      const mask = eq(sx!, reshape(sy!, kdShape));
      const count = sum(mask, ax, true);
      return [mul(div(mask, count), reshape(dy, kdShape))];
    },
  }));
}

/** Mean over axes (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const n = ax.reduce((a, i) => a * x.shape[i]!, 1);
  return mul(sum(x, ax, keepDims), 1 / n);
}
