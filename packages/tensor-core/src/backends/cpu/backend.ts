// The cpu backend: the reference every other backend is validated against. Plain TypeScript over typed arrays;
// `cpu64` is the same code storing Float64Array, used for finite-difference gradient checks.
import type { Backend, BuiltinKernels, DataArray, DataId, DType, TensorInfo } from '../../backend.js';
import { broadcastStrides, fmtShape, sizeOf } from '../../shape.js';
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

class CpuData {
  constructor(
    public values: NumArray,
    public readonly dtype: DType,
  ) {}
}

export type CpuPrecision = 'float32' | 'float64';

export class CpuBackend implements Backend {
  private readonly live = new Set<CpuData>();
  readonly kernels: BuiltinKernels;

  constructor(
    readonly name: string,
    readonly precision: CpuPrecision = 'float32',
  ) {
    this.kernels = this.makeKernels();
  }

  private newFloat(n: number): FloatArray {
    return this.precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  private store(values: NumArray, dtype: DType): DataId {
    const d = new CpuData(values, dtype);
    this.live.add(d);
    return d;
  }

  private floatOut(n: number): [FloatArray, DataId] {
    const arr = this.newFloat(n);
    return [arr, this.store(arr, 'float32')];
  }

  /** The typed array behind a handle (kernels and tests only). Throws on foreign or disposed handles. */
  values(id: DataId): NumArray {
    if (!(id instanceof CpuData) || !this.live.has(id)) {
      throw new Error(`backend '${this.name}': unknown or disposed buffer`);
    }
    return id.values;
  }

  private ints(info: TensorInfo, kernel: string): Int32Array {
    const v = this.values(info.id);
    if (!(v instanceof Int32Array)) throw new Error(`backend '${this.name}' kernel '${kernel}': indices must be int32`);
    return v;
  }

  write(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): DataId {
    const n = sizeOf(shape);
    if (values.length !== n) {
      throw new Error(`write: ${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
    }
    const arr: NumArray = dtype === 'int32' ? Int32Array.from(values) : this.newFloat(n);
    if (dtype !== 'int32') for (let i = 0; i < n; i++) arr[i] = values[i]!;
    return this.store(arr, dtype);
  }

  read(id: DataId): Promise<DataArray> {
    return Promise.resolve(this.readSync(id));
  }

  readSync(id: DataId): DataArray {
    return this.values(id).slice();
  }

  dispose(id: DataId): void {
    if (id instanceof CpuData) this.live.delete(id);
  }

  numLiveBuffers(): number {
    return this.live.size;
  }

  private makeKernels(): BuiltinKernels {
    const v = (t: TensorInfo): NumArray => this.values(t.id);
    const rowsOf = (shape: readonly number[]): [number, number] => {
      const n = shape[shape.length - 1] ?? 1;
      return [n === 0 ? 0 : sizeOf(shape) / n, n];
    };
    return {
      unary: (x, op) => {
        const [out, id] = this.floatOut(sizeOf(x.shape));
        unaryF32(op, v(x), out);
        return id;
      },
      binary: (a, b, op, outShape) => {
        const [out, id] = this.floatOut(sizeOf(outShape));
        binaryF32(op, v(a), broadcastStrides(a.shape, outShape), v(b), broadcastStrides(b.shape, outShape), out, outShape);
        return id;
      },
      where: (c, a, b, outShape) => {
        const [out, id] = this.floatOut(sizeOf(outShape));
        whereF32(
          v(c),
          broadcastStrides(c.shape, outShape),
          v(a),
          broadcastStrides(a.shape, outShape),
          v(b),
          broadcastStrides(b.shape, outShape),
          out,
          outShape,
        );
        return id;
      },
      reduce: (x, op, axes) => {
        const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const [out, id] = this.floatOut(sizeOf(outShape));
        reduceF32(op, v(x), x.shape, axes, out);
        return id;
      },
      matmul: (a, b, transA, transB, outShape) => {
        const r = outShape.length;
        const m = outShape[r - 2]!;
        const n = outShape[r - 1]!;
        const k = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
        const batchShape = outShape.slice(0, r - 2);
        const batch = sizeOf(batchShape);
        // Per-batch matrix offsets for broadcast batch dims.
        const aSt = broadcastStrides(a.shape.slice(0, -2), batchShape);
        const bSt = broadcastStrides(b.shape.slice(0, -2), batchShape);
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
        const [out, id] = this.floatOut(batch * m * n);
        matmulF32(v(a), v(b), out, batch, m, k, n, transA, transB, aOff, bOff);
        return id;
      },
      stridedCopy: (x, outShape, strides, offset) => {
        const n = sizeOf(outShape);
        const out: NumArray = x.dtype === 'int32' ? new Int32Array(n) : this.newFloat(n);
        stridedCopyF(v(x), offset, strides, out, outShape);
        return this.store(out, x.dtype);
      },
      concat: (xs, axis, outShape) => {
        const dtype = xs[0]?.dtype ?? 'float32';
        const n = sizeOf(outShape);
        const out: NumArray = dtype === 'int32' ? new Int32Array(n) : this.newFloat(n);
        const outer = sizeOf(outShape.slice(0, axis));
        const inner = sizeOf(outShape.slice(axis + 1));
        concatF(
          xs.map(v),
          xs.map((x) => x.shape[axis]!),
          outer,
          inner,
          out,
        );
        return this.store(out, dtype);
      },
      gather: (x, indices, axis) => {
        const idx = this.ints(indices, 'gather');
        const outer = sizeOf(x.shape.slice(0, axis));
        const inner = sizeOf(x.shape.slice(axis + 1));
        const n = outer * idx.length * inner;
        const out: NumArray = x.dtype === 'int32' ? new Int32Array(n) : this.newFloat(n);
        gatherF(v(x), idx, outer, x.shape[axis]!, inner, out);
        return this.store(out, x.dtype);
      },
      scatterAdd: (upd, indices, axis, outShape) => {
        const idx = this.ints(indices, 'scatterAdd');
        const [out, id] = this.floatOut(sizeOf(outShape));
        scatterAddF(v(upd), idx, sizeOf(outShape.slice(0, axis)), outShape[axis]!, sizeOf(outShape.slice(axis + 1)), out);
        return id;
      },
      cast: (x, dtype) => {
        const src = v(x);
        const n = src.length;
        const out: NumArray = dtype === 'int32' ? new Int32Array(n) : this.newFloat(n);
        for (let i = 0; i < n; i++) out[i] = dtype === 'int32' ? Math.trunc(src[i]!) : src[i]!;
        return this.store(out, dtype);
      },
      softmax: (x) => {
        const [rows, n] = rowsOf(x.shape);
        const [out, id] = this.floatOut(sizeOf(x.shape));
        softmaxForward(v(x), rows, n, out);
        return id;
      },
      softmaxBackward: (y, dy) => {
        const [rows, n] = rowsOf(y.shape);
        const [out, id] = this.floatOut(sizeOf(y.shape));
        softmaxBackward(v(y), v(dy), rows, n, out);
        return id;
      },
      logSoftmax: (x) => {
        const [rows, n] = rowsOf(x.shape);
        const [out, id] = this.floatOut(sizeOf(x.shape));
        logSoftmaxForward(v(x), rows, n, out);
        return id;
      },
      logSoftmaxBackward: (y, dy) => {
        const [rows, n] = rowsOf(y.shape);
        const [out, id] = this.floatOut(sizeOf(y.shape));
        logSoftmaxBackward(v(y), v(dy), rows, n, out);
        return id;
      },
      crossEntropy: (logits, targets, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        const [lse, lseId] = this.floatOut(rows);
        const loss = crossEntropyForward(v(logits), this.ints(targets, 'crossEntropy'), rows, n, ignoreIndex, lse);
        const [l, lossId] = this.floatOut(1);
        l[0] = loss;
        return { loss: lossId, lse: lseId };
      },
      crossEntropyBackward: (logits, targets, lse, dloss, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        const [out, id] = this.floatOut(sizeOf(logits.shape));
        crossEntropyBackward(v(logits), this.ints(targets, 'crossEntropyBackward'), v(lse), v(dloss)[0]!, rows, n, ignoreIndex, out);
        return id;
      },
      rmsNorm: (x, gain, eps) => {
        const [rows, n] = rowsOf(x.shape);
        const [y, yId] = this.floatOut(sizeOf(x.shape));
        const [rstd, rId] = this.floatOut(rows);
        rmsNormForward(v(x), v(gain), rows, n, eps, y, rstd);
        return { y: yId, rstd: rId };
      },
      rmsNormBackward: (x, gain, rstd, dy) => {
        const [rows, n] = rowsOf(x.shape);
        const [dx, dxId] = this.floatOut(sizeOf(x.shape));
        const [dg, dgId] = this.floatOut(n);
        rmsNormBackward(v(x), v(gain), v(rstd), v(dy), rows, n, dx, dg);
        return { dx: dxId, dgain: dgId };
      },
      rope: (x, cos, sin, inverse) => {
        const r = x.shape.length;
        const t = x.shape[r - 2]!;
        const d = x.shape[r - 1]!;
        const [out, id] = this.floatOut(sizeOf(x.shape));
        ropeF(v(x), v(cos), v(sin), sizeOf(x.shape.slice(0, r - 2)), t, d, inverse, out);
        return id;
      },
      adamw: (param, grad, m, vv, hyper) => {
        const n = sizeOf(param.shape);
        const [p2, pId] = this.floatOut(n);
        const [m2, mId] = this.floatOut(n);
        const [v2, vId] = this.floatOut(n);
        adamwF(v(param), v(grad), v(m), v(vv), hyper, p2, m2, v2);
        return { param: pId, m: mId, v: vId };
      },
    };
  }
}
