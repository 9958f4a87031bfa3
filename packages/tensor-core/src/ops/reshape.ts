// reshape: the same buffer under a new shape (a view); its gradient is a reshape back. The lowest layout op: every
// other op module may use it.
import { checkInputs, record } from '../engine.js';
import { fmtShape, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Same data, new shape (one -1 is inferred). Shares the buffer. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkInputs('reshape', [x]);
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const nInfer = shape.filter((d) => d === -1).length;
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (nInfer > 1 || sizeOf(out) !== x.size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  x.ref.refs++;
  const inShape = x.shape;
  return record('reshape', [x], x.ref, out, x.dtype, { backward: (dy) => [reshape(dy, inShape)] });
}
