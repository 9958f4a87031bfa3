// The gpu.js backend's buffers: a handle holds a device value (a GL texture, a WebGPU buffer, or a typed array on the
// cpu/webasm modes) or the promise of one (asynchronous modes), its size and dtype.
import type { DType } from '../../backend.js';
import type { DeviceValue } from './gpu-types.js';

export type Value = Float32Array | DeviceValue;
export type Pending = Value | Promise<Value>;

/** A tensor buffer of the gpu.js backend. */
export class GpujsData {
  disposed = false;
  /** int32 values as written from the host (ids, targets): index checks read these, not the device. */
  host: Float32Array | null = null;
  /** Asynchronous kernels that read this value and have not run yet; the value is released after them. */
  uses: Promise<unknown> | null = null;
  constructor(
    public v: Pending,
    readonly n: number,
    readonly dtype: DType,
  ) {}
}

export function isPromise<T>(x: unknown): x is Promise<T> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
