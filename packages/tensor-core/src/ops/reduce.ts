// Reductions with gradients: sum, mean (composite), max (gradient shared among ties), over axes, keepdims.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { normAxes } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { div, eq, mul } from './elementwise.js';
import { broadcastTo, reshape } from './layout.js';

function reduce(op: 'sum' | 'max', x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const b = checkInputs(op, [x]);
  checkFloat(op, [x]);
  const ax = normAxes(op, axes, x.rank);
  const kdShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const outShape = keepDims ? kdShape : x.shape.filter((_, i) => !ax.includes(i));
  const id = getKernel(b, 'reduce')(x, op, ax);
  const inShape = x.shape;
  if (op === 'sum') {
    return record('sum', [x], id, outShape, 'float32', {
      backward: (dy) => [broadcastTo(reshape(dy, kdShape), inShape)],
    });
  }
  return record('max', [x], id, outShape, 'float32', {
    save: [x],
    saveOutput: true,
    backward: (dy, [sx, sy]) => {
      // Gradient split evenly among the maxima of each slice.
      const mask = eq(sx!, reshape(sy!, kdShape));
      const count = sum(mask, ax, true);
      return [mul(div(mask, count), reshape(dy, kdShape))];
    },
  });
}

/** Sum over axes (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduce('sum', x, axes, keepDims);
}

/** Max over axes (all by default); ties share the gradient. */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return reduce('max', x, axes, keepDims);
}

/** Mean over axes (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const n = ax.reduce((a, i) => a * x.shape[i]!, 1);
  return mul(sum(x, ax, keepDims), 1 / n);
}
