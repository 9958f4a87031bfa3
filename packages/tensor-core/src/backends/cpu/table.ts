// The cpu kernels as a kernel table over any store of typed arrays: the cpu backend's whole table, and the wasm
// backend's fallbacks on views of WASM memory — one set of wrappers for both.
// Each kernel allocates its outputs first and only then takes arrays, so a store whose arrays are views of a
// memory that can grow (WASM) never uses a detached view.
import type { BuiltinKernels, DataId, DType, TensorInfo } from '../../backend.js';
import { broadcastStrides, sizeOf } from '../../shape.js';
import { adamwF } from './kernels/adamw.js';
import { concatF } from './kernels/copy.js';
import { crossEntropyBackward, crossEntropyForward } from './kernels/cross-entropy.js';
import { binaryF32, stridedCopyF, unaryF32, whereF32 } from './kernels/elementwise.js';
import { gatherF, scatterAddF } from './kernels/gather.js';
import { matmulF32 } from './kernels/matmul.js';
import { reduceF32 } from './kernels/reduce.js';
import { rmsNormBackward, rmsNormForward } from './kernels/rms-norm.js';
import { ropeF } from './kernels/rope.js';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from './kernels/softmax.js';
import type { FloatArray, NumArray } from './kernels/types.js';

/** Where a typed-array kernel table keeps its buffers. */
export interface ArrayStore {
  /** Backend name, for error messages. */
  readonly name: string;
  /** A new buffer of n elements (contents unspecified: kernels write every element). */
  alloc(n: number, dtype: DType): DataId;
  /** The typed array behind a handle (Int32Array for int32; a fresh view where the memory can move). */
  array(id: DataId): NumArray;
}

/** A row kernel's rows × cols over the last axis of `shape` (a scalar: one row of one). */
export function rowsOf(shape: readonly number[]): [number, number] {
  const n = shape[shape.length - 1] ?? 1;
  return [n === 0 ? 0 : sizeOf(shape) / n, n];
}

/** A batched matmul's sizes: op(A) (m, k), op(B) (k, n), its batch dims and each operand's batch strides (in matrices). */
export interface MatmulDims {
  m: number;
  k: number;
  n: number;
  batchShape: number[];
  batch: number;
  /** Per batch dim of the output, A's and B's strides in matrices (0 where the operand broadcasts). */
  aStrides: number[];
  bStrides: number[];
}

/** The sizes of matmul(a, b) → outShape (…batch, m, n); k from A, which is (…, k, m) when transA. */
export function matmulDims(a: TensorInfo, b: TensorInfo, transA: boolean, outShape: readonly number[]): MatmulDims {
  const r = outShape.length;
  const k = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  const batchShape = outShape.slice(0, r - 2);
  return {
    m: outShape[r - 2]!,
    k,
    n: outShape[r - 1]!,
    batchShape,
    batch: sizeOf(batchShape),
    aStrides: broadcastStrides(a.shape.slice(0, -2), batchShape),
    bStrides: broadcastStrides(b.shape.slice(0, -2), batchShape),
  };
}

