// Layout ops: reshape (a view: shares the buffer; reshape.ts), permute/transpose, broadcastTo and sumTo
// (broadcast.ts, beside sum, its adjoint), slice, concat. Everything but reshape is one strided copy (or a concat),
// and each gradient is another layout op.
import { getKernel } from '../backend.js';
import { checkInputs, record } from '../engine.js';
import { fmtShape, normAxis, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { zeros } from './create.js';
import { reshape } from './reshape.js';

export { reshape } from './reshape.js';
export { broadcastTo, sumTo } from './broadcast.js';

/** Reorder axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const b = checkInputs('permute', [x]);
  const r = x.rank;
  const p = perm.map((a) => normAxis('permute', a, r));
  if (p.length !== r || new Set(p).size !== r) {
    throw new Error(`permute: ${fmtShape(perm)} is not a permutation of the ${r} axes of ${fmtShape(x.shape)}`);
  }
  const st = stridesOf(x.shape);
  const outShape = p.map((a) => x.shape[a]!);
  const id = getKernel(b, 'stridedCopy')(x, outShape, p.map((a) => st[a]!), 0);
  const inv = new Array<number>(r);
  p.forEach((a, i) => (inv[a] = i));
  return record('permute', [x], id, outShape, x.dtype, { backward: (dy) => [permute(dy, inv)] });
}

/** Swap two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const r = x.rank;
  const aa = normAxis('transpose', a, r);
  const bb = normAxis('transpose', b, r);
  const perm = Array.from({ length: r }, (_, i) => (i === aa ? bb : i === bb ? aa : i));
  return permute(x, perm);
}

/**
 * x[begin[0]:end[0], begin[1]:end[1], ...]; missing entries mean the whole axis, negative ones count from the end.
 */
export function slice(x: Tensor, begin: readonly number[], end?: readonly (number | undefined)[]): Tensor {
  const b = checkInputs('slice', [x]);
  const r = x.rank;
  if (begin.length > r || (end !== undefined && end.length > r)) {
    throw new Error(`slice: ${begin.length} begin / ${end?.length ?? 0} end entries for a tensor of rank ${r}`);
  }
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < r; i++) {
    const d = x.shape[i]!;
    let s = begin[i] ?? 0;
    let e = end?.[i] ?? d;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > d || s > e) {
      throw new Error(`slice: range [${begin[i]}, ${end?.[i]}) is out of bounds for axis ${i} of ${fmtShape(x.shape)}`);
    }
    lo.push(s);
    hi.push(e);
  }
  const st = stridesOf(x.shape);
  const outShape = lo.map((s, i) => hi[i]! - s);
  const offset = lo.reduce((a, s, i) => a + s * st[i]!, 0);
  const id = getKernel(b, 'stridedCopy')(x, outShape, st, offset);
  const inShape = x.shape;
  return record('slice', [x], id, outShape, x.dtype, {
    backward: (dy) => {
      // Pad dy with zeros back to the input shape, one axis at a time.
      let g = dy;
      for (let i = 0; i < r; i++) {
        const before = lo[i]!;
        const after = inShape[i]! - hi[i]!;
        if (before === 0 && after === 0) continue;
        const parts: Tensor[] = [];
        const padShape = (n: number): number[] => g.shape.map((d, j) => (j === i ? n : d));
        if (before > 0) parts.push(zeros(padShape(before), 'float32', g.backend));
        parts.push(g);
        if (after > 0) parts.push(zeros(padShape(after), 'float32', g.backend));
        g = concat(parts, i);
      }
      return [g];
    },
  });
}

/** Join tensors along `axis`; every other dim and the dtype must agree. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const b = checkInputs('concat', xs);
  const first = xs[0]!;
  const ax = normAxis('concat', axis, first.rank);
  for (const t of xs) {
    const ok = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) {
      throw new Error(
        `concat: along axis ${ax}, got ${xs.map((u) => `${fmtShape(u.shape)} ${u.dtype}`).join(', ')}; other dims and dtypes must match`,
      );
    }
  }
  const outShape = first.shape.map((d, i) => (i === ax ? xs.reduce((a, t) => a + t.shape[ax]!, 0) : d));
  if (xs.length === 1) return reshape(first, outShape);
  const id = getKernel(b, 'concat')(xs, ax, outShape);
  const sizes = xs.map((t) => t.shape[ax]!);
  return record('concat', xs, id, outShape, first.dtype, {
    backward: (dy, _s, needs) => {
      let at = 0;
      return sizes.map((n, i) => {
        const s = at;
        at += n;
        if (!needs[i]) return null;
        const bgn = dy.shape.map((_, j) => (j === ax ? s : 0));
        const end = dy.shape.map((d, j) => (j === ax ? s + n : d));
        return slice(dy, bgn, end);
      });
    },
  });
}
