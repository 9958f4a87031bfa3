// The backend contract: a data store plus a small table of primitive and fused kernels.
// Every backend (cpu reference, WASM, gpu.js) implements this; ops and gradients are written once above it.
//
// Rules for implementers
// - A DataId is an opaque handle owned by the backend. Tensors never see the bytes directly.
// - Data is always dense and row-major (C order) for its shape; the op layer passes shapes, never strides,
//   except to `stridedCopy`, the one kernel that reads through arbitrary strides (permute, slice, broadcast).
// - Kernels return new handles SYNCHRONOUSLY. A backend whose device work is asynchronous (gpu.js v3
//   returns Promises) keeps the pending work behind the handle and settles it in `read`. Ops therefore stay
//   synchronous; only reads are async. `readSync` is optional (a device that cannot block leaves it out).
// - Kernels never mutate their inputs and never dispose them; the engine owns lifetimes and calls `dispose`.
// - Reductions, matmul inner products, norms and softmax sums should accumulate in float64 (or Kahan) where
//   the device allows: the cpu backend does, and the conformance suite's tolerances assume it.
// - A backend may leave kernels out; calling a missing one is an Error naming the backend and the kernel.
// - `numLiveBuffers()` counts handles written or produced and not yet disposed; tests use it for leaks.

/** Element types. float32 for values; int32 for indices and tokens. */
export type DType = 'float32' | 'int32';

/** The arrays a backend reads back. A float64 reference backend (cpu64) returns Float64Array for float32. */
export type DataArray = Float32Array | Float64Array | Int32Array;

/** Opaque handle to a buffer held by a backend. */
export type DataId = object;

/** What a kernel gets for each tensor argument: its handle, shape and dtype. */
export interface TensorInfo {
  readonly id: DataId;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sign'
  | 'relu'
  | 'step' // 1 where x > 0 else 0 (relu's derivative)
  | 'sigmoid'
  | 'tanh'
  | 'square'
  | 'reciprocal';

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

export type ReduceOp = 'sum' | 'max';

export interface AdamWHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1 - beta1^t and 1 - beta2^t for the step t being taken (bias correction). */
  readonly bc1: number;
  readonly bc2: number;
  /**
   * The gradient is g·gradScale, an f32 product, before the step (the gradient-norm clip's coefficient): the bits of
   * scaling the gradient by a mul kernel and stepping. Absent or 1: g as it is.
   */
  readonly gradScale?: number;
}

/**
 * The built-in kernel table. Shapes follow NumPy broadcasting where stated. Every kernel returns fresh handles.
 * Output dtype is float32 unless stated.
 */
export interface BuiltinKernels {
  /** Elementwise unary op. Output has x's shape. */
  unary(x: TensorInfo, op: UnaryOp): DataId;
  /** Elementwise binary op with NumPy broadcasting to outShape. Comparisons return float 0/1. */
  binary(a: TensorInfo, b: TensorInfo, op: BinaryOp, outShape: readonly number[]): DataId;
  /** cond ? a : b elementwise (cond float, nonzero = true), all three broadcast to outShape. */
  where(cond: TensorInfo, a: TensorInfo, b: TensorInfo, outShape: readonly number[]): DataId;
  /** Reduce over `axes` (sorted, unique); the output keeps the reduced axes with size 1. */
  reduce(x: TensorInfo, op: ReduceOp, axes: readonly number[]): DataId;
  /**
   * Batched matmul: a is (...batchA, m, k) or (...batchA, k, m) when transA, b is (...batchB, k, n) or
   * (...batchB, n, k) when transB; batch dims broadcast to outShape's leading dims. Output (...batch, m, n).
   */
  matmul(a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean, outShape: readonly number[]): DataId;
  /**
   * Dense copy that reads x's buffer through arbitrary element strides (0 allowed, for broadcast) starting
   * at `offset`: out[i0..in] = x[offset + sum(i_d * strides[d])]. Covers permute, slice, broadcastTo.
   */
  stridedCopy(x: TensorInfo, outShape: readonly number[], strides: readonly number[], offset: number): DataId;
  /** Concatenate along `axis`; all inputs share dtype and every other dim. */
  concat(xs: readonly TensorInfo[], axis: number, outShape: readonly number[]): DataId;
  /** out = x.shape[:axis] + indices.shape + x.shape[axis+1:]; indices int32, each in [0, x.shape[axis]). */
  gather(x: TensorInfo, indices: TensorInfo, axis: number): DataId;
  /** Zeros of outShape with `updates` (shaped like a gather result) added at `indices` along axis. */
  scatterAdd(updates: TensorInfo, indices: TensorInfo, axis: number, outShape: readonly number[]): DataId;
  /** Convert dtype (float -> int32 truncates toward zero). */
  cast(x: TensorInfo, dtype: DType): DataId;

