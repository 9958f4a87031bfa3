// Pooled device allocations of the gpu.js backend: free GL textures / WebGPU buffers by size, so that a kernel renders
// into a released texture of its output's size instead of allocating one.
import type { DeviceValue } from './gpu-types.js';

/** Pool counters: see GpujsBackend.poolStats. */
export interface GpujsPoolStats {
  /** Kernel runs that rendered into an existing texture/buffer (from the pool, or the kernel's own, free again). */
  hits: number;
  /** Kernel runs that allocated a new output texture/buffer (every kernel's first run is one). */
  misses: number;
  /** Free textures/buffers held in the pool now. */
  pooled: number;
  /** Their size in bytes (GL: 16 bytes a texel, RGBA float). */
  pooledBytes: number;
}

/** GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC: what gpu.js gives a WebGPU kernel's output buffer. */
export const OUTPUT_BUFFER_USAGE = 0x0080 | 0x0004;

/**
 * Free device allocations by size: disposing a result whose texture/buffer nobody else holds puts it here, and
 * the next kernel with an output of the same size renders into it instead of allocating.
 */
export class DevicePool<T> {
  hits = 0;
  misses = 0;
  bytes = 0;
  private count = 0;
  private readonly free = new Map<string, T[]>();
  constructor(private readonly sizeOf: (x: T) => number) {}
  take(key: string): T | undefined {
    const x = this.free.get(key)?.pop();
    if (x !== undefined) {
      this.count--;
      this.bytes -= this.sizeOf(x);
    }
    return x;
  }
  put(key: string, x: T): void {
    let list = this.free.get(key);
    if (list === undefined) this.free.set(key, (list = []));
    list.push(x);
    this.count++;
    this.bytes += this.sizeOf(x);
  }
  /** Empty the pool, returning what it held (for the caller to delete). */
  drain(): T[] {
    const all = [...this.free.values()].flat();
    this.free.clear();
    this.count = 0;
    this.bytes = 0;
    return all;
  }
  stats(): GpujsPoolStats {
    return { hits: this.hits, misses: this.misses, pooled: this.count, pooledBytes: this.bytes };
  }
}

/** The pool key of a GL texture: its texel size and formats. */
export function textureKey(t: DeviceValue): string {
  return `${t.size![0]}x${t.size![1]}:${t.internalFormat}:${t.textureFormat}:${t.textureType}`;
}
