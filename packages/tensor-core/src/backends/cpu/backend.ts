// The cpu backend: the reference every other backend is validated against. Plain TypeScript over typed arrays;
// `cpu64` is the same code storing Float64Array, used for finite-difference gradient checks.
import type { Backend, BuiltinKernels, DataArray, DataId, DType } from '../../backend.js';
import { fmtShape, sizeOf } from '../../shape.js';
import type { FloatArray, NumArray } from './kernels/types.js';
import { typedArrayKernels } from './table.js';

class CpuData {
  constructor(
    public values: NumArray,
    public readonly dtype: DType,
  ) {}
}

export type CpuPrecision = 'float32' | 'float64';

export class CpuBackend implements Backend {
  readonly kind = 'cpu';
  private readonly live = new Set<CpuData>();
  readonly kernels: BuiltinKernels;

  constructor(
    readonly name: string,
    readonly precision: CpuPrecision = 'float32',
  ) {
    this.kernels = typedArrayKernels({
      name,
      alloc: (n, dtype) => this.store(dtype === 'int32' ? new Int32Array(n) : this.newFloat(n), dtype),
      array: (id) => this.values(id),
    });
  }

  private newFloat(n: number): FloatArray {
    return this.precision === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  private store(values: NumArray, dtype: DType): DataId {
    const d = new CpuData(values, dtype);
    this.live.add(d);
    return d;
  }

  /** The typed array behind a handle (kernels and tests only). Throws on foreign or disposed handles. */
  values(id: DataId): NumArray {
    if (!(id instanceof CpuData) || !this.live.has(id)) {
      throw new Error(`backend '${this.name}': unknown or disposed buffer`);
    }
    return id.values;
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
}