  // ---- fused kernels: forward and backward side by side ----
  /** Softmax over the last axis. */
  softmax(x: TensorInfo): DataId;
  /** dx = y * (dy - sum(y * dy)) over the last axis, from the forward output y. */
  softmaxBackward(y: TensorInfo, dy: TensorInfo): DataId;
  /** log-softmax over the last axis. */
  logSoftmax(x: TensorInfo): DataId;
  /** dx = dy - exp(y) * sum(dy) over the last axis, from the forward output y. */
  logSoftmaxBackward(y: TensorInfo, dy: TensorInfo): DataId;
  /**
   * Mean cross-entropy of logits (N, V) against int32 targets (N); rows whose target equals ignoreIndex are
   * skipped and the mean is over the others (0 when none). Returns the scalar loss (shape []) and the per-row
   * log-sum-exp (N) that the backward reuses.
   */
  crossEntropy(logits: TensorInfo, targets: TensorInfo, ignoreIndex: number): { loss: DataId; lse: DataId };
  /** dlogits = (softmax(logits) - onehot(target)) * dloss / count, zero on ignored rows. dloss is a scalar. */
  crossEntropyBackward(
    logits: TensorInfo,
    targets: TensorInfo,
    lse: TensorInfo,
    dloss: TensorInfo,
    ignoreIndex: number,
  ): DataId;
  /** y = x * rstd * gain over the last axis, rstd = 1/sqrt(mean(x^2) + eps) per row (shape x.shape[:-1]). */
  rmsNorm(x: TensorInfo, gain: TensorInfo, eps: number): { y: DataId; rstd: DataId };
  /** Gradients of rmsNorm with respect to x and gain. */
  rmsNormBackward(x: TensorInfo, gain: TensorInfo, rstd: TensorInfo, dy: TensorInfo): { dx: DataId; dgain: DataId };
  /**
   * Rotary embedding, rotate-half convention (HF Llama): x (..., T, D), cos and sin (T, D/2); for i < D/2,
   * y[i] = x[i] cos - x[i+D/2] sin, y[i+D/2] = x[i+D/2] cos + x[i] sin. `inverse` rotates by -angle (the
   * backward, since the rotation is orthogonal).
   */
  rope(x: TensorInfo, cos: TensorInfo, sin: TensorInfo, inverse: boolean): DataId;
  /** One AdamW step (PyTorch semantics); returns new param, m and v handles. */
  adamw(
    param: TensorInfo,
    grad: TensorInfo,
    m: TensorInfo,
    v: TensorInfo,
    hyper: AdamWHyper,
  ): { param: DataId; m: DataId; v: DataId };
}

/**
 * The kernel table: the built-in kernels plus those packages add by module augmentation (see registerKernel).
 */
