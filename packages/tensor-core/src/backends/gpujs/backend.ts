// The gpu.js backend: every kernel of the contract as gpu.js kernels, generated per shape and compiled once.
// Tensors live on the device between kernels (immutable pipeline textures on GL, buffers on WebGPU, typed arrays
// on cpu/webasm, where gpu.js has no device memory); only `read` brings values back.
//
// int32 tensors (token ids, gather indices) are stored as float values: exact up to 2^24, as WebGL1 has no
// integer textures. Reductions, matmul inner products and row sums use Kahan-compensated float32 sums.
import type { AdamWHyper, Backend, BinaryOp, BuiltinKernels, DataArray, DataId, DType, TensorInfo, UnaryOp } from '../../backend.js';
import { broadcastStrides, fmtShape, sizeOf, stridesOf } from '../../shape.js';
import { binaryBody, decompose, kahanAdd, kernelSource, lit, matmulLoop, unaryBody } from './sources.js';
import type { MatmulKernel } from './sources.js';

export type { MatmulKernel } from './sources.js';

/** The gpu.js modes this backend can be pinned to. */
export type GpujsMode = 'gpu' | 'webgl' | 'webgl2' | 'headlessgl' | 'webgpu' | 'webasm' | 'cpu';

/** The kernel classes gpu.js may pick for each mode; anything else is a silent switch and an error. */
const EXPECTED_KERNEL: Record<GpujsMode, readonly string[]> = {
  gpu: ['HeadlessGLKernel', 'WebGL2Kernel', 'WebGLKernel'],
  webgl: ['WebGLKernel'],
  webgl2: ['WebGL2Kernel'],
  headlessgl: ['HeadlessGLKernel'],
  webgpu: ['WebGPUKernel'],
  webasm: ['WebAssemblyKernel'],
  cpu: ['CPUKernel'],
};

// ---- the slice of gpu.js this backend uses (its bundled typings predate webasm/webgpu/asyncMode) ----

interface GLContextLike {
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
interface RawAlloc {
  _refs?: number;
}

/** A GPUBuffer as far as the pool is concerned. */
interface GpuBufferLike extends RawAlloc {
  readonly size: number;
  destroy(): void;
}

/**
 * A device-resident result: a gpu.js GL Texture (`texture` is the raw WebGLTexture, shared by clones and counted
 * in its `_refs`) or a WebGPU buffer handle (`buffer`, counted the same way).
 */
interface DeviceValue {
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
interface GLOutputTexture extends DeviceValue {
  texture: RawAlloc;
  newTexture(): void;
}

interface KernelImpl {
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

interface KernelFn {
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

export interface GpujsBackendOptions {
  /** The gpu.js mode; required: the backend never lets gpu.js choose. */
  mode: GpujsMode;
  /** The backend's name (default `gpujs-<mode>`). */
  name?: string;
  /** webasm only: kernels run asynchronously on gpu.js's worker pool (threads). Reads stay async. */
  asyncMode?: boolean;
  /**
   * The matmul inner-product kernel: `blocked` (default: groups of 4 products, one Kahan step per group) or
   * `kahan` (one Kahan step per product, the first version; kept for side-by-side measurements).
   */
  matmulKernel?: MatmulKernel;
}

/** What the backend runs on, as gpu.js reported it. */
export interface GpujsInfo {
  mode: GpujsMode;
  /** The gpu.js kernel class that actually runs (checked against the mode). */
  kernelClass: string;
  /** GL: RENDERER / VERSION / SHADING_LANGUAGE_VERSION; WebGPU: adapter info; otherwise null. */
  renderer: string | null;
  maxTextureSize: number | null;
  asyncMode: boolean;
}

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
const OUTPUT_BUFFER_USAGE = 0x0080 | 0x0004;

/**
 * Free device allocations by size: disposing a result whose texture/buffer nobody else holds puts it here, and
 * the next kernel with an output of the same size renders into it instead of allocating.
 */
class DevicePool<T> {
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
function textureKey(t: DeviceValue): string {
  return `${t.size![0]}x${t.size![1]}:${t.internalFormat}:${t.textureFormat}:${t.textureType}`;
}

type Value = Float32Array | DeviceValue;
type Pending = Value | Promise<Value>;

class GpujsData {
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

function isPromise<T>(x: unknown): x is Promise<T> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}


const ONE = new Float32Array([1]);

/**
 * The gpu.js backend's extension API: what a package's kernel for the 'gpujs' kind gets (registerKernel('gpujs',
 * ...) hands it the backend; GpujsBackend implements this). See GpujsBackend.runKernel for the kernel conventions.
 */
export interface GpujsKernelRunner extends Backend {
  readonly kind: 'gpujs';
  /** Run `function(<params>) { const i = this.thread.x; <body> }` over `size` outputs; returns the new handle. */
  runKernel(
    params: readonly string[],
    body: string,
    size: number,
    inputs: readonly TensorInfo[],
    options?: { readonly host?: readonly Float32Array[]; readonly dtype?: DType },
  ): DataId;
  /** Source helpers: `lit(x)` (a number literal) and `kahanAdd(term)` (a compensated step; see sources.ts). */
  readonly source: { readonly lit: (x: number) => string; readonly kahanAdd: (term: string) => string };
}

export class GpujsBackend implements Backend, GpujsKernelRunner {
  readonly kind = 'gpujs';
  readonly name: string;
  readonly mode: GpujsMode;
  readonly asyncMode: boolean;
  readonly kernels: BuiltinKernels;
  readonly matmulKernel: MatmulKernel;
  private readonly gpu: GpuInstanceLike;
  private readonly live = new Set<GpujsData>();
  private readonly cache = new Map<string, KernelFn>();
  private readonly device: boolean;
  private kernelClass = '';
  private glContext: GLContextLike | null = null;
  /** Raw GL textures / WebGPU output buffers created since the first kernel and not deleted. */
  private readonly liveAllocs = new Set<unknown>();
  private readonly texturePool = new DevicePool<RawAlloc & { _texels?: number }>((t) => 16 * (t._texels ?? 0));
  private readonly bufferPool = new DevicePool<GpuBufferLike>((b) => b.size);
  /** GL kernels whose output texture went to the pool: they take one before their next run. */
  private readonly detached = new Set<KernelImpl>();
  private adapterInfo: string | null = null;
  private readbackValues = 0;

