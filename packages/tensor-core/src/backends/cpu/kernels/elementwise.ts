// Elementwise kernels: unary maps, broadcasting binary maps and where(), over typed arrays.
import type { BinaryOp, UnaryOp } from '../../../backend.js';
import { forEachBroadcast } from './iterate.js';
import type { FloatArray, NumArray } from './types.js';

const unaryFns: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  relu: (x) => (x > 0 ? x : 0),
  step: (x) => (x > 0 ? 1 : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: Math.tanh,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
};

const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b ? a : b),
  minimum: (a, b) => (a <= b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

/** out[i] = op(x[i]). */
export function unaryF32(op: UnaryOp, x: NumArray, out: FloatArray): void {
  const f = unaryFns[op];
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = f(x[i]!);
}

/** out = op(a, b) with a and b read through broadcast strides (see shape.broadcastStrides). */
export function binaryF32(
  op: BinaryOp,
  a: NumArray,
  aStrides: readonly number[],
  b: NumArray,
  bStrides: readonly number[],
  out: FloatArray,
  outShape: readonly number[],
): void {
  const f = binaryFns[op];
  forEachBroadcast(outShape, [aStrides, bStrides], (o, len, st, inner) => {
    let ia = st[0]!;
    let ib = st[1]!;
    const sa = inner[0]!;
    const sb = inner[1]!;
    for (let i = 0; i < len; i++, ia += sa, ib += sb) out[o + i] = f(a[ia]!, b[ib]!);
  });
}

/** out = cond != 0 ? a : b, all read through broadcast strides. */
export function whereF32(
  cond: NumArray,
  cStrides: readonly number[],
  a: NumArray,
  aStrides: readonly number[],
  b: NumArray,
  bStrides: readonly number[],
  out: FloatArray,
  outShape: readonly number[],
): void {
  forEachBroadcast(outShape, [cStrides, aStrides, bStrides], (o, len, st, inner) => {
    let ic = st[0]!;
    let ia = st[1]!;
    let ib = st[2]!;
    const [sc, sa, sb] = inner as [number, number, number];
    for (let i = 0; i < len; i++, ic += sc, ia += sa, ib += sb) out[o + i] = cond[ic] !== 0 ? a[ia]! : b[ib]!;
  });
}

/** Dense copy reading `src` through arbitrary strides from `offset` (permute, slice, broadcastTo). */
export function stridedCopyF(
  src: NumArray,
  offset: number,
  strides: readonly number[],
  out: NumArray,
  outShape: readonly number[],
): void {
  forEachBroadcast(outShape, [strides], (o, len, st, inner) => {
    let is = st[0]! + offset;
    const s = inner[0]!;
    for (let i = 0; i < len; i++, is += s) out[o + i] = src[is]!;
  });
}
