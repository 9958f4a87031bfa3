// Broadcasting and its adjoint, which are each other's gradients: broadcastTo (a strided copy with stride 0 on the
// broadcast dims; gradient: sumTo) and sum (the reduce kernel; gradient: a broadcast back), with sumTo (sum over the
// broadcast dims). One module, since each op's backward calls the other.
import { getKernel } from '../backend.js';
import type { ReduceOp } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import type { GradSpec } from '../engine.js';
import { broadcastStrides, fmtShape, normAxes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './reshape.js';

/** Materialise x broadcast to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const b = checkInputs('broadcastTo', [x]);
  const ok =
    shape.length >= x.rank && x.shape.every((d, i) => d === 1 || d === shape[shape.length - x.rank + i]);
  if (!ok) throw new Error(`broadcastTo: ${fmtShape(x.shape)} cannot broadcast to ${fmtShape(shape)}`);
  if (shapesEqual(x.shape, shape)) return reshape(x, shape);
  const id = getKernel(b, 'stridedCopy')(x, shape, broadcastStrides(x.shape, shape), 0);
  const inShape = x.shape;
  return record('broadcastTo', [x], id, [...shape], x.dtype, { backward: (dy) => [sumTo(dy, inShape)] });
}

/** Sum g down to `shape` over broadcast dims (the adjoint of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

/**
 * @internal The reduce kernel as an op over `axes` (all by default), keeping the reduced axes (size 1) or not;
 * `grad(kdShape, axes)` gives its gradient spec (kdShape: the output shape with the reduced axes kept).
 */
export function reduceOp(
  op: ReduceOp,
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepDims: boolean,
  grad: (kdShape: number[], axes: number[]) => GradSpec,
): Tensor {
  const b = checkInputs(op, [x]);
  checkFloat(op, [x]);
  const ax = normAxes(op, axes, x.rank);
  const kdShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const outShape = keepDims ? kdShape : x.shape.filter((_, i) => !ax.includes(i));
  const id = getKernel(b, 'reduce')(x, op, ax);
  return record(op, [x], id, outShape, 'float32', grad(kdShape, ax));
}

/** Sum over axes (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const inShape = x.shape;
  return reduceOp('sum', x, axes, keepDims, (kdShape) => ({
    backward: (dy) => [broadcastTo(reshape(dy, kdShape), inShape)],
  }));
}