export interface Kernels extends BuiltinKernels {
  /**
   * Optional (registered for the kinds that have it: wasm): fused scaled-dot-product attention. q (B, Hq, Tq, D),
   * k and v (B, Hkv, Tk, D), Hq = group · Hkv (or (B, T, H, D) each: opts.layout 'bthd'); returns o (like q) and the
   * per-row log-sum-exp of the scores (B, Hq, Tq) that the backward reuses. Causal: row i sees keys j ≤ i + Tk − Tq.
   */
  fusedAttention(q: TensorInfo, k: TensorInfo, v: TensorInfo, opts: FusedAttentionOptions): { o: DataId; lse: DataId };
  /** Gradients of fusedAttention from dout (like o) and the forward's o and lse. */
  fusedAttentionBackward(q: TensorInfo, k: TensorInfo, v: TensorInfo, o: TensorInfo, lse: TensorInfo, dout: TensorInfo, opts: FusedAttentionOptions): { dq: DataId; dk: DataId; dv: DataId };
  /**
   * Optional (registered for the kinds that have it: wasm): SwiGLU's gating h = silu(g)·u = g·σ(g)·u in one pass,
   * g and u float32 of one shape; the swiglu op composes it from sigmoid and mul elsewhere.
   */
  swiglu(g: TensorInfo, u: TensorInfo): DataId;
  /** Its gradients from dh (like g): dg = dh·u·(σ + g·σ·(1 − σ)), du = dh·g·σ. */
  swigluBackward(g: TensorInfo, u: TensorInfo, dh: TensorInfo): { dg: DataId; du: DataId };
  /**
   * Optional (registered for the kinds that have it: wasm): Σ x² of a float32 tensor as a scalar (shape []), with the
   * bits of the reduce kernel's whole-tensor sum of the mul kernel's x·x (the sumSquares op composes it elsewhere).
   */
  sumSquares(x: TensorInfo): DataId;
  /**
   * Optional (registered for the kinds that have it: wasm): a multi-tensor AdamW step, every tensor's in one call (the
   * work of small tensors then splits across threads too), with a weight decay per tensor and the other
   * hyperparameters shared: bit for bit one `adamw` call per tensor.
   */
  adamwMany(tensors: readonly AdamWManyTensor[], hyper: Omit<AdamWHyper, 'weightDecay'>): { param: DataId; m: DataId; v: DataId }[];
  /**
   * Optional (registered for the kinds that have it: wasm): Σ x² over many float32 tensors as one scalar (shape []),
   * with the bits of one `sumSquares` per tensor, then their float32 sum in order (a gradient-norm clip's total).
   */
  sumSquaresMany(xs: readonly TensorInfo[]): DataId;
}

/** One tensor of an adamwMany call. */
export interface AdamWManyTensor {
  readonly param: TensorInfo;
  readonly grad: TensorInfo;
  readonly m: TensorInfo;
  readonly v: TensorInfo;
  readonly weightDecay: number;
}

/** Parameters of the fused attention kernels. */
export interface FusedAttentionOptions {
  readonly scale: number;
  readonly causal: boolean;
  /**
   * 'bhtd' (absent): q, o (B, Hq, Tq, D), k, v (B, Hkv, Tk, D), lse (B, Hq, Tq). 'bthd': q, o (B, Tq, Hq, D) and k, v
   * (B, Tk, Hkv, D), as a projection's output reshapes (no permute either side); lse still (B, Hq, Tq).
   */
  readonly layout?: AttentionLayout;
}

/** Axis orders of the attention tensors: (B, H, T, D) or (B, T, H, D). */
export type AttentionLayout = 'bhtd' | 'bthd';

export type KernelName = keyof Kernels;

/**
 * The backend families. Packages register extra kernels per kind (registerKernel), and every backend of a kind
 * offers the same extension API to them: 'cpu' is a CpuBackend (typed arrays through `values(id)`), 'wasm' a
 * WasmBackend (`allocate`, `view`: buffers in WASM memory), 'gpujs' a GpujsBackend (`runKernel`, the
 * GpujsKernelRunner of @bitskip/tensor-core/gpujs).
 */
