// The WASM runtime: one module (assembly/, built by scripts/build-wasm.mjs in plain and relaxed SIMD, shared and
// unshared memory), one memory with its heap (memory.ts), one control block (ctrl.ts) and, with threads, one worker
// pool (pool-node.ts, through ThreadPool). Every kernel family's launchers (kernels/, one file per family) write a
// call into the control block and run it; the wasm backend (backend.ts) maps the kernel table onto them.
// This file needs no Node API (browser-safe); multi-threading plugs in through ThreadPool (see pool-node.ts).
import { CTRL, CTRL_INTS } from './ctrl.js';
import { plainSimdUnsharedWasm, plainSimdWasm, relaxedSimdUnsharedWasm, relaxedSimdWasm } from './generated/kernels.js';
import { adamwKernels } from './kernels/adamw.js';
import type { AdamWArgs, AdamWManyArgs, AdamWShared, AdamWTensor } from './kernels/adamw.js';
import type { RuntimeContext } from './kernels/context.js';
import { checkDim } from './kernels/context.js';
import { crossEntropyKernels } from './kernels/cross-entropy.js';
import { attentionKernels } from './kernels/attention.js';
import type { AttentionArgs, AttentionBackwardArgs } from './kernels/attention.js';
import type { CrossEntropyArgs, CrossEntropyBackwardArgs } from './kernels/cross-entropy.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import type { BinaryArgs, RowSumsArgs, RowSumsManyArgs, ScatterAddRowsArgs, StridedCopyArgs, UnaryArgs } from './kernels/elementwise.js';
import { matmulKernels } from './kernels/matmul.js';
import type { MatmulArgs, MatmulArrayArgs } from './kernels/matmul.js';
import { rmsNormKernels } from './kernels/rms-norm.js';
import type { RmsNormArgs, RmsNormBackwardArgs } from './kernels/rms-norm.js';
import { ropeKernels } from './kernels/rope.js';
import type { RopeArgs } from './kernels/rope.js';
import { softmaxKernels } from './kernels/softmax.js';
import { swigluKernels } from './kernels/swiglu.js';
import type { SwigluArgs, SwigluBackwardArgs } from './kernels/swiglu.js';
import { ternaryKernels } from './kernels/ternary.js';
import type { QuantizeAbsmaxArgs, TernaryMatmulArgs } from './kernels/ternary.js';
import { bitLinearKernels } from './kernels/bitlinear.js';
import type { FakeQuantRowsArgs, FakeQuantTernaryArgs, FwhtRowsArgs } from './kernels/bitlinear.js';
import type { SoftmaxArgs, SoftmaxBackwardArgs } from './kernels/softmax.js';
import { MAX_PAGES, WasmHeap } from './memory.js';
import type { WasmBuffer } from './memory.js';
import { decodeBase64, webAssembly } from './wasm-api.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';

export type { WasmBuffer } from './memory.js';
export type { WasmMemory, WasmModule } from './wasm-api.js';
export type { AdamWArgs, AdamWManyArgs, AdamWShared, AdamWTensor, BinaryArgs, CrossEntropyArgs, CrossEntropyBackwardArgs, FakeQuantRowsArgs, FakeQuantTernaryArgs, FwhtRowsArgs, MatmulArgs, MatmulArrayArgs, RmsNormArgs, RmsNormBackwardArgs, QuantizeAbsmaxArgs, RopeArgs, RowSumsArgs, RowSumsManyArgs, ScatterAddRowsArgs, SoftmaxArgs, SoftmaxBackwardArgs, StridedCopyArgs, TernaryMatmulArgs, UnaryArgs };
export { TERNARY_PARALLEL_MIN, ternaryTokenBytes } from './kernels/ternary.js';
export { BINARY_CODES, CMD_EXIT, CMD_RUN, CTRL, CTRL_INTS, UNARY_CODES } from './ctrl.js';
export type { WasmBinaryOp, WasmUnaryOp } from './ctrl.js';

