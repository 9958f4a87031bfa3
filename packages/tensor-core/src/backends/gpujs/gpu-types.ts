// The slice of gpu.js the gpu.js backend uses, typed locally: gpu.js's bundled typings predate its webasm and webgpu
// modes and asyncMode, and the main entry must not load gpu.js to name its types.

export interface GLContextLike {
  readonly RENDERER: number;
  readonly VENDOR: number;
  readonly VERSION: number;
  readonly SHADING_LANGUAGE_VERSION: number;
  readonly MAX_TEXTURE_SIZE: number;
  getParameter(p: number): unknown;
  createTexture(): unknown;
  deleteTexture(t: unknown): void;
}

/** A raw device allocation (WebGLTexture or GPUBuffer) with the reference count gpu.js keeps on it. */
export interface RawAlloc {
  _refs?: number;
}

/** A GPUBuffer as far as the pool is concerned. */
export interface GpuBufferLike extends RawAlloc {
  readonly size: number;
  destroy(): void;
}

/**
 * A device-resident result: a gpu.js GL Texture (`texture` is the raw WebGLTexture, shared by clones and counted
 * in its `_refs`) or a WebGPU buffer handle (`buffer`, counted the same way).
 */
export interface DeviceValue {
  toArray(): Float32Array | Promise<Float32Array>;
  delete?(): void;
  destroy?(): void;
  _deleted?: boolean;
  texture?: RawAlloc;
  buffer?: GpuBufferLike;
  /** The kernel that produced it. */
  kernel?: KernelImpl;
  size?: readonly number[];
  internalFormat?: number;
  textureFormat?: number;
  textureType?: number;
}

/** The GL kernel's own output texture object (a gpu.js GLTexture). */
export interface GLOutputTexture extends DeviceValue {
  texture: RawAlloc;
  newTexture(): void;
}

export interface KernelImpl {
  readonly constructor: { readonly name: string };
  readonly fallbackReason?: string | null;
  readonly context?: GLContextLike | null;
  /** GL: the output texture object the next run renders into (set by the first run). */
  texture?: GLOutputTexture | null;
  _textureSwitched?: boolean;
  /** WebGPU: the output buffer and its allocation step (replaced by the pool's). */
  outputBuffer?: GpuBufferLike | null;
  threadDim?: number[] | null;
  componentCount?: number;
  bindGroupDirty?: boolean;
  _device?: { createBuffer(d: { size: number; usage: number }): GpuBufferLike };
  _checkBufferSize?(bytes: number, what: string): void;
  _ensureOutputBuffer?(): void;
}

export interface KernelFn {
  (...args: unknown[]): unknown;
  readonly kernel: KernelImpl;
  destroy?(removeCanvasReferences?: boolean): void;
}

/** What `new GPU(settings)` returns, as far as this backend is concerned. */
export interface GpuInstanceLike {
  readonly mode?: string;
  readonly Kernel: { readonly name: string } | null;
  createKernel(source: string, settings: Record<string, unknown>): KernelFn;
  destroy(): unknown;
}

/** The gpu.js `GPU` class (passed in, so that the main entry never loads gpu.js). */
export type GpuConstructor = new (settings: { mode: string }) => GpuInstanceLike;