export function typedArrayKernels(s: ArrayStore): BuiltinKernels {
  const v = (t: TensorInfo): NumArray => s.array(t.id);
  const fl = (id: DataId): FloatArray => s.array(id) as FloatArray;
  const floatOut = (n: number): DataId => s.alloc(n, 'float32');
  const ints = (t: TensorInfo, kernel: string): Int32Array => {
    const a = s.array(t.id);
    if (!(a instanceof Int32Array)) throw new Error(`backend '${s.name}' kernel '${kernel}': indices must be int32`);
    return a;
  };
  /** A row kernel y = f(x) over the last axis, as a table entry. */
  const rowMap =
    (f: (x: NumArray, rows: number, n: number, y: FloatArray) => void) =>
    (x: TensorInfo): DataId => {
      const [rows, n] = rowsOf(x.shape);
      const out = floatOut(sizeOf(x.shape));
      f(v(x), rows, n, fl(out));
      return out;
    };
  /** Its backward dx = f(y, dy), as a table entry. */
  const rowGrad =
    (f: (y: NumArray, dy: NumArray, rows: number, n: number, dx: FloatArray) => void) =>
    (y: TensorInfo, dy: TensorInfo): DataId => {
      const [rows, n] = rowsOf(y.shape);
      const out = floatOut(sizeOf(y.shape));
      f(v(y), v(dy), rows, n, fl(out));
      return out;
    };
  return {
    unary: (x, op) => {
      const out = floatOut(sizeOf(x.shape));
      unaryF32(op, v(x), fl(out));
      return out;
    },
    binary: (a, b, op, outShape) => {
      const out = floatOut(sizeOf(outShape));
      binaryF32(op, v(a), broadcastStrides(a.shape, outShape), v(b), broadcastStrides(b.shape, outShape), fl(out), outShape);
      return out;
    },
    where: (c, a, b, outShape) => {
      const out = floatOut(sizeOf(outShape));
      whereF32(
        v(c),
        broadcastStrides(c.shape, outShape),
        v(a),
        broadcastStrides(a.shape, outShape),
        v(b),
        broadcastStrides(b.shape, outShape),
        fl(out),
        outShape,
      );
      return out;
    },
    reduce: (x, op, axes) => {
      const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const out = floatOut(sizeOf(outShape));
      reduceF32(op, v(x), x.shape, axes, fl(out));
      return out;
    },
    matmul: (a, b, transA, transB, outShape) => {
      const { m, k, n, batchShape, batch, aStrides: aSt, bStrides: bSt } = matmulDims(a, b, transA, outShape);
      // Per-batch matrix offsets for broadcast batch dims.
      const aOff = new Float64Array(batch);
      const bOff = new Float64Array(batch);
      const idx = new Array<number>(batchShape.length).fill(0);
      for (let bi = 0; bi < batch; bi++) {
        let ao = 0;
        let bo = 0;
        for (let d = 0; d < batchShape.length; d++) {
          ao += idx[d]! * aSt[d]!;
          bo += idx[d]! * bSt[d]!;
        }
        aOff[bi] = ao * m * k;
        bOff[bi] = bo * k * n;
        for (let d = batchShape.length - 1; d >= 0; d--) {
          if (++idx[d]! < batchShape[d]!) break;
          idx[d] = 0;
        }
      }
      const out = floatOut(batch * m * n);
      matmulF32(v(a), v(b), fl(out), batch, m, k, n, transA, transB, aOff, bOff);
      return out;
    },
    stridedCopy: (x, outShape, strides, offset) => {
      const out = s.alloc(sizeOf(outShape), x.dtype);
      stridedCopyF(v(x), offset, strides, s.array(out), outShape);
      return out;
    },
    concat: (xs, axis, outShape) => {
      const dtype = xs[0]?.dtype ?? 'float32';
      const out = s.alloc(sizeOf(outShape), dtype);
      const outer = sizeOf(outShape.slice(0, axis));
      const inner = sizeOf(outShape.slice(axis + 1));
      concatF(
        xs.map(v),
        xs.map((x) => x.shape[axis]!),
        outer,
        inner,
        s.array(out),
      );
      return out;
    },
    gather: (x, indices, axis) => {
      const outer = sizeOf(x.shape.slice(0, axis));
      const inner = sizeOf(x.shape.slice(axis + 1));
      const out = s.alloc(outer * sizeOf(indices.shape) * inner, x.dtype);
      gatherF(v(x), ints(indices, 'gather'), outer, x.shape[axis]!, inner, s.array(out));
      return out;
    },
    scatterAdd: (upd, indices, axis, outShape) => {
      const out = floatOut(sizeOf(outShape));
      scatterAddF(v(upd), ints(indices, 'scatterAdd'), sizeOf(outShape.slice(0, axis)), outShape[axis]!, sizeOf(outShape.slice(axis + 1)), fl(out));
      return out;
    },
    cast: (x, dtype) => {
      const out = s.alloc(sizeOf(x.shape), dtype);
      const src = v(x);
      const dst = s.array(out);
      const n = src.length;
      for (let i = 0; i < n; i++) dst[i] = dtype === 'int32' ? Math.trunc(src[i]!) : src[i]!;
      return out;
    },
    softmax: rowMap(softmaxForward),
    softmaxBackward: rowGrad(softmaxBackward),
    logSoftmax: rowMap(logSoftmaxForward),
    logSoftmaxBackward: rowGrad(logSoftmaxBackward),
    crossEntropy: (logits, targets, ignoreIndex) => {
      const [rows, n] = rowsOf(logits.shape);
      const lse = floatOut(rows);
      const loss = floatOut(1);
      fl(loss)[0] = crossEntropyForward(v(logits), ints(targets, 'crossEntropy'), rows, n, ignoreIndex, fl(lse));
      return { loss, lse };
    },
    crossEntropyBackward: (logits, targets, lse, dloss, ignoreIndex) => {
      const [rows, n] = rowsOf(logits.shape);
      const out = floatOut(sizeOf(logits.shape));
      crossEntropyBackward(v(logits), ints(targets, 'crossEntropyBackward'), v(lse), v(dloss)[0]!, rows, n, ignoreIndex, fl(out));
      return out;
    },
    rmsNorm: (x, gain, eps) => {
      const [rows, n] = rowsOf(x.shape);
      const y = floatOut(sizeOf(x.shape));
      const rstd = floatOut(rows);
      rmsNormForward(v(x), v(gain), rows, n, eps, fl(y), fl(rstd));
      return { y, rstd };
    },
    rmsNormBackward: (x, gain, rstd, dy) => {
      const [rows, n] = rowsOf(x.shape);
      const dx = floatOut(sizeOf(x.shape));
      const dgain = floatOut(n);
      rmsNormBackward(v(x), v(gain), v(rstd), v(dy), rows, n, fl(dx), fl(dgain));
      return { dx, dgain };
    },
    rope: (x, cos, sin, inverse) => {
      const r = x.shape.length;
      const out = floatOut(sizeOf(x.shape));
      ropeF(v(x), v(cos), v(sin), sizeOf(x.shape.slice(0, r - 2)), x.shape[r - 2]!, x.shape[r - 1]!, inverse, fl(out));
      return out;
    },
    adamw: (param, grad, m, vv, hyper) => {
      const n = sizeOf(param.shape);
      const p2 = floatOut(n);
      const m2 = floatOut(n);
      const v2 = floatOut(n);
      adamwF(v(param), v(grad), v(m), v(vv), hyper, fl(p2), fl(m2), fl(v2));
      return { param: p2, m: m2, v: v2 };
    },
  };
}