/** Below this many elements a softmax runs on the calling thread only. */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Below this many FLOPs a call runs on the calling thread only (waking workers costs more than it saves). */
export const PARALLEL_MIN_FLOPS = 1 << 22;
/**
 * The node entry's worker polling time after a call (µs) when the pool has no more threads than the machine has
 * cores: +1.2–3.8% on the bench step model and +1.2–1.7% on the quick preset's step, 2 threads (benchmarks/README.md, #18).
 */
export const DEFAULT_WORKER_SPIN_MICROS = 1000;
/** The most a worker may poll (µs). */
export const MAX_WORKER_SPIN_MICROS = 100_000;



export interface WasmMatmulInfo {
  simd: 'relaxed' | 'plain';
  threads: number;
}

/** Runs parts 1..threads-1 of a job described by the control block while the caller runs part 0. */
export interface ThreadPool {
  readonly threads: number;
  /** Wake the workers on the job just written to the control block. */
  begin(): void;
  /**
   * Call after part 0 (also when it threw): wait until every worker that joined has finished (every worker, without
   * a JOIN slot); throws if one failed.
   */
  end(): void;
  dispose(): Promise<void>;
}

export interface PoolContext {
  module: WasmModule;
  memory: WasmMemory;
  /** Byte offset of the control block. */
  ctrl: number;
  /** Scratch byte offset for each worker (thread 1..threads-1). */
  scratch: number[];
  /** Microseconds a worker polls for the next call before it sleeps (WasmMatmulOptions.workerSpinMicros). */
  workerSpinMicros: number;
}

export type PoolFactory = (ctx: PoolContext) => Promise<ThreadPool>;

export interface WasmMatmulOptions {
  /** Threads including the caller (default 1 here; the node entry defaults to all cores). */
  threads?: number;
  /** 'auto' (default): relaxed-SIMD FMA build where WebAssembly.validate accepts it, else plain SIMD. */
  relaxed?: 'auto' | boolean;
  /** Run each kernel once at start-up so that timed calls hit optimised code (default true). */
  warmup?: boolean;
  /** Initial memory in pages of 64 KiB (default 64); it grows on demand up to 65536 (4 GiB). */
  initialPages?: number;
  /** Calls below this many FLOPs run on the calling thread only (default PARALLEL_MIN_FLOPS). */
  parallelMinFlops?: number;
  /** Row kernels (softmax) below this many elements run on the calling thread only (default PARALLEL_MIN_ELEMENTS). */
  parallelMinElements?: number;
  /**
   * Shared memory (default: where SharedArrayBuffer exists). Threads need it; without it the unshared
   * builds run single-threaded, and growing the memory replaces its buffer (WasmBuffer.f32 follows).
   */
  sharedMemory?: boolean;
  /** Creates the worker pool when threads > 1 (the node entry passes a worker_threads pool). */
  pool?: PoolFactory;
  /**
   * Microseconds a worker keeps polling for the next call after one before it sleeps in Atomics.wait (default 0
   * here: it sleeps at once; @bitskip/tensor-core/wasm defaults to DEFAULT_WORKER_SPIN_MICROS when threads ≤ cores).
   * A training step launches hundreds of kernels with short gaps between them: a worker still polling joins the
   * next call without a futex wake-up. It burns its core while it polls, which only a process that owns the cores
   * it runs on can afford.
   */
  workerSpinMicros?: number;
}

/** @deprecated The runtime's former name (it ran matmuls first); use WasmRuntime. */
export type WasmMatmul = WasmRuntime;