  constructor(GPU: GpuConstructor, options: GpujsBackendOptions) {
    this.mode = options.mode;
    if (!(this.mode in EXPECTED_KERNEL)) throw new Error(`gpujs: unknown mode '${String(this.mode)}'`);
    this.name = options.name ?? `gpujs-${this.mode}`;
    this.asyncMode = options.asyncMode === true || this.mode === 'webgpu';
    if (options.asyncMode === true && this.mode !== 'webasm' && this.mode !== 'webgpu') {
      throw new Error(`gpujs: asyncMode is only used with mode 'webasm' (got '${this.mode}')`);
    }
    this.device = this.mode !== 'cpu' && this.mode !== 'webasm';
    this.matmulKernel = options.matmulKernel ?? 'blocked';
    let gpu: GpuInstanceLike;
    try {
      gpu = new GPU({ mode: this.mode });
    } catch (e) {
      throw new Error(`gpujs: gpu.js cannot run mode '${this.mode}' here: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    this.gpu = gpu;
    const picked = gpu.Kernel?.name ?? 'none';
    if (!EXPECTED_KERNEL[this.mode].includes(picked)) {
      this.destroy();
      throw new Error(`gpujs: mode '${this.mode}' asked for, but gpu.js picked ${picked}; refusing to switch silently`);
    }
    this.kernelClass = picked;
    this.kernels = this.makeKernels();
    // A device that cannot block leaves readSync out (the contract): webgpu, and webasm with threads.
    if (this.asyncMode) (this as { readSync?: unknown }).readSync = undefined;
    if (this.device && this.mode !== 'webgpu') {
      // One tiny kernel now: checks the kernel class that really runs and finds the GL context (renderer).
      this.dispose(this.write([0], 'float32', [1]));
      this.trimPool(); // its texture was made before the count started
    }
  }

  /** Set by the webgpu setup helper: a description of the adapter that answered. */
  setAdapterInfo(info: string): void {
    this.adapterInfo = info;
  }

  /** The mode, the kernel class gpu.js actually runs and the renderer string. */
  info(): GpujsInfo {
    const gl = this.glContext;
    const renderer =
      gl !== null
        ? [gl.RENDERER, gl.VERSION, gl.SHADING_LANGUAGE_VERSION].map((p) => String(gl.getParameter(p))).join(' / ')
        : this.adapterInfo;
    return {
      mode: this.mode,
      kernelClass: this.kernelClass,
      renderer,
      maxTextureSize: gl !== null ? Number(gl.getParameter(gl.MAX_TEXTURE_SIZE)) : null,
      asyncMode: this.asyncMode,
    };
  }

  /** Values read back from the device so far (host copies of written int32 data are not counted). */
  numReadbackValues(): number {
    return this.readbackValues;
  }

  /** Compiled kernels held (one per op and shape). */
  numCompiledKernels(): number {
    return this.cache.size;
  }

  /**
   * Device allocations alive: GL textures created (by any kernel, as outputs or uploads) and not deleted since the
   * backend's first kernel, or WebGPU output buffers not destroyed; null in cpu/webasm (no device memory).
   */
  numDeviceTextures(): number | null {
    return this.glContext === null && this.mode !== 'webgpu' ? null : this.liveAllocs.size;
  }

  /**
   * Output texture/buffer reuse: hits and misses of kernel runs, and what the pool holds. Null in cpu/webasm,
   * where gpu.js has no device memory and every kernel returns a new typed array.
   */
  poolStats(): GpujsPoolStats | null {
    if (this.mode === 'webgpu') return this.bufferPool.stats();
    return this.device ? this.texturePool.stats() : null;
  }

  /** Delete the free textures/buffers held in the pool (live results are not touched); returns how many. */
  trimPool(): number {
    const texs = this.texturePool.drain();
    const gl = this.glContext;
    if (gl !== null) texs.forEach((t) => gl.deleteTexture(t));
    const bufs = this.bufferPool.drain();
    bufs.forEach((b) => b.destroy());
    return texs.length + bufs.length;
  }

  /** Release the pool, every compiled kernel (and the textures/buffers they hold) and the gpu.js instance. */
  destroy(): void {
    this.trimPool();
    // A detached kernel's texture object still names a texture it gave away: keep its destroy off it.
    for (const kern of this.detached) if (kern.texture) kern.texture._deleted = true;
    this.detached.clear();
    for (const k of this.cache.values()) k.destroy?.();
    this.cache.clear();
    this.gpu.destroy();
  }

  // ---- data store ----

  write(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): DataId {
    const n = sizeOf(shape);
    if (values.length !== n) {
      throw new Error(`write: ${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
    }
    const host = new Float32Array(n);
    for (let i = 0; i < n; i++) host[i] = dtype === 'int32' ? Math.trunc(values[i]!) : values[i]!;
    // Upload once (GL, WebGPU); kernels then read the device copy. int32 data keeps its host copy for checks.
    const d = !this.device || n === 0 ? this.store(host, n, dtype) : this.launch(kernelSource(['x'], 'return x[i];'), n, dtype, [], [host]);
    if (dtype === 'int32') d.host = host;
    return d;
  }

  async read(id: DataId): Promise<DataArray> {
    const d = this.data(id);
    if (d.host !== null) return this.convert(d.host, d);
    const v = await d.v;
    this.readbackValues += d.n;
    const arr = v instanceof Float32Array ? v : await v.toArray();
    return this.convert(arr, d);
  }

  readSync(id: DataId): DataArray {
    const d = this.data(id);
    if (d.host !== null) return this.convert(d.host, d);
    this.readbackValues += d.n;
    if (isPromise(d.v)) throw new Error(`backend '${this.name}': value is still pending (asynchronous mode); use read()`);
    const arr = d.v instanceof Float32Array ? d.v : d.v.toArray();
    if (isPromise(arr)) throw new Error(`backend '${this.name}': readback is asynchronous here; use read()`);
    return this.convert(arr, d);
  }

  dispose(id: DataId): void {
    if (!(id instanceof GpujsData) || id.disposed) return;
    id.disposed = true;
    this.live.delete(id);
    const v = id.v;
    if (isPromise<Value>(v) || id.uses !== null) {
      this.track(Promise.all([v, id.uses]).then(([x]) => this.release(x)));
    } else this.release(v);
  }

  /**
   * Drop a result's reference to its texture/buffer. When nobody else holds it (the kernel that made it has
   * rendered into another since, and no clone is alive), it goes to the pool instead of being deleted.
   */
  private release(v: Value): void {
    if (v instanceof Float32Array || v._deleted === true) return;
    const raw = v.texture ?? v.buffer;
    if (raw === undefined || raw._refs === undefined) {
      // Not a handle the pool knows: let gpu.js free it.
      if (typeof v.delete === 'function') v.delete();
      else if (typeof v.destroy === 'function') v.destroy();
      return;
    }
    v._deleted = true;
    const kern = v.kernel;
    if (--raw._refs === 1 && kern !== undefined) {
      // The only other holder is the kernel that made it (the next output it renders into): take it from the
      // kernel, so that a kernel that does not run again does not keep a texture/buffer out of the pool.
      if (v.buffer !== undefined && kern.outputBuffer === raw) {
        kern.outputBuffer = null;
        kern.bindGroupDirty = true;
        raw._refs = 0;
      } else if (v.texture !== undefined && kern.texture?.texture === raw && !this.detached.has(kern)) {
        this.detached.add(kern);
        raw._refs = 0;
      }
    }
    if (raw._refs > 0) return;
    if (v.buffer !== undefined) this.bufferPool.put(`b${v.buffer.size}`, v.buffer);
    else this.texturePool.put(textureKey(v), Object.assign(raw, { _texels: v.size![0]! * v.size![1]! }));
  }

  numLiveBuffers(): number {
    return this.live.size;
  }

  /**
   * Resolves when every kernel launched so far has run and every release waiting on one has happened
   * (asynchronous modes; at once elsewhere). Counters read after it (pool, device textures) are settled.
   */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private readonly pending = new Set<Promise<void>>();

  private track(p: Promise<unknown>): void {
    const q = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending.add(q);
    void q.then(() => this.pending.delete(q));
  }

  private convert(arr: Float32Array, d: GpujsData): DataArray {
    const out = arr.length === d.n ? arr.slice() : arr.slice(0, d.n);
    return d.dtype === 'int32' ? Int32Array.from(out, (x) => Math.round(x)) : out;
  }

  private data(id: DataId): GpujsData {
    if (!(id instanceof GpujsData) || id.disposed) throw new Error(`backend '${this.name}': unknown or disposed buffer`);
    return id;
  }

  private store(v: Pending, n: number, dtype: DType): GpujsData {
    const d = new GpujsData(v, n, dtype);
    this.live.add(d);
    return d;
  }

  // ---- kernel launch ----

  private kernel(src: string, n: number, sizes: readonly number[]): KernelFn {
    const key = `${src}\n#${n}:${sizes.join(',')}`;
    let k = this.cache.get(key);
    if (k === undefined) {
      k = this.gpu.createKernel(src, {
        output: [n],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        ...(this.asyncMode ? { asyncMode: true } : {}),
      });
      if (this.mode === 'webgpu') this.poolOutputBuffers(k.kernel);
      this.cache.set(key, k);
    }
    return k;
  }

  /**
   * GL, before a run: gpu.js renders an immutable pipeline kernel into its own output texture, in place when no
   * result still holds it, else into a new one it allocates (GLTexture.beforeMutate). gpu.js has no way to hand
   * a kernel a texture to render into, so this does what beforeMutate would, but from the pool: it swaps the
   * kernel's raw texture for a free one of the same size and marks it switched, which makes gpu.js re-attach it
   * to the framebuffer. Only when the pool has none does gpu.js allocate (a miss).
   */
  private prepareOutput(kern: KernelImpl): void {
    const t = kern.texture;
    if (t === undefined || t === null) {
      this.texturePool.misses++; // first run: gpu.js builds the kernel and allocates its texture
      return;
    }
    const raw = t.texture;
    // Detached: the kernel's reference went with the texture to the pool (see release).
    const detached = this.detached.delete(kern);
    if (!detached && (raw._refs ?? 0) <= 1) {
      this.texturePool.hits++; // the kernel's own texture is free again: rendered in place
      return;
    }
    const free = this.texturePool.take(textureKey(t));
    if (free === undefined) {
      this.texturePool.misses++;
      if (detached) raw._refs!++; // newTexture drops the kernel's reference, which it no longer holds
      t.newTexture(); // gpu.js's allocation (drops the kernel's reference to the held texture)
    } else {
      this.texturePool.hits++;
      if (!detached) raw._refs!--;
      free._refs = 1;
      t.texture = free;
    }
    kern._textureSwitched = true;
  }

  /**
   * WebGPU: gpu.js gives every run of an immutable pipeline kernel a new output buffer and destroys the old one
   * when its last handle goes. This kernel's allocation step is replaced by one that draws from the pool and
   * returns the previous buffer there (when no result holds it) instead of destroying it.
   */
  private poolOutputBuffers(kern: KernelImpl): void {
    if (typeof kern._ensureOutputBuffer !== 'function') return;
    const pool = this.bufferPool;
    const live = this.liveAllocs;
    kern._ensureOutputBuffer = function (this: KernelImpl): void {
      const [tx = 1, ty = 1, tz = 1] = this.threadDim ?? [];
      const bytes = tx * ty * tz * 4 * (this.componentCount ?? 1);
      const prev = this.outputBuffer;
      if (prev) {
        if (--prev._refs! === 0) pool.put(`b${prev.size}`, prev);
        this.outputBuffer = null;
      }
      let buf = pool.take(`b${bytes}`);
      if (buf === undefined) {
        pool.misses++;
        this._checkBufferSize?.(bytes, 'output');
        const made = this._device!.createBuffer({ size: bytes, usage: OUTPUT_BUFFER_USAGE });
        const destroy = made.destroy.bind(made);
        live.add(made);
        made.destroy = () => {
          live.delete(made);
          destroy();
        };
        buf = made;
      } else pool.hits++;
      buf._refs = 1;
      this.outputBuffer = buf;
      this.bindGroupDirty = true;
    };
  }

  /** Check, after a kernel's first run, that gpu.js did not replace it with another kernel class. */
  private verify(k: KernelFn): void {
    const cls = k.kernel.constructor.name;
    const reason = k.kernel.fallbackReason;
    if (!EXPECTED_KERNEL[this.mode].includes(cls) || (reason !== undefined && reason !== null)) {
      throw new Error(`gpujs: mode '${this.mode}' asked for, but the kernel ran on ${cls}${reason ? ` (${reason})` : ''}`);
    }
    if (this.glContext === null && k.kernel.context) this.watchContext(k.kernel.context);
  }

  private watchContext(gl: GLContextLike): void {
    this.glContext = gl;
    const create = gl.createTexture.bind(gl);
    const del = gl.deleteTexture.bind(gl);
    gl.createTexture = () => {
      const t = create();
      this.liveAllocs.add(t);
      return t;
    };
    gl.deleteTexture = (t: unknown) => {
      this.liveAllocs.delete(t);
      del(t);
    };
  }

  /**
   * Run `src` over n outputs with device inputs `ins` (then host arrays `host`, e.g. hyperparameters) and
   * return a new handle. Pending (asynchronous) inputs chain: the kernel runs when they settle.
   */
  private launch(src: string, n: number, dtype: DType, ins: readonly TensorInfo[], host: readonly Float32Array[] = []): GpujsData {
    if (n === 0) return this.store(new Float32Array(0), 0, dtype);
    const ds = ins.map((t) => this.data(t.id));
    const k = this.kernel(src, n, [...ds.map((d) => d.n), ...host.map((h) => h.length)]);
    const call = (vals: readonly Value[]): Pending => {
      const first = !this.verified.has(k);
      if (this.device && this.mode !== 'webgpu') this.prepareOutput(k.kernel);
      const out = k(...vals, ...host) as Pending;
      if (first) {
        this.verified.add(k);
        this.verify(k);
      }
      return out;
    };
    const vals = ds.map((d) => d.v);
    let out: Pending;
    if (vals.some((v) => isPromise(v))) out = Promise.all(vals.map(async (v) => v)).then(call);
    else out = call(vals as Value[]);
    if (isPromise(out)) {
      this.track(out);
      const done = out.then(
        () => undefined,
        () => undefined,
      );
      for (const d of ds) {
        const uses: Promise<unknown> = d.uses === null ? done : Promise.all([d.uses, done]);
        d.uses = uses;
        // Once every reader has run, a dispose releases at once (not a microtask later).
        void uses.then(() => {
          if (d.uses === uses) d.uses = null;
        });
      }
      const d = this.store(out, n, dtype);
      // Settled values are kept as values: reads and releases of them need not wait.
      void out.then(
        (v) => {
          if (d.v === out) d.v = v;
        },
        () => undefined,
      );
      return d;
    }
    return this.store(out, n, dtype);
  }

  private readonly verified = new WeakSet<KernelFn>();

  // ---- extension API: kernels that packages register for this backend (registerKernel) ----

  /** Source helpers for `runKernel` bodies: `lit(x)` (a number literal) and `kahanAdd(term)` (see sources.ts). */
  readonly source: { readonly lit: typeof lit; readonly kahanAdd: typeof kahanAdd } = { lit, kahanAdd };

  /**
   * Run a package-provided kernel through the backend's own machinery (the per-source-and-size kernel cache, the
   * output texture/buffer pool, asynchronous chaining, the mode check) and return a new handle of `size` elements.
   * The kernel is `function(<params>) { const i = this.thread.x; <body> }`: gpu.js JavaScript that returns the
   * value of flat output element `i`. `params` name the `inputs` (flat 1D arrays of their elements) and then the
   * `host` arrays (small Float32Array constants passed at run time, e.g. scales: no recompile when they change).
   * Conventions, as for the built-in kernels: values are float32 on every mode (int32 tensors hold exact integer
   * floats; pass `dtype: 'int32'` for an int output, read back rounded); shapes, sizes and strides go into the
   * source as literals (`source.lit`), so one source compiles once per shape; index arithmetic must be float-safe
   * (`Math.floor((i + 0.5) / d)`, not `Math.floor(i / d)`); long sums use `source.kahanAdd(term)` with
   * `const o1 = one[0];` read once from a host array `one = [1]` (GL compilers fold the plain form away).
   */
  runKernel(
    params: readonly string[],
    body: string,
    size: number,
    inputs: readonly TensorInfo[],
    options: { readonly host?: readonly Float32Array[]; readonly dtype?: DType } = {},
  ): DataId {
    if (params.length !== inputs.length + (options.host?.length ?? 0)) {
      throw new Error(`backend '${this.name}' runKernel: ${params.length} params for ${inputs.length} inputs and ${options.host?.length ?? 0} host arrays`);
    }
    return this.launch(kernelSource(params, body), size, options.dtype ?? 'float32', inputs, options.host ?? []);
  }

  private fill(n: number, value: number): GpujsData {
    return this.launch(kernelSource(['one'], `return ${lit(value)} * one[0];`), n, 'float32', [], [ONE]);
  }

  private tmp(d: GpujsData): TensorInfo {
    return { id: d, shape: [d.n], dtype: d.dtype };
  }

  // ---- kernels ----

  private makeKernels(): BuiltinKernels {
    const rowsOf = (shape: readonly number[]): [number, number] => {
      const n = shape[shape.length - 1] ?? 1;
      return [n === 0 ? 0 : sizeOf(shape) / n, n];
    };
    /** Flat-index offsets into inputs read through strides over outShape; identity where contiguous. */
    const offsets = (outShape: readonly number[], strides: readonly (readonly number[])[], names: readonly string[]): string => {
      const dense = stridesOf(outShape);
      const same = strides.map((s) => s.every((x, d) => x === dense[d] || outShape[d] === 1));
      const lines = names.filter((_, k) => same[k]).map((nm) => `const ${nm} = i;`);
      const rest = names.map((_, k) => k).filter((k) => !same[k]);
      if (rest.length > 0) {
        lines.push(
          decompose(
            'i',
            outShape,
            rest.map((k) => strides[k]!),
            rest.map((k) => names[k]!),
          ),
        );
      }
      return lines.join('\n');
    };
    /** Row index r and column c of the flat index i for rows of length n. */
    const rowCol = (n: number): string => `const r = Math.floor((i + 0.5) / ${n});\nconst col = i - r * ${n};`;
    /** Per-row log-sum-exp of x (rows, n); rows whose target is `ignore` (when given) get 0. */
    const lseKernel = (x: TensorInfo, rows: number, n: number, targets?: TensorInfo, ignore?: number): GpujsData => {
      const params = targets ? ['x', 'tg', 'one'] : ['x', 'one'];
      const body = [
        targets ? `if (tg[i] == ${lit(ignore!)}) { return 0; }` : '',
        `const base = i * ${n};`,
        'let m = x[base];',
        `for (let j = 1; j < ${n}; j++) { const xv = x[base + j]; if (xv > m) { m = xv; } }`,
        'let s = 0;',
        'let comp = 0;',
          'const o1 = one[0];',
        `for (let j = 0; j < ${n}; j++) { ${kahanAdd('Math.exp(x[base + j] - m)')} }`,
        'return m + Math.log(s);',
      ].join('\n');
      return this.launch(kernelSource(params, body), rows, 'float32', targets ? [x, targets] : [x], [ONE]);
    };
    /** Per-row Kahan sum of `term` (over j, with base = row start) for rows of length n. */
    const rowSum = (params: string[], ins: TensorInfo[], rows: number, n: number, term: string): GpujsData =>
      this.launch(
        kernelSource([...params, 'one'], `const base = i * ${n};\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < ${n}; j++) { ${kahanAdd(term)} }\nreturn s;`),
        rows,
        'float32',
        ins,
        [ONE],
      );
    const free = (...ds: GpujsData[]): void => ds.forEach((d) => this.dispose(d));

    return {
      unary: (x, op: UnaryOp) => this.launch(kernelSource(['x'], `const v = x[i];\n${unaryBody(op)}`), sizeOf(x.shape), 'float32', [x]),
      binary: (a, b, op: BinaryOp, outShape) => {
        const off = offsets(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)], ['ia', 'ib']);
        const src = kernelSource(['a', 'b'], `${off}\nconst av = a[ia];\nconst bv = b[ib];\n${binaryBody(op)}`);
        return this.launch(src, sizeOf(outShape), 'float32', [a, b]);
      },
      where: (c, a, b, outShape) => {
        const st = [c, a, b].map((t) => broadcastStrides(t.shape, outShape));
        const off = offsets(outShape, st, ['ic', 'ia', 'ib']);
        const src = kernelSource(['cd', 'a', 'b'], `${off}\nif (cd[ic] != 0) { return a[ia]; }\nreturn b[ib];`);
        return this.launch(src, sizeOf(outShape), 'float32', [c, a, b]);
      },
      reduce: (x, op, axes) => {
        const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const n = sizeOf(outShape);
        const xs = stridesOf(x.shape);
        const red = axes.filter((a) => x.shape[a]! > 1);
        if (sizeOf(x.shape) === 0) return this.fill(n, op === 'sum' ? 0 : -3.4028234663852886e38);
        const base = decompose('i', outShape, [xs], ['ib']);
        const open = red.map((a, k) => `for (let j${k} = 0; j${k} < ${x.shape[a]}; j${k}++) {`).join('\n');
        const close = red.map(() => '}').join('');
        const idx = ['ib', ...red.map((a, k) => `j${k} * ${xs[a]}`)].join(' + ');
        const body =
          op === 'sum'
            ? `${base}\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\n${open}\n${kahanAdd(`x[${idx}]`)}\n${close}\nreturn s;`
            : `${base}\nlet m = x[ib];\n${open}\nconst xv = x[${idx}];\nif (xv > m) { m = xv; }\n${close}\nreturn m;`;
        return this.launch(kernelSource(['x', 'one'], body), n, 'float32', [x], [ONE]);
      },
      matmul: (a, b, transA, transB, outShape) => {
        const r = outShape.length;
        const m = outShape[r - 2]!;
        const n = outShape[r - 1]!;
        const k = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
        const total = sizeOf(outShape);
        if (k === 0 || sizeOf(a.shape) === 0 || sizeOf(b.shape) === 0) return this.fill(total, 0);
        const batchShape = outShape.slice(0, r - 2);
        const aSt = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * m * k);
        const bSt = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * k * n);
        const aRow = transA ? 1 : k;
        const aP = transA ? m : 1;
        const bCol = transB ? k : 1;
        const bP = transB ? 1 : n;
        const off = decompose('i', outShape, [
          [...aSt, aRow, 0],
          [...bSt, 0, bCol],
        ], ['ia', 'ib']);
        const body = `${off}\n${matmulLoop(this.matmulKernel, k, aP, bP)}\nreturn s;`;
        return this.launch(kernelSource(['a', 'b', 'one'], body), total, 'float32', [a, b], [ONE]);
      },
      stridedCopy: (x, outShape, strides, offset) => {
        const off = decompose('i', outShape, [strides], ['ix'], [lit(offset)]);
        return this.launch(kernelSource(['x'], `${off}\nreturn x[ix];`), sizeOf(outShape), x.dtype, [x]);
      },
      concat: (xs, axis, outShape) => {
        const dtype = xs[0]?.dtype ?? 'float32';
        const parts = xs.filter((x) => sizeOf(x.shape) > 0);
        const total = sizeOf(outShape);
        if (parts.length === 0) return this.fill(total, 0);
        const big = outShape[axis]!;
        const inner = sizeOf(outShape.slice(axis + 1));
        const lines = [`const o = Math.floor((i + 0.5) / ${big * inner});`, `const rest = i - o * ${big * inner};`, `const ax = Math.floor((rest + 0.5) / ${inner});`, `const inn = rest - ax * ${inner};`];
        let start = 0;
        parts.forEach((x, k) => {
          const ak = x.shape[axis]!;
          const read = `return x${k}[(o * ${ak} + (ax - ${start})) * ${inner} + inn];`;
          lines.push(k === parts.length - 1 ? read : `if (ax < ${start + ak}) { ${read} }`);
          start += ak;
        });
        const src = kernelSource(
          parts.map((_, k) => `x${k}`),
          lines.join('\n'),
        );
        return this.launch(src, total, dtype, parts);
      },
      gather: (x, indices, axis) => {
        const outer = sizeOf(x.shape.slice(0, axis));
        const big = x.shape[axis]!;
        const inner = sizeOf(x.shape.slice(axis + 1));
        const mm = sizeOf(indices.shape);
        const body = [
          `const o = Math.floor((i + 0.5) / ${mm * inner});`,
          `const rest = i - o * ${mm * inner};`,
          `const mi = Math.floor((rest + 0.5) / ${inner});`,
          `const inn = rest - mi * ${inner};`,
          `return x[(o * ${big} + ind[mi]) * ${inner} + inn];`,
        ].join('\n');
        return this.launch(kernelSource(['x', 'ind'], body), outer * mm * inner, x.dtype, [x, indices]);
      },
      scatterAdd: (upd, indices, axis, outShape) => {
        const big = outShape[axis]!;
        const inner = sizeOf(outShape.slice(axis + 1));
        const mm = sizeOf(indices.shape);
        const total = sizeOf(outShape);
        if (mm === 0) return this.fill(total, 0);
        const body = [
          `const o = Math.floor((i + 0.5) / ${big * inner});`,
          `const rest = i - o * ${big * inner};`,
          `const jx = Math.floor((rest + 0.5) / ${inner});`,
          `const inn = rest - jx * ${inner};`,
          'let s = 0;',
          'let comp = 0;',
          'const o1 = one[0];',
          `for (let mi = 0; mi < ${mm}; mi++) { if (ind[mi] == jx) { ${kahanAdd(`u[(o * ${mm} + mi) * ${inner} + inn]`)} } }`,
          'return s;',
        ].join('\n');
        return this.launch(kernelSource(['u', 'ind', 'one'], body), total, 'float32', [upd, indices], [ONE]);
      },
      cast: (x, dtype) => {
        const op = dtype === 'int32' && x.dtype !== 'int32' ? 'trunc' : 'copy';
        return this.launch(kernelSource(['x'], `const v = x[i];\n${unaryBody(op)}`), sizeOf(x.shape), dtype, [x]);
      },
      softmax: (x) => {
        const [rows, n] = rowsOf(x.shape);
        const lse = lseKernel(x, rows, n);
        const out = this.launch(kernelSource(['x', 'l'], `${rowCol(n)}\nreturn Math.exp(x[i] - l[r]);`), sizeOf(x.shape), 'float32', [x, this.tmp(lse)]);
        free(lse);
        return out;
      },
      softmaxBackward: (y, dy) => {
        const [rows, n] = rowsOf(y.shape);
        const dot = rowSum(['y', 'dy'], [y, dy], rows, n, 'y[base + j] * dy[base + j]');
        const out = this.launch(kernelSource(['y', 'dy', 'dt'], `${rowCol(n)}\nreturn y[i] * (dy[i] - dt[r]);`), sizeOf(y.shape), 'float32', [y, dy, this.tmp(dot)]);
        free(dot);
        return out;
      },
      logSoftmax: (x) => {
        const [rows, n] = rowsOf(x.shape);
        const lse = lseKernel(x, rows, n);
        const out = this.launch(kernelSource(['x', 'l'], `${rowCol(n)}\nreturn x[i] - l[r];`), sizeOf(x.shape), 'float32', [x, this.tmp(lse)]);
        free(lse);
        return out;
      },
      logSoftmaxBackward: (y, dy) => {
        const [rows, n] = rowsOf(y.shape);
        const s = rowSum(['dy'], [dy], rows, n, 'dy[base + j]');
        const out = this.launch(kernelSource(['y', 'dy', 'sm'], `${rowCol(n)}\nreturn dy[i] - Math.exp(y[i]) * sm[r];`), sizeOf(y.shape), 'float32', [y, dy, this.tmp(s)]);
        free(s);
        return out;
      },
      crossEntropy: (logits, targets, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        const lse = lseKernel(logits, rows, n, targets, ignoreIndex);
        if (rows === 0) return { loss: this.fill(1, 0), lse };
        const body = [
          'let s = 0;',
          'let comp = 0;',
          'const o1 = one[0];',
          'let cnt = 0;',
          `for (let r = 0; r < ${rows}; r++) { const t = tg[r]; if (t != ${lit(ignoreIndex)}) { ${kahanAdd(`l[r] - x[r * ${n} + t]`)} cnt += 1; } }`,
          'if (cnt > 0) { return s / cnt; }',
          'return 0;',
        ].join('\n');
        const loss = this.launch(kernelSource(['x', 'tg', 'l', 'one'], body), 1, 'float32', [logits, targets, this.tmp(lse)], [ONE]);
        return { loss, lse };
      },
      crossEntropyBackward: (logits, targets, lse, dloss, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        if (rows === 0) return this.fill(0, 0);
        const cnt = this.launch(
          kernelSource(['tg'], `let c = 0;\nfor (let r = 0; r < ${rows}; r++) { if (tg[r] != ${lit(ignoreIndex)}) { c += 1; } }\nreturn c;`),
          1,
          'float32',
          [targets],
        );
        const body = [
          rowCol(n),
          'const t = tg[r];',
          `if (t == ${lit(ignoreIndex)}) { return 0; }`,
          'if (cn[0] == 0) { return 0; }',
          'const sc = dl[0] / cn[0];',
          'const p = Math.exp(x[i] - l[r]) * sc;',
          'if (col == t) { return p - sc; }',
          'return p;',
        ].join('\n');
        const out = this.launch(kernelSource(['x', 'tg', 'l', 'dl', 'cn'], body), sizeOf(logits.shape), 'float32', [logits, targets, lse, dloss, this.tmp(cnt)]);
        free(cnt);
        return out;
      },
      rmsNorm: (x, gain, eps) => {
        const [rows, n] = rowsOf(x.shape);
        const ss = rowSum(['x'], [x], rows, n, 'x[base + j] * x[base + j]');
        const rstd = this.launch(kernelSource(['s', 'hp'], `return 1 / Math.sqrt(s[i] / ${n} + hp[0]);`), rows, 'float32', [this.tmp(ss)], [new Float32Array([eps])]);
        free(ss);
        const y = this.launch(kernelSource(['x', 'g', 'rs'], `${rowCol(n)}\nreturn x[i] * rs[r] * g[col];`), sizeOf(x.shape), 'float32', [x, gain, this.tmp(rstd)]);
        return { y, rstd };
      },
      rmsNormBackward: (x, gain, rstd, dy) => {
        const [rows, n] = rowsOf(x.shape);
        const dot = this.launch(
          kernelSource(
            ['x', 'g', 'rs', 'dy', 'one'],
            `const base = i * ${n};\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < ${n}; j++) { ${kahanAdd('dy[base + j] * g[j] * x[base + j] * rs[i]')} }\nreturn s / ${n};`,
          ),
          rows,
          'float32',
          [x, gain, rstd, dy],
          [ONE],
        );
        const dx = this.launch(
          kernelSource(['x', 'g', 'rs', 'dy', 'mn'], `${rowCol(n)}\nconst q = rs[r];\nreturn q * (dy[i] * g[col] - x[i] * q * mn[r]);`),
          sizeOf(x.shape),
          'float32',
          [x, gain, rstd, dy, this.tmp(dot)],
        );
        free(dot);
        const dgain =
          rows === 0
            ? this.fill(n, 0)
            : this.launch(
                kernelSource(
                  ['x', 'rs', 'dy', 'one'],
                  `let s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let r = 0; r < ${rows}; r++) { ${kahanAdd(`dy[r * ${n} + i] * x[r * ${n} + i] * rs[r]`)} }\nreturn s;`,
                ),
                n,
                'float32',
                [x, rstd, dy],
                [ONE],
              );
        return { dx, dgain };
      },
      rope: (x, cos, sin, inverse) => {
        const r = x.shape.length;
        const t = x.shape[r - 2]!;
        const d = x.shape[r - 1]!;
        const h = d / 2;
        const sg = inverse ? -1 : 1;
        const body = [
          rowCol(d),
          `const p = r - Math.floor((r + 0.5) / ${t}) * ${t};`,
          `if (col < ${h}) {`,
          `  const c1 = cs[p * ${h} + col];`,
          `  const s1 = ${sg} * sn[p * ${h} + col];`,
          `  return x[i] * c1 - x[i + ${h}] * s1;`,
          '}',
          `const c2 = cs[p * ${h} + col - ${h}];`,
          `const s2 = ${sg} * sn[p * ${h} + col - ${h}];`,
          `return x[i] * c2 + x[i - ${h}] * s2;`,
        ].join('\n');
        return this.launch(kernelSource(['x', 'cs', 'sn'], body), sizeOf(x.shape), 'float32', [x, cos, sin]);
      },
      adamw: (param, grad, m, v, hyper: AdamWHyper) => {
        const n = sizeOf(param.shape);
        const { lr, beta1, beta2, eps, weightDecay, bc1, bc2 } = hyper;
        // [beta1, 1-beta1, beta2, 1-beta2, eps, decay, stepSize, sqrt(bc2)] as a runtime array: no recompiles.
        const hp = new Float32Array([beta1, 1 - beta1, beta2, 1 - beta2, eps, 1 - lr * weightDecay, lr / bc1, Math.sqrt(bc2)]);
        const mExpr = 'hp[0] * m[i] + hp[1] * g[i]';
        const vExpr = 'hp[2] * v[i] + hp[3] * g[i] * g[i]';
        const m2 = this.launch(kernelSource(['g', 'm', 'hp'], `return ${mExpr};`), n, 'float32', [grad, m], [hp]);
        const v2 = this.launch(kernelSource(['g', 'v', 'hp'], `return ${vExpr};`), n, 'float32', [grad, v], [hp]);
        const p2 = this.launch(
          kernelSource(['p', 'm2', 'v2', 'hp'], 'const mi = m2[i];\nconst vi = v2[i];\nreturn p[i] * hp[5] - (hp[6] * mi) / (Math.sqrt(vi) / hp[7] + hp[4]);'),
          n,
          'float32',
          [param, this.tmp(m2), this.tmp(v2)],
          [hp],
        );
        return { param: p2, m: m2, v: v2 };
      },
    };
  }
}
