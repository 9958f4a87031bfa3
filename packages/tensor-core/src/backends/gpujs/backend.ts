// The gpu.js backend: every kernel of the contract as gpu.js kernels (kernels/, one family per file), generated per
// shape and compiled once. Tensors live on the device between kernels (immutable pipeline textures on GL, buffers on
// WebGPU, typed arrays on cpu/webasm, where gpu.js has no device memory); only `read` brings values back.
// This file: the mode check, the store (store.ts), the launcher (kernel cache, output pool of pool.ts, asynchronous
// chaining) and the extension API for packages (runKernel).
//
// int32 tensors (token ids, gather indices) are stored as float values: exact up to 2^24, as WebGL1 has no
// integer textures. Reductions, matmul inner products and row sums use Kahan-compensated float32 sums.
import type { Backend, BuiltinKernels, DataArray, DataId, DType, TensorInfo } from '../../backend.js';
import { fmtShape, sizeOf } from '../../shape.js';
import type { GLContextLike, GpuBufferLike, GpuConstructor, GpuInstanceLike, KernelFn, KernelImpl, RawAlloc } from './gpu-types.js';
import { ONE, gpujsKernels } from './kernels/index.js';
import { DevicePool, OUTPUT_BUFFER_USAGE, textureKey } from './pool.js';
import type { GpujsPoolStats } from './pool.js';
import { kahanAdd, kernelSource, lit } from './sources.js';
import type { MatmulKernel } from './sources.js';
import { GpujsData, isPromise } from './store.js';
import type { Pending, Value } from './store.js';

export type { GpuConstructor, GpuInstanceLike } from './gpu-types.js';
export type { GpujsPoolStats } from './pool.js';

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

  // ---- kernels: one family per file in kernels/, over this backend's launcher ----

  private makeKernels(): BuiltinKernels {
    return gpujsKernels({
      launch: (src, n, dtype, ins, host) => this.launch(src, n, dtype, ins, host),
      fill: (n, value) => this.fill(n, value),
      tmp: (d) => this.tmp(d),
      free: (...ds) => ds.forEach((x) => this.dispose(x)),
      matmulKernel: this.matmulKernel,
    });
  }
}