/** The WASM runtime: its memory and heap, and one launcher per kernel (raw WasmBuffer arguments). */
export interface WasmRuntime {
  readonly info: WasmMatmulInfo;
  readonly memory: WasmMemory;
  readonly heap: WasmHeap;
  alloc(length: number): WasmBuffer;
  free(buf: WasmBuffer): void;
  matmul(args: MatmulArgs): void;
  /** Copy a and b into WASM memory, multiply, copy the batch×m×n result out. */
  matmulArrays(a: Float32Array, b: Float32Array, args: MatmulArrayArgs): Float32Array;
  /** Row softmax (SIMD exp, ~2 ulp; inputs below −87.3, e.g. −∞ masks, give exactly 0). */
  softmax(args: SoftmaxArgs): void;
  softmaxBackward(args: SoftmaxBackwardArgs): void;
  /** Elementwise binary op with strided (broadcast) inputs, f32x4. */
  binary(args: BinaryArgs): void;
  /** Elementwise unary map, f32x4 (exp and sigmoid through a SIMD exp, ~2 ulp). */
  unary(args: UnaryArgs): void;
  /** Float64 sum of each row (the cpu reduce's per-row sums), rows over the threads. */
  rowSums(args: RowSumsArgs): void;
  /** rowSums of many tensors in one call (one range across the pool). */
  rowSumsMany(args: RowSumsManyArgs): void;
  /** Scatter-add of rows grouped by destination, summed in float64 (the embedding gradient). */
  scatterAddRows(args: ScatterAddRowsArgs): void;
  /** Dense copy through strides (4-byte elements of any type). */
  stridedCopy(args: StridedCopyArgs): void;
  crossEntropy(args: CrossEntropyArgs): void;
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;
  rmsNorm(args: RmsNormArgs): void;
  rmsNormBackward(args: RmsNormBackwardArgs): void;
  adamw(args: AdamWArgs): void;
  /** AdamW over many tensors in one call (one range across the pool); the bits of one adamw call per tensor. */
  adamwMany(args: AdamWManyArgs): void;
  /** Rotary embedding (rotate-half), forward or inverse. */
  rope(args: RopeArgs): void;
  /** Per-token absmax quantization of f32 activations into the packed ternary kernel's layout (calling thread). */
  quantizeAbsmaxRows(args: QuantizeAbsmaxArgs): void;
  /** Packed ternary × int8 matmul, output columns split over the threads in panel chunks. */
  ternaryMatmul(args: TernaryMatmulArgs): void;
  /** Per-token fake quantization of f32 activations (absmax or absmean codes, float64 arithmetic), rows over the threads. */
  fakeQuantRows(args: FakeQuantRowsArgs): void;
  /** Ternary fake quantization of a weight tensor (quant's fakeQuantWeightsInto, float32 compares), on this thread; returns γ. */
  fakeQuantTernary(args: FakeQuantTernaryArgs): number;
  /** Orthonormal fast Walsh–Hadamard transform of rows (f32 butterflies, f64 scale: fwhtInPlace's values), rows over the threads. */
  fwhtRows(args: FwhtRowsArgs): void;
  /** Fused scaled-dot-product attention (grouped kv heads, causal keys skipped), query rows over the threads. */
  attention(args: AttentionArgs): void;
  /** Its gradients from the forward's output and log-sum-exp, kv heads over the threads. */
  attentionBackward(args: AttentionBackwardArgs): void;
  /** Fused SwiGLU h = silu(g)·u (the composite's arithmetic, one pass), elements over the threads. */
  swiglu(args: SwigluArgs): void;
  /** Its gradients dg and du from dh, one pass. */
  swigluBackward(args: SwigluBackwardArgs): void;
  dispose(): Promise<void>;
}

/** Whether this host accepts the relaxed-SIMD (FMA) build (Node 20: --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  const wa = webAssembly();
  return wa !== undefined && wa.validate(decodeBase64(relaxedSimdWasm));
}

/** Whether this host accepts the plain SIMD + threads build. */
export function wasmSimdSupported(): boolean {
  const wa = webAssembly();
  return wa !== undefined && wa.validate(decodeBase64(plainSimdWasm));
}

interface KernelExports {
  heapBase(): number;
  scratchBytes(): number;
  isRelaxed(): number;
  runPart(ctrl: number, t: number, scratch: number): void;
}


