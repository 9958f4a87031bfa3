// Reductions with gradients: sum (broadcast.ts, beside its adjoint broadcastTo), mean (composite), max (gradient
// shared among ties), over axes, keepdims.
import { getKernel, hasKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
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

export interface SumSquaresOptions {
  /** Use the backend's fused kernel where it has one (default true); false: the composite sum(mul(x, x)). */
  fused?: boolean;
}

/**
 * Σ x² over every element, a scalar: the gradient-norm clip's per-tensor term. Where the backend has the fused
 * kernel (sumSquares: the wasm runtime's float64 row sums of the f32 squares), one pass with no x² tensor, and the
 * operations of the composite sum(mul(x, x)) in its order (each square an f32 product, each row summed in float64
 * from 0, then the rows in order), so its bits; elsewhere the composite, which is the reference.
 */
export function sumSquares(x: Tensor, opts: SumSquaresOptions = {}): Tensor {
  const be = checkInputs('sumSquares', [x]);
  checkFloat('sumSquares', [x]);
  if (!(opts.fused ?? true) || !hasKernel(be, 'sumSquares')) return sum(mul(x, x));
  const y = getKernel(be, 'sumSquares')(x);
  return record('sumSquares', [x], y, [], 'float32', {
    save: [x],
    backward: (dy, [sx]) => [mul(mul(sx!, dy), 2)], // the composite's g·x + g·x, exactly
  });
}