export const BACKEND_KINDS = ['cpu', 'wasm', 'gpujs'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** A backend: a data store plus (some of) the kernel table. */
export interface Backend {
  /** The registry name of this instance (any string: 'cpu', 'wasm', 'my-wasm-2-threads', ...). */
  readonly name: string;
  /** Its family: which registered kernels (registerKernel) it finds. */
  readonly kind: BackendKind;
  /** Store values (copied) as a new buffer of the given dtype and shape. */
  write(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): DataId;
  /** Read a buffer back (a copy the caller may keep); settles pending device work. */
  read(id: DataId): Promise<DataArray>;
  /** Synchronous read, where the device allows it. */
  readSync?(id: DataId): DataArray;
  /** Free a buffer. Disposing twice is a no-op. */
  dispose(id: DataId): void;
  /** Buffers written or produced and not yet disposed. */
  numLiveBuffers(): number;
  /** The kernels this backend implements. */
  readonly kernels: Partial<Kernels>;
}

// ---- kernel extension: packages contribute kernels to every backend of a kind ----

/**
 * Builds a kernel for one backend instance of the kind it was registered for (it may keep the instance, e.g. to
 * reach the cpu backend's typed arrays). Called once per instance, on first lookup.
 */
export type KernelFactory<K extends KernelName> = (backend: Backend) => Kernels[K];

const extraKernels = new Map<BackendKind, Map<KernelName, KernelFactory<KernelName>>>();
/** Kernels built per backend instance, with the factory that built them (a re-registration rebuilds). */
const builtExtra = new WeakMap<Backend, Map<KernelName, { factory: unknown; impl: unknown }>>();

/**
 * Contribute kernel `name` to every backend of `kind` ('cpu', 'wasm' or 'gpujs'), whatever its name and whenever
 * it is created. A package calls this once per kind at import, beside the op that uses the kernel, and adds the
 * kernel's signature to `Kernels` by module augmentation:
 * `declare module '@bitskip/tensor-core' { interface Kernels { fwht(x: TensorInfo, block: number): DataId } }`.
 * A backend's own table wins over a registered kernel; re-registering replaces the earlier registration.
 */
export function registerKernel<K extends KernelName>(kind: BackendKind, name: K, factory: KernelFactory<K>): void {
  if (!(BACKEND_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`registerKernel('${String(kind)}', '${name}'): unknown backend kind; kinds: ${BACKEND_KINDS.join(', ')}`);
  }
  let m = extraKernels.get(kind);
  if (m === undefined) {
    m = new Map<KernelName, KernelFactory<KernelName>>();
    extraKernels.set(kind, m);
  }
  m.set(name, factory);
}

/** Look up a kernel (the backend's table, then kernels registered for its kind), or throw an Error naming the backend and the kernel. */
export function getKernel<K extends KernelName>(backend: Backend, name: K): Kernels[K] {
  const k = backend.kernels[name];
  if (k !== undefined) return k;
  const factory = extraKernels.get(backend.kind)?.get(name);
  if (factory === undefined) {
    throw new Error(`backend '${backend.name}' has no kernel '${name}' (kind '${String(backend.kind)}': not built in, and no package registered it for this kind)`);
  }
  let built = builtExtra.get(backend);
  if (built === undefined) {
    built = new Map<KernelName, { factory: unknown; impl: unknown }>();
    builtExtra.set(backend, built);
  }
  const hit = built.get(name);
  if (hit !== undefined && hit.factory === factory) return hit.impl as Kernels[K];
  const impl = (factory as unknown as KernelFactory<K>)(backend);
  built.set(name, { factory, impl });
  return impl;
}

/** Every kernel `backend` has: its own table's, then those registered for its kind (e.g. to wrap them with timers). */
export function kernelNames(backend: Backend): KernelName[] {
  const own = Object.keys(backend.kernels).filter((k) => backend.kernels[k as KernelName] !== undefined) as KernelName[];
  const extra = [...(extraKernels.get(backend.kind)?.keys() ?? [])].filter((k) => !own.includes(k));
  return [...own, ...extra];
}

/** Whether `backend` has kernel `name` (built in, or registered for its kind). */
export function hasKernel(backend: Backend, name: KernelName): boolean {
  return backend.kernels[name] !== undefined || extraKernels.get(backend.kind)?.has(name) === true;
}