const OPTION_KEYS = new Set(['threads', 'relaxed', 'warmup', 'initialPages', 'parallelMinFlops', 'parallelMinElements', 'sharedMemory', 'pool', 'workerSpinMicros']);

/** What options resolve to before anything is instantiated: the module bytes and the settings. */
interface Resolved {
  threads: number;
  shared: boolean;
  bytes: Uint8Array;
}

function resolveOptions(options: WasmMatmulOptions): Resolved {
  const wa = webAssembly();
  if (wa === undefined) throw new Error('wasm matmul: this host has no WebAssembly');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new Error(`wasm matmul: unknown option "${key}" (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  if (options.relaxed !== undefined && options.relaxed !== 'auto' && typeof options.relaxed !== 'boolean') {
    throw new Error(`wasm matmul: option "relaxed" must be 'auto', true or false, got ${String(options.relaxed)}`);
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`wasm matmul: threads must be a positive integer, got ${threads}`);
  if (threads > 1 && options.pool === undefined) throw new Error('wasm matmul: threads > 1 needs a pool (use @bitskip/tensor-core/wasm)');
  const spin = options.workerSpinMicros ?? 0;
  if (typeof spin !== 'number' || !Number.isFinite(spin) || spin < 0 || spin > MAX_WORKER_SPIN_MICROS) {
    throw new RangeError(`wasm matmul: workerSpinMicros must be a number of microseconds in [0, ${MAX_WORKER_SPIN_MICROS}], got ${String(spin)}`);
  }
  const shared = options.sharedMemory ?? typeof SharedArrayBuffer !== 'undefined';
  if (threads > 1 && !shared) throw new Error('wasm matmul: threads > 1 need shared memory (SharedArrayBuffer)');
  const relaxedOpt = options.relaxed ?? 'auto';
  const relaxedBytes = decodeBase64(shared ? relaxedSimdWasm : relaxedSimdUnsharedWasm);
  const relaxedOk = relaxedOpt !== false && wa.validate(relaxedBytes);
  if (relaxedOpt === true && !relaxedOk) {
    throw new Error('wasm matmul: relaxed SIMD requested but not supported here (Node 20: run with --experimental-wasm-relaxed-simd)');
  }
  const bytes = relaxedOk ? relaxedBytes : decodeBase64(shared ? plainSimdWasm : plainSimdUnsharedWasm);
  return { threads, shared, bytes };
}

/**
 * Create the kernels (async: compiles with WebAssembly.compile, which browsers require for modules this size on
 * the main thread, and starts the worker pool when threads > 1).
 */
export async function createWasmMatmulCore(options: WasmMatmulOptions = {}): Promise<WasmRuntime> {
  const r = resolveOptions(options);
  const module = await webAssembly()!.compile(r.bytes);
  return instantiateCore(options, r, module, (ctx) => options.pool!(ctx));
}

/**
 * Create the single-threaded kernels synchronously (Node, workers, or any host that allows synchronous
 * compilation of a module this size; browsers' main threads do not — use createWasmMatmulCore there).
 */
export function createWasmMatmulCoreSync(options: Omit<WasmMatmulOptions, 'pool'> = {}): WasmRuntime {
  if ((options.threads ?? 1) !== 1) throw new Error('wasm matmul: the synchronous constructor is single-threaded (threads: 1)');
  const r = resolveOptions(options);
  const module = new (webAssembly()!.Module)(r.bytes);
  return instantiateCore(options, r, module, undefined);
}

function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory | undefined): WasmRuntime;
function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory): Promise<WasmRuntime>;
function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory | undefined): WasmRuntime | Promise<WasmRuntime> {
  const wa = webAssembly()!;
  const { threads, shared } = r;
  const memory = new wa.Memory({ initial: options.initialPages ?? 64, maximum: MAX_PAGES, shared });
  const instance = new wa.Instance(module, {
    env: {
      memory,
      abort: () => {
        throw new Error('wasm matmul: abort');
      },
    },
  });
  const ex = instance.exports as unknown as KernelExports;
  const heapStart = ex.heapBase();
  const heap = new WasmHeap(memory, heapStart);
  const ctrl = heap.allocBytes(CTRL_INTS * 4);
  const scratchBytes = ex.scratchBytes();
  const scratch: number[] = [];
  for (let t = 0; t < threads; t++) {
    const s = heap.allocBytes(scratchBytes);
    new Uint8Array(memory.buffer, s, scratchBytes).fill(0); // commit the pages now, not in the first timed call
    scratch.push(s);
  }
  const parts: CoreParts = { module, memory, ex, heap, heapStart, ctrl, scratch, threads };
  if (threads > 1) {
    return makePool!({ module, memory, ctrl, scratch: scratch.slice(1), workerSpinMicros: options.workerSpinMicros ?? 0 }).then((pool) => finishCore(options, parts, pool));
  }
  return finishCore(options, parts, undefined);
}

interface CoreParts {
  module: WasmModule;
  memory: WasmMemory;
  ex: KernelExports;
  heap: WasmHeap;
  heapStart: number;
  ctrl: number;
  scratch: number[];
  threads: number;
}

function finishCore(options: WasmMatmulOptions, parts: CoreParts, pool: ThreadPool | undefined): WasmRuntime {
  const { memory, ex, heap, heapStart, ctrl, scratch, threads } = parts;
  let ctl = new Int32Array(memory.buffer, ctrl, CTRL_INTS);
  const scratch0 = scratch[0]!;
  const parallelMinFlops = options.parallelMinFlops ?? PARALLEL_MIN_FLOPS;
  const parallelMinElements = options.parallelMinElements ?? PARALLEL_MIN_ELEMENTS;
  let disposed = false;

  /** The control block's view, renewed when growth detached an unshared memory's buffer (a shared one's views stay valid). */
  const control = (): Int32Array => {
    if (ctl.byteLength === 0) ctl = new Int32Array(memory.buffer, ctrl, CTRL_INTS);
    return ctl;
  };

  /** Run the call written to the control block: on this thread, or with the pool (this thread is part 0). */
  const launch = (c: Int32Array, par: boolean): void => {
    c[CTRL.THREADS] = par ? threads : 1;
    c[CTRL.NEXT] = 0;
    if (par) {
      pool!.begin();
      try {
        ex.runPart(ctrl, 0, scratch0);
      } finally {
        pool!.end();
      }
    } else {
      ex.runPart(ctrl, 0, scratch0);
    }
  };

  const checkBuffer = (op: string, name: string, buf: WasmBuffer, need: number): void => {
    if (buf.length < need) throw new RangeError(`${op}: ${name} has ${buf.length} floats, needs ${need}`);
    if (!Number.isInteger(buf.ptr) || buf.ptr % 4 !== 0 || buf.ptr < heapStart || !heap.holds(buf.ptr + need * 4)) {
      throw new RangeError(`${op}: ${name} (ptr ${buf.ptr}, ${need} floats) is not inside this heap`);
    }
  };

  const checkLive = (family: string): void => {
    if (disposed) throw new Error(`wasm ${family}: used after dispose()`);
  };

  /** The row kernels' common checks (live, rows and cols); false when there is nothing to do. */
  const rowsReady = (family: string, rows: number, cols: number): boolean => {
    checkLive(family);
    checkDim('rows', rows);
    checkDim('cols', cols);
    return rows !== 0 && cols !== 0;
  };

  /**
   * Write a call's kernel, its three pointers and its rows × cols to the control block (a kernel ignores the
   * slots it has no use for); returns the block for the kernel's other slots.
   */
  const job = (op: number, a: WasmBuffer, b: WasmBuffer, c: WasmBuffer, rows: number, cols: number): Int32Array => {
    const ctl = control();
    ctl[CTRL.OP] = op;
    ctl[CTRL.A] = a.ptr;
    ctl[CTRL.B] = b.ptr;
    ctl[CTRL.C] = c.ptr;
    ctl[CTRL.M] = rows;
    ctl[CTRL.N] = cols;
    return ctl;
  };
  const rowsParallel = (rows: number, cols: number): boolean => pool !== undefined && rows * cols >= parallelMinElements && rows >= threads;
  /** Whether an elementwise call over n floats splits across the pool. */
  const flatParallel = (n: number): boolean => pool !== undefined && n >= 4 * parallelMinElements;

  const rt: RuntimeContext = { memory, heap, threads, pooled: pool !== undefined, relaxed: ex.isRelaxed() === 1, parallelMinFlops, scratchBytes: ex.scratchBytes(), job, launch, checkBuffer, checkLive, rowsReady, rowsParallel, flatParallel };
  const { matmul, matmulArrays } = matmulKernels(rt);
  const { softmax, softmaxBackward } = softmaxKernels(rt);
  const { binary, rowSums, rowSumsMany, scatterAddRows, stridedCopy, unary } = elementwiseKernels(rt);
  const { crossEntropy, crossEntropyBackward } = crossEntropyKernels(rt);
  const { rmsNorm, rmsNormBackward } = rmsNormKernels(rt);
  const { rope } = ropeKernels(rt);
  const { adamw, adamwMany } = adamwKernels(rt);
  const { quantizeAbsmaxRows, ternaryMatmul } = ternaryKernels(rt);
  const { fakeQuantRows, fakeQuantTernary, fwhtRows } = bitLinearKernels(rt);
  const { attention, attentionBackward } = attentionKernels(rt);
  const { swiglu, swigluBackward } = swigluKernels(rt);

  if (options.warmup ?? true) {
    // The first call of a kernel runs in V8's baseline tier (~5× slower); warm every layout, inline and pooled.
    const s = 64;
    const wb = Math.max(threads * 2, 8); // 8·64² floats: large enough for the pooled softmax path too
    const len = wb * s * s;
    const [a, b, c, d, e, f, h] = Array.from({ length: 7 }, () => heap.alloc(len)) as [WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer];
    const tg = heap.alloc(wb * s);
    const x = heap.alloc(len);
    const fill = (buf: WasmBuffer, x: number): void => void new Float32Array(memory.buffer, buf.ptr, buf.length).fill(x);
    fill(a, 0.5);
    fill(b, 0.25);
    fill(d, 0.25);
    new Int32Array(memory.buffer, tg.ptr, tg.length).fill(1);
    for (let r = 0; r < 3; r++) {
      for (const [transA, transB] of [
        [false, false],
        [false, true],
        [true, false],
      ] as const) {
        matmul({ a, b, c, batch: wb, m: s, k: s, n: s, transA, transB });
        matmul({ a, b, c, batch: 1, m: s, k: s, n: s, transA, transB });
      }
      softmax({ x: a, y: c, rows: wb * s, cols: s });
      softmax({ x: a, y: c, rows: 4, cols: s });
      softmaxBackward({ y: c, dy: b, dx: e, rows: wb * s, cols: s });
      softmaxBackward({ y: c, dy: b, dx: e, rows: 4, cols: s });
      binary({ op: 'mul', a, b, c, shape: [len], aStrides: [1], bStrides: [1] });
      binary({ op: 'add', a, b, c, shape: [wb * s, s], aStrides: [s, 1], bStrides: [0, 1] });
      unary({ op: 'sigmoid', x: a, y: c, n: len });
      unary({ op: 'neg', x: a, y: c, n: 64 });
      rowSums({ x: a, sums: e, rows: wb * s, cols: s });
      rowSums({ x: a, sums: e, rows: 4, cols: s });
      rowSumsMany({ xs: [{ x: a, rows: 4, cols: s }, { x: b, rows: 4, cols: s }], sums: e, squares: true });
      crossEntropy({ logits: a, targets: tg, lse: c, rows: wb * s, cols: s, ignoreIndex: -100 });
      crossEntropyBackward({ logits: a, targets: tg, lse: c, dlogits: e, rows: wb * s, cols: s, ignoreIndex: -100, scale: 1e-3 });
      rmsNorm({ x: a, gain: b, y: c, rstd: e, rows: wb * s, cols: s, eps: 1e-5 });
      rmsNormBackward({ x: a, gain: b, rstd: d, dy: b, dx: c, dgain: e, rows: wb * s, cols: s });
      adamw({ p: a, g: b, m: c, v: d, pOut: e, mOut: f, vOut: h, n: len, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, bc1: 1, bc2: 1 });
      adamwMany({ tensors: [{ p: a, g: b, m: c, v: d, pOut: e, mOut: f, vOut: h, n: len, weightDecay: 0.1 }], lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, bc1: 1, bc2: 1 });
      fakeQuantRows({ x: a, y: c, rows: wb * s, cols: s, scale: 'absmax', qmin: -127, qmax: 127 });
      fakeQuantRows({ x: a, y: c, rows: 4, cols: s, scale: 'absmean', qmin: -8, qmax: 7 });
      fakeQuantTernary({ x: a, y: c, n: len });
      fwhtRows({ x: a, y: c, rows: wb * s, n: s });
      fwhtRows({ x: a, y: c, rows: 4, n: s });
      swiglu({ g: a, u: b, h: c, n: len });
      swiglu({ g: a, u: b, h: c, n: 63 });
      swigluBackward({ g: a, u: b, dh: d, dg: e, du: f, n: len });
      swigluBackward({ g: a, u: b, dh: d, dg: e, du: f, n: 63 });
      // Attention: wb (and 2) heads in groups of 2 over 64 keys of 16, causal, forward and backward (f, h and x:
      // outputs; f and h are rewritten by the packed ternary calls below).
      for (const pairs of [wb, 2]) {
        const at = { q: a, k: b, v: d, o: c, lse: f, pairs, group: 2, tq: s, tk: s, d: 16, scale: 0.25, causal: true, kT: b };
        attention(at);
        attentionBackward({ ...at, dout: b, dq: e, dk: h, dv: x, vT: d });
      }
      // Packed ternary: K = 1024 (16 blocks), N = 256 (pooled at M = 8), prefill and decode, each kernel of the build
      // (sums and scales in f and h, outputs of the kernels above: tg holds the cross-entropy targets).
      for (const relaxedKernel of rt.relaxed ? [false, true] : [false]) {
        for (const M of [8, 1]) {
          quantizeAbsmaxRows({ x: a, M, K: 1024, Q: 127, out: e, relaxed: relaxedKernel, nBlocks: 16, sumx: f, scale: h, gamma: 1 });
          ternaryMatmul({ w: d, x: e, sumx: f, scale: h, y: c, M, N: 256, nBlocks: 16, relaxed: relaxedKernel });
          ternaryMatmul({ w: d, x: e, sumx: f, scale: h, y: c, M, N: 6, nBlocks: 16, relaxed: relaxedKernel });
        }
      }
    }
    for (const buf of [x, tg, h, f, e, d, c, b, a]) heap.free(buf);
  }

  return {
    info: { simd: ex.isRelaxed() === 1 ? 'relaxed' : 'plain', threads },
    memory,
    heap,
    alloc: (length) => heap.alloc(length),
    free: (buf) => heap.free(buf),
    matmul,
    matmulArrays,
    softmax,
    softmaxBackward,
    binary,
    unary,
    rowSums,
    rowSumsMany,
    scatterAddRows,
    stridedCopy,
    crossEntropy,
    crossEntropyBackward,
    rmsNorm,
    rmsNormBackward,
    adamw,
    adamwMany,
    rope,
    quantizeAbsmaxRows,
    ternaryMatmul,
    fakeQuantRows,
    fakeQuantTernary,
    fwhtRows,
    attention,
    attentionBackward,
    swiglu,
    swigluBackward,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await pool?.dispose();
    },
  };
}
