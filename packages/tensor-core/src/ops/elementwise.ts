// Elementwise ops with gradients: unary maps, broadcasting binary maps, comparisons (no gradient), where,
// and composites (silu, ...) that are written from primitives and need no gradient code of their own.
import { getKernel } from '../backend.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor.js';
import { scalar } from './create.js';
import { sumTo } from './broadcast.js';

export type TensorLike = Tensor | number;

function unary(op: UnaryOp, x: Tensor, backward?: (dy: Tensor, x: Tensor, y: Tensor) => Tensor | null): Tensor {
  const b = checkInputs(op, [x]);
  checkFloat(op, [x]);
  const id = getKernel(b, 'unary')(x, op);
  return record(op, [x], id, x.shape, 'float32', backward && {
    save: [x],
    saveOutput: true,
    backward: (dy, [sx, sy]) => [backward(dy, sx!, sy!)],
  });
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (dy) => neg(dy));
export const exp = (x: Tensor): Tensor => unary('exp', x, (dy, _x, y) => mul(dy, y));
export const log = (x: Tensor): Tensor => unary('log', x, (dy, xx) => div(dy, xx));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (dy, _x, y) => div(mul(dy, 0.5), y));
/** 1/sqrt(x); d/dx = -y³/2. */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (dy, _x, y) => mul(dy, mul(pow(y, 3), -0.5)));
export const abs = (x: Tensor): Tensor => unary('abs', x, (dy, xx) => mul(dy, sign(xx)));
/** sign(x) in {-1, 0, 1}; gradient zero. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const relu = (x: Tensor): Tensor => unary('relu', x, (dy, xx) => mul(dy, unary('step', xx)));
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (dy, _x, y) => mul(dy, mul(y, sub(1, y))));
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (dy, _x, y) => mul(dy, sub(1, square(y))));
export const square = (x: Tensor): Tensor => unary('square', x, (dy, xx) => mul(dy, mul(xx, 2)));
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x, (dy, _x, y) => neg(mul(dy, square(y))));

/** x * sigmoid(x) (composite). */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

function asTensor(v: TensorLike, like: Tensor): Tensor {
  return v instanceof Tensor ? v : scalar(v, 'float32', like.backend);
}

function binary(
  op: BinaryOp,
  a0: TensorLike,
  b0: TensorLike,
  backward?: (dy: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null],
): Tensor {
  if (!(a0 instanceof Tensor) && !(b0 instanceof Tensor)) throw new Error(`${op}: at least one operand must be a Tensor`);
  const like = (a0 instanceof Tensor ? a0 : b0) as Tensor;
  const a = asTensor(a0, like);
  const b = asTensor(b0, like);
  try {
    const be = checkInputs(op, [a, b]);
    checkFloat(op, [a, b]);
    const outShape = broadcastShapes(op, a.shape, b.shape);
    const id = getKernel(be, 'binary')(a, b, op, outShape);
    const aShape = a.shape;
    const bShape = b.shape;
    return record(op, [a, b], id, outShape, 'float32', backward && {
      save: [a, b],
      saveOutput: true,
      backward: (dy, [sa, sb, sy], needs) => {
        const [ga, gb] = backward(dy, sa!, sb!, sy!, needs);
        return [ga !== null && needs[0] ? sumTo(ga, aShape) : null, gb !== null && needs[1] ? sumTo(gb, bShape) : null];
      },
    });
  } finally {
    if (a !== a0) a.dispose();
    if (b !== b0) b.dispose();
  }
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b, (dy) => [dy, dy]);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b, (dy, _a, _b, _y, n) => [dy, n[1] ? neg(dy) : null]);
export const mul = (a: TensorLike, b: TensorLike): Tensor =>
  binary('mul', a, b, (dy, sa, sb, _y, n) => [n[0] ? mul(dy, sb) : null, n[1] ? mul(dy, sa) : null]);
export const div = (a: TensorLike, b: TensorLike): Tensor =>
  binary('div', a, b, (dy, _a, sb, y, n) => [n[0] ? div(dy, sb) : null, n[1] ? neg(div(mul(dy, y), sb)) : null]);
/** a^b; d/da = b a^(b-1), d/db = a^b log a (only computed when b needs a gradient). */
export const pow = (a: TensorLike, b: TensorLike): Tensor =>
  binary('pow', a, b, (dy, sa, sb, y, n) => [
    n[0] ? mul(dy, mul(sb, pow(sa, sub(sb, 1)))) : null,
    n[1] ? mul(dy, mul(y, log(sa))) : null,
  ]);
/** Elementwise max; ties send the gradient to a. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  binary('maximum', a, b, (dy, sa, sb, _y, n) => [n[0] ? mul(dy, ge(sa, sb)) : null, n[1] ? mul(dy, lt(sa, sb)) : null]);
/** Elementwise min; ties send the gradient to a. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  binary('minimum', a, b, (dy, sa, sb, _y, n) => [n[0] ? mul(dy, le(sa, sb)) : null, n[1] ? mul(dy, gt(sa, sb)) : null]);

// Comparisons: float 0/1, no gradient.
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);

/** cond ? a : b elementwise (cond is float 0/1 or any nonzero), broadcasting all three. No gradient to cond. */
export function where(cond: Tensor, a0: TensorLike, b0: TensorLike): Tensor {
  const a = asTensor(a0, cond);
  const b = asTensor(b0, cond);
  try {
    const be = checkInputs('where', [cond, a, b]);
    checkFloat('where', [cond, a, b]);
    const outShape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
    const id = getKernel(be, 'where')(cond, a, b, outShape);
    const aShape = a.shape;
    const bShape = b.shape;
    return record('where', [cond, a, b], id, outShape, 'float32', {
      save: [cond],
      backward: (dy, [c], n) => [
        null,
        n[1] ? sumTo(where(c!, dy, 0), aShape) : null,
        n[2] ? sumTo(where(c!, 0, dy), bShape) : null,
      ],
    });
  } finally {
    if (a !== a0) a.dispose();
    if (b !== b0) b.dispose();
  }
}

/** Convert dtype (float32 -> int32 truncates). No gradient. */
export function cast(x: Tensor, dtype: 'float32' | 'int32'): Tensor {
  const b = checkInputs('cast', [x]);
  return record('cast', [x], getKernel(b, 'cast')(x, dtype), x.shape, dtype);
}
