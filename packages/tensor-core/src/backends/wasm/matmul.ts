// WASM SIMD kernels, raw typed-array API: buffers live in one shared WebAssembly.Memory; C (+)= op(A)·op(B)
// in every transposition (NN, NT, TN), batched with broadcasting; row softmax and its backward.
// Kernels: assembly/ (matmul.ts, softmax.ts; control block layout in ctrl.ts).
// This file needs no Node API (browser-safe); multi-threading plugs in through ThreadPool (see pool-node.ts).
import { plainSimdUnsharedWasm, plainSimdWasm, relaxedSimdUnsharedWasm, relaxedSimdWasm } from './generated/kernels.js';
import { MAX_PAGES, WasmHeap } from './memory.js';
import type { WasmBuffer } from './memory.js';
import { decodeBase64, webAssembly } from './wasm-api.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';

export type { WasmBuffer } from './memory.js';
export type { WasmMemory, WasmModule } from './wasm-api.js';

/** Control block slots (i32), shared with assembly/ctrl.ts and the worker loop in pool-node.ts. */
export const CTRL = {
  GEN: 0,
  /** Workers that finished the current job. */
  DONE: 1,
  CMD: 2,
  ERR: 3,
  A: 4,
  B: 5,
  C: 6,
  BATCH: 7,
  M: 8,
  K: 9,
  N: 10,
  SA: 11,
  SB: 12,
  TA: 13,
  TB: 14,
  ACC: 15,
  THREADS: 16,
  /** Next chunk of work to take (atomic counter, reset per job). */
  NEXT: 17,
  /** Kernel: OP_MATMUL, OP_SOFTMAX, OP_SOFTMAX_BACKWARD (assembly/ctrl.ts). */
  OP: 18,
  /** Workers that joined the current job, | 1 << 30 once the caller closed it (pool-node.ts). */
  JOIN: 19,
} as const;
const OP_MATMUL = 0;
const OP_SOFTMAX = 1;
const OP_SOFTMAX_BACKWARD = 2;
const OP_BINARY = 3;
const OP_UNARY = 4;
/** Elementwise parameter slots (assembly/ctrl.ts C_EOP..C_SB2). */
const E = { OP: 20, D0: 21, D1: 22, D2: 23, SA0: 24, SA1: 25, SA2: 26, SB0: 27, SB1: 28, SB2: 29 } as const;

const OP_CE_FORWARD = 5;
const OP_CE_BACKWARD = 6;
const OP_RMSNORM_FORWARD = 7;
const OP_RMSNORM_BACKWARD = 8;
const OP_ADAMW = 9;
const OP_ROPE = 10;
/** First of the parameter slots of the fused kernels (assembly/ctrl.ts C_P0..C_P11). */
const P = 20;

const f32Bits = new Float32Array(1);
const f32BitsI = new Int32Array(f32Bits.buffer);
/** The bits of x rounded to f32, for an i32 control slot that a kernel reads as f32. */
function bitsOf(x: number): number {
  f32Bits[0] = x;
  return f32BitsI[0]!;
}

/** Binary ops the WASM kernels implement, with their codes (assembly/elementwise.ts). */
export const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, ne: 7, lt: 8, le: 9, gt: 10, ge: 11 } as const;
export type WasmBinaryOp = keyof typeof BINARY_CODES;
/** The binary kernel's code for c = a (strided copy). */
const COPY_CODE = 12;
/** Unary ops the WASM kernels implement, with their codes. */
export const UNARY_CODES = { neg: 0, exp: 1, abs: 2, relu: 3, step: 4, sigmoid: 5, square: 6, sqrt: 7, rsqrt: 8, reciprocal: 9 } as const;
export type WasmUnaryOp = keyof typeof UNARY_CODES;
/** Below this many elements a softmax runs on the calling thread only. */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;
export const CTRL_INTS = 32;
export const CMD_RUN = 1;
export const CMD_EXIT = 2;

/** Below this many FLOPs a call runs on the calling thread only (waking workers costs more than it saves). */
export const PARALLEL_MIN_FLOPS = 1 << 22;

export interface MatmulArgs {
  a: WasmBuffer;
  b: WasmBuffer;
  /** Output, batch×m×n. Must not overlap a or b. */
  c: WasmBuffer;
  /** Number of matrices (default 1). */
  batch?: number;
  m: number;
  k: number;
  n: number;
  /** A is stored k×m (op(A) = Aᵀ). Default false: A is m×k. */
  transA?: boolean;
  /** B is stored n×k (op(B) = Bᵀ). Default false: B is k×n. */
  transB?: boolean;
  /** C += op(A)·op(B) instead of C = op(A)·op(B). */
  accumulate?: boolean;
  /** Floats between consecutive A matrices (default m·k; 0 broadcasts one A over the batch). */
  strideA?: number;
  /** Floats between consecutive B matrices (default k·n; 0 broadcasts one B over the batch). */
  strideB?: number;
}

export type MatmulArrayArgs = Omit<MatmulArgs, 'a' | 'b' | 'c' | 'accumulate'>;

/** y = softmax of each row of x (rows×cols, row-major). y may be x (in place). */
export interface SoftmaxArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  cols: number;
}

/** dx = y ⊙ (dy − rowsum(dy ⊙ y)), the gradient through y = softmax(x). dx may be dy (in place). */
export interface SoftmaxBackwardArgs {
  y: WasmBuffer;
  dy: WasmBuffer;
  dx: WasmBuffer;
  rows: number;
  cols: number;
}

/**
 * c = op(a, b) elementwise over an output of `shape` (1 to 3 dims, dense, row-major); a and b are read through
 * element strides per dim (0 broadcasts). c must not overlap a or b unless it is the same buffer.
 */
export interface BinaryArgs {
  op: WasmBinaryOp;
  a: WasmBuffer;
  b: WasmBuffer;
  c: WasmBuffer;
  shape: readonly number[];
  aStrides: readonly number[];
  bStrides: readonly number[];
}

/** y (dense, `shape` of 1 to 3 dims) = x read through element strides (0 broadcasts); the bits are copied. */
export interface StridedCopyArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  shape: readonly number[];
  strides: readonly number[];
}

/** y = op(x) over n contiguous floats; y may be x. */
export interface UnaryArgs {
  op: WasmUnaryOp;
  x: WasmBuffer;
  y: WasmBuffer;
  n: number;
}

/** Cross-entropy forward: lse[r] = log Σ exp(logits[r]) for kept rows (0 where targets[r] = ignoreIndex). */
export interface CrossEntropyArgs {
  logits: WasmBuffer;
  /** int32 targets, one per row (ptr and length as for floats). */
  targets: WasmBuffer;
  lse: WasmBuffer;
  rows: number;
  cols: number;
  ignoreIndex: number;
}

/** dlogits = (exp(logits − lse) − onehot(target)) · scale on kept rows, 0 on ignored rows. */
export interface CrossEntropyBackwardArgs extends CrossEntropyArgs {
  dlogits: WasmBuffer;
  scale: number;
}

/** y = x · rstd · gain per row, rstd = 1/√(mean(x²) + eps). */
export interface RmsNormArgs {
  x: WasmBuffer;
  gain: WasmBuffer;
  y: WasmBuffer;
  rstd: WasmBuffer;
  rows: number;
  cols: number;
  eps: number;
}

/** The gradients of rmsNorm: dx (rows × cols) and dgain (cols, summed over rows in float64). */
export interface RmsNormBackwardArgs {
  x: WasmBuffer;
  gain: WasmBuffer;
  rstd: WasmBuffer;
  dy: WasmBuffer;
  dx: WasmBuffer;
  dgain: WasmBuffer;
  rows: number;
  cols: number;
}

/**
 * Rotary embedding, rotate-half convention (as the cpu kernel): x is rows = outer·t rows of d floats (d even),
 * row r at position r mod t; cos and sin are t × d/2. For i < d/2: y[i] = x[i]·c − x[i+d/2]·s,
 * y[i+d/2] = x[i+d/2]·c + x[i]·s; `inverse` rotates by −angle (the backward). y may be x.
 */
export interface RopeArgs {
  x: WasmBuffer;
  cos: WasmBuffer;
  sin: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  d: number;
  t: number;
  inverse: boolean;
}

/** One AdamW step over n floats (PyTorch semantics, as the cpu kernel); outputs may not overlap inputs. */
export interface AdamWArgs {
  p: WasmBuffer;
  g: WasmBuffer;
  m: WasmBuffer;
  v: WasmBuffer;
  pOut: WasmBuffer;
  mOut: WasmBuffer;
  vOut: WasmBuffer;
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1 − beta1^t, 1 − beta2^t. */
  bc1: number;
  bc2: number;
}

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
}

export interface WasmMatmul {
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
  /** Dense copy through strides (4-byte elements of any type). */
  stridedCopy(args: StridedCopyArgs): void;
  crossEntropy(args: CrossEntropyArgs): void;
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;
  rmsNorm(args: RmsNormArgs): void;
  rmsNormBackward(args: RmsNormBackwardArgs): void;
  adamw(args: AdamWArgs): void;
  /** Rotary embedding (rotate-half), forward or inverse. */
  rope(args: RopeArgs): void;
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

function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`wasm kernels: ${name} must be a non-negative integer, got ${v}`);
}

function overlaps(x: WasmBuffer, y: WasmBuffer): boolean {
  return x.length > 0 && y.length > 0 && x.ptr < y.ptr + y.length * 4 && y.ptr < x.ptr + x.length * 4;
}

/** Whether x overlaps any of the others. */
function overlapsAny(x: WasmBuffer, a: WasmBuffer, b?: WasmBuffer, c?: WasmBuffer, d?: WasmBuffer): boolean {
  return overlaps(x, a) || (b !== undefined && overlaps(x, b)) || (c !== undefined && overlaps(x, c)) || (d !== undefined && overlaps(x, d));
}

const OPTION_KEYS = new Set(['threads', 'relaxed', 'warmup', 'initialPages', 'parallelMinFlops', 'parallelMinElements', 'sharedMemory', 'pool']);

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
export async function createWasmMatmulCore(options: WasmMatmulOptions = {}): Promise<WasmMatmul> {
  const r = resolveOptions(options);
  const module = await webAssembly()!.compile(r.bytes);
  return instantiateCore(options, r, module, (ctx) => options.pool!(ctx));
}

/**
 * Create the single-threaded kernels synchronously (Node, workers, or any host that allows synchronous
 * compilation of a module this size; browsers' main threads do not — use createWasmMatmulCore there).
 */
export function createWasmMatmulCoreSync(options: Omit<WasmMatmulOptions, 'pool'> = {}): WasmMatmul {
  if ((options.threads ?? 1) !== 1) throw new Error('wasm matmul: the synchronous constructor is single-threaded (threads: 1)');
  const r = resolveOptions(options);
  const module = new (webAssembly()!.Module)(r.bytes);
  return instantiateCore(options, r, module, undefined);
}

function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory | undefined): WasmMatmul;
function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory): Promise<WasmMatmul>;
function instantiateCore(options: WasmMatmulOptions, r: Resolved, module: WasmModule, makePool: PoolFactory | undefined): WasmMatmul | Promise<WasmMatmul> {
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
    return makePool!({ module, memory, ctrl, scratch: scratch.slice(1) }).then((pool) => finishCore(options, parts, pool));
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

function finishCore(options: WasmMatmulOptions, parts: CoreParts, pool: ThreadPool | undefined): WasmMatmul {
  const { memory, ex, heap, heapStart, ctrl, scratch, threads } = parts;
  let ctl = new Int32Array(memory.buffer, ctrl, CTRL_INTS);
  const scratch0 = scratch[0]!;
  const parallelMinFlops = options.parallelMinFlops ?? PARALLEL_MIN_FLOPS;
  const parallelMinElements = options.parallelMinElements ?? PARALLEL_MIN_ELEMENTS;
  let disposed = false;

  /** The control block's view, renewed when growth replaced an unshared memory's buffer. */
  const control = (): Int32Array => {
    if (ctl.buffer !== memory.buffer) ctl = new Int32Array(memory.buffer, ctrl, CTRL_INTS);
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
    if (!Number.isInteger(buf.ptr) || buf.ptr % 4 !== 0 || buf.ptr < heapStart || buf.ptr + need * 4 > memory.buffer.byteLength) {
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

  const matmul = (args: MatmulArgs): void => {
    checkLive('matmul');
    const { a, b, c, m, k, n } = args;
    const batch = args.batch ?? 1;
    const sa = args.strideA ?? m * k;
    const sb = args.strideB ?? k * n;
    checkDim('batch', batch);
    checkDim('m', m);
    checkDim('k', k);
    checkDim('n', n);
    checkDim('strideA', sa);
    checkDim('strideB', sb);
    if (batch === 0 || m === 0 || n === 0) return;
    const needC = batch * m * n;
    checkBuffer('matmul', 'a', a, (batch - 1) * sa + m * k);
    checkBuffer('matmul', 'b', b, (batch - 1) * sb + k * n);
    checkBuffer('matmul', 'c', c, needC);
    if (overlapsAny(c, a, b)) throw new Error('matmul: c must not overlap a or b');
    if (k === 0) {
      if (args.accumulate !== true) new Float32Array(memory.buffer, c.ptr, needC).fill(0);
      return;
    }
    const flops = 2 * batch * m * n * k;
    const par = pool !== undefined && flops >= parallelMinFlops && batch * Math.ceil(m / 4) >= threads;
    const ctl = job(OP_MATMUL, a, b, c, m, n);
    ctl[CTRL.BATCH] = batch;
    ctl[CTRL.K] = k;
    ctl[CTRL.SA] = sa;
    ctl[CTRL.SB] = sb;
    ctl[CTRL.TA] = args.transA === true ? 1 : 0;
    ctl[CTRL.TB] = args.transB === true ? 1 : 0;
    ctl[CTRL.ACC] = args.accumulate === true ? 1 : 0;
    launch(ctl, par);
  };

  const softmax = (args: SoftmaxArgs): void => {
    const { x, y, rows, cols } = args;
    if (!rowsReady('softmax', rows, cols)) return;
    checkBuffer('softmax', 'x', x, rows * cols);
    checkBuffer('softmax', 'y', y, rows * cols);
    if (x.ptr !== y.ptr && overlaps(x, y)) throw new Error('softmax: y must be x or not overlap it');
    launch(job(OP_SOFTMAX, x, y, y, rows, cols), rowsParallel(rows, cols)); // C: unused by the forward kernel
  };

  const softmaxBackward = (args: SoftmaxBackwardArgs): void => {
    const { y, dy, dx, rows, cols } = args;
    if (!rowsReady('softmax', rows, cols)) return;
    checkBuffer('softmaxBackward', 'y', y, rows * cols);
    checkBuffer('softmaxBackward', 'dy', dy, rows * cols);
    checkBuffer('softmaxBackward', 'dx', dx, rows * cols);
    if (overlaps(dx, y) || (dx.ptr !== dy.ptr && overlaps(dx, dy))) throw new Error('softmaxBackward: dx must be dy or overlap neither y nor dy');
    launch(job(OP_SOFTMAX_BACKWARD, y, dy, dx, rows, cols), rowsParallel(rows, cols));
  };

  const binary = (args: BinaryArgs): void => {
    const code = BINARY_CODES[args.op];
    if (code === undefined) throw new Error(`binary: unknown op '${String(args.op)}'`);
    elementwise(code, args.a, args.b, args.c, args.shape, args.aStrides, args.bStrides);
  };

  const stridedCopy = (args: StridedCopyArgs): void => {
    elementwise(COPY_CODE, args.x, args.x, args.y, args.shape, args.strides, null);
  };

  /**
   * c = op(a, b) over `shape` (1 to 3 dims, right-aligned in the kernel's 3: the missing outer dims are 1 with
   * stride 0); bStrides null: b is read at stride 0 everywhere (a strided copy reads a only).
   */
  const elementwise = (
    code: number,
    a: WasmBuffer,
    b: WasmBuffer,
    c: WasmBuffer,
    shape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[] | null,
  ): void => {
    checkLive('binary');
    const r = shape.length;
    const rb = bStrides === null ? aStrides.length : bStrides.length;
    if (r < 1 || r > 3 || aStrides.length !== r || rb !== r) {
      throw new RangeError(`binary: shape and strides need 1 to 3 dims each, got ${r}, ${aStrides.length}, ${rb}`);
    }
    // The padded dims (1, stride 0) pass every check and add nothing to a reach.
    let total = 1;
    let reachA = 1;
    let reachB = 1;
    for (let i = 0; i < r; i++) {
      const d = shape[i]!;
      checkDim('shape', d);
      checkDim('strides', aStrides[i]!);
      if (bStrides !== null) checkDim('strides', bStrides[i]!);
      total *= d;
      reachA += (d - 1) * aStrides[i]!;
      if (bStrides !== null) reachB += (d - 1) * bStrides[i]!;
    }
    if (total === 0) return;
    checkBuffer('binary', 'a', a, reachA);
    checkBuffer('binary', 'b', b, reachB);
    checkBuffer('binary', 'c', c, total);
    if ((c.ptr !== a.ptr && overlaps(c, a)) || (c.ptr !== b.ptr && overlaps(c, b))) throw new Error('binary: c must be a, b or overlap neither');
    const ctl = job(OP_BINARY, a, b, c, 0, 0); // shape and strides in the E slots (M, N unused)
    ctl[E.OP] = code;
    for (let i = 0; i < 3; i++) {
      const j = i - (3 - r); // the dim of `shape` in kernel dim i; < 0: a padded outer dim
      ctl[E.D0 + i] = j < 0 ? 1 : shape[j]!;
      ctl[E.SA0 + i] = j < 0 ? 0 : aStrides[j]!;
      ctl[E.SB0 + i] = j < 0 || bStrides === null ? 0 : bStrides[j]!;
    }
    launch(ctl, flatParallel(total));
  };

  const unary = (args: UnaryArgs): void => {
    checkLive('unary');
    const { x, y, n } = args;
    const code = UNARY_CODES[args.op];
    if (code === undefined) throw new Error(`unary: unknown op '${String(args.op)}'`);
    checkDim('n', n);
    if (n === 0) return;
    checkBuffer('unary', 'x', x, n);
    checkBuffer('unary', 'y', y, n);
    if (x.ptr !== y.ptr && overlaps(x, y)) throw new Error('unary: y must be x or not overlap it');
    const ctl = job(OP_UNARY, x, x, y, 0, 0); // x at A, y at C (B, M, N unused)
    ctl[E.OP] = code;
    ctl[E.D2] = n;
    launch(ctl, flatParallel(n));
  };

  const crossEntropy = (args: CrossEntropyArgs): void => {
    const { logits, targets, lse, rows, cols } = args;
    if (!rowsReady('crossEntropy', rows, cols)) return;
    checkBuffer('crossEntropy', 'logits', logits, rows * cols);
    checkBuffer('crossEntropy', 'targets', targets, rows);
    checkBuffer('crossEntropy', 'lse', lse, rows);
    if (overlapsAny(lse, logits, targets)) throw new Error('crossEntropy: lse must not overlap logits or targets');
    const ctl = job(OP_CE_FORWARD, logits, targets, lse, rows, cols);
    ctl[P] = args.ignoreIndex | 0;
    launch(ctl, rowsParallel(rows, cols));
  };

  const crossEntropyBackward = (args: CrossEntropyBackwardArgs): void => {
    const { logits, targets, lse, dlogits, rows, cols } = args;
    if (!rowsReady('crossEntropyBackward', rows, cols)) return;
    checkBuffer('crossEntropyBackward', 'logits', logits, rows * cols);
    checkBuffer('crossEntropyBackward', 'targets', targets, rows);
    checkBuffer('crossEntropyBackward', 'lse', lse, rows);
    checkBuffer('crossEntropyBackward', 'dlogits', dlogits, rows * cols);
    if (overlapsAny(dlogits, logits, targets, lse)) throw new Error('crossEntropyBackward: dlogits must not overlap an input');
    const ctl = job(OP_CE_BACKWARD, logits, targets, lse, rows, cols);
    ctl[P] = args.ignoreIndex | 0;
    ctl[P + 1] = dlogits.ptr;
    ctl[P + 2] = bitsOf(args.scale);
    launch(ctl, rowsParallel(rows, cols));
  };

  const rmsNorm = (args: RmsNormArgs): void => {
    const { x, gain, y, rstd, rows, cols } = args;
    if (!rowsReady('rmsNorm', rows, cols)) return;
    checkBuffer('rmsNorm', 'x', x, rows * cols);
    checkBuffer('rmsNorm', 'gain', gain, cols);
    checkBuffer('rmsNorm', 'y', y, rows * cols);
    checkBuffer('rmsNorm', 'rstd', rstd, rows);
    if (overlapsAny(y, x, gain) || overlapsAny(rstd, x, y)) throw new Error('rmsNorm: outputs must not overlap inputs');
    const ctl = job(OP_RMSNORM_FORWARD, x, gain, y, rows, cols);
    ctl[P] = rstd.ptr;
    ctl[P + 1] = bitsOf(args.eps);
    launch(ctl, rowsParallel(rows, cols));
  };

  const rmsNormBackward = (args: RmsNormBackwardArgs): void => {
    const { x, gain, rstd, dy, dx, dgain, rows, cols } = args;
    if (!rowsReady('rmsNormBackward', rows, cols)) {
      if (cols > 0 && dgain.length >= cols) new Float32Array(memory.buffer, dgain.ptr, cols).fill(0);
      return;
    }
    checkBuffer('rmsNormBackward', 'x', x, rows * cols);
    checkBuffer('rmsNormBackward', 'gain', gain, cols);
    checkBuffer('rmsNormBackward', 'rstd', rstd, rows);
    checkBuffer('rmsNormBackward', 'dy', dy, rows * cols);
    checkBuffer('rmsNormBackward', 'dx', dx, rows * cols);
    checkBuffer('rmsNormBackward', 'dgain', dgain, cols);
    if (overlapsAny(dx, x, gain, rstd, dy) || overlapsAny(dgain, x, gain, rstd, dy)) throw new Error('rmsNormBackward: outputs must not overlap inputs');
    if (overlaps(dx, dgain)) throw new Error('rmsNormBackward: dx and dgain overlap');
    const par = rowsParallel(rows, cols);
    const parts = par ? threads : 1;
    // One float64 accumulator row of dgain per thread, summed here.
    const acc = heap.allocBytes(parts * cols * 8);
    try {
      new Float64Array(memory.buffer, acc, parts * cols).fill(0);
      const ctl = job(OP_RMSNORM_BACKWARD, x, gain, dy, rows, cols);
      ctl[P] = rstd.ptr;
      ctl[P + 1] = dx.ptr;
      ctl[P + 2] = acc;
      launch(ctl, par);
      const sums = new Float64Array(memory.buffer, acc, parts * cols);
      const out = new Float32Array(memory.buffer, dgain.ptr, cols);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let t = 0; t < parts; t++) s += sums[t * cols + j]!;
        out[j] = s;
      }
    } finally {
      heap.free(acc);
    }
  };

  const rope = (args: RopeArgs): void => {
    const { x, cos, sin, y, rows, d, t } = args;
    if (!rowsReady('rope', rows, d)) return;
    checkDim('t', t);
    if (d % 2 !== 0 || t === 0 || rows % t !== 0) throw new RangeError(`rope: d must be even and rows a multiple of t ≥ 1, got rows ${rows}, d ${d}, t ${t}`);
    checkBuffer('rope', 'x', x, rows * d);
    checkBuffer('rope', 'cos', cos, (t * d) / 2);
    checkBuffer('rope', 'sin', sin, (t * d) / 2);
    checkBuffer('rope', 'y', y, rows * d);
    if ((y.ptr !== x.ptr && overlaps(y, x)) || overlapsAny(y, cos, sin)) throw new Error('rope: y must be x or overlap no input');
    const ctl = job(OP_ROPE, x, cos, y, rows, d);
    ctl[P] = t;
    ctl[P + 1] = sin.ptr;
    ctl[P + 2] = bitsOf(args.inverse ? -1 : 1);
    launch(ctl, rowsParallel(rows, d));
  };

  const adamw = (args: AdamWArgs): void => {
    checkLive('adamw');
    const { p, g, m, v, pOut, mOut, vOut, n } = args;
    checkDim('n', n);
    if (n === 0) return;
    checkBuffer('adamw', 'p', p, n);
    checkBuffer('adamw', 'g', g, n);
    checkBuffer('adamw', 'm', m, n);
    checkBuffer('adamw', 'v', v, n);
    checkBuffer('adamw', 'pOut', pOut, n);
    checkBuffer('adamw', 'mOut', mOut, n);
    checkBuffer('adamw', 'vOut', vOut, n);
    if (overlapsAny(pOut, p, g, m, v) || overlapsAny(mOut, p, g, m, v) || overlapsAny(vOut, p, g, m, v)) throw new Error('adamw: outputs must not overlap inputs');
    const ctl = job(OP_ADAMW, p, g, m, 1, n); // n floats at N (M unused)
    ctl[P] = v.ptr;
    ctl[P + 1] = pOut.ptr;
    ctl[P + 2] = mOut.ptr;
    ctl[P + 3] = vOut.ptr;
    ctl[P + 4] = bitsOf(args.beta1);
    ctl[P + 5] = bitsOf(1 - args.beta1);
    ctl[P + 6] = bitsOf(args.beta2);
    ctl[P + 7] = bitsOf(1 - args.beta2);
    ctl[P + 8] = bitsOf(1 - args.lr * args.weightDecay);
    ctl[P + 9] = bitsOf(args.lr / args.bc1);
    ctl[P + 10] = bitsOf(1 / Math.sqrt(args.bc2));
    ctl[P + 11] = bitsOf(args.eps);
    launch(ctl, flatParallel(n));
  };

  const matmulArrays = (aIn: Float32Array, bIn: Float32Array, args: MatmulArrayArgs): Float32Array => {
    const a = heap.alloc(aIn.length);
    const b = heap.alloc(bIn.length);
    const c = heap.alloc((args.batch ?? 1) * args.m * args.n);
    try {
      a.f32.set(aIn);
      b.f32.set(bIn);
      matmul({ ...args, a, b, c });
      return c.f32.slice();
    } finally {
      heap.free(c);
      heap.free(b);
      heap.free(a);
    }
  };

  if (options.warmup ?? true) {
    // The first call of a kernel runs in V8's baseline tier (~5× slower); warm every layout, inline and pooled.
    const s = 64;
    const wb = Math.max(threads * 2, 8); // 8·64² floats: large enough for the pooled softmax path too
    const len = wb * s * s;
    const [a, b, c, d, e, f, h] = Array.from({ length: 7 }, () => heap.alloc(len)) as [WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer, WasmBuffer];
    const tg = heap.alloc(wb * s);
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
      crossEntropy({ logits: a, targets: tg, lse: c, rows: wb * s, cols: s, ignoreIndex: -100 });
      crossEntropyBackward({ logits: a, targets: tg, lse: c, dlogits: e, rows: wb * s, cols: s, ignoreIndex: -100, scale: 1e-3 });
      rmsNorm({ x: a, gain: b, y: c, rstd: e, rows: wb * s, cols: s, eps: 1e-5 });
      rmsNormBackward({ x: a, gain: b, rstd: d, dy: b, dx: c, dgain: e, rows: wb * s, cols: s });
      adamw({ p: a, g: b, m: c, v: d, pOut: e, mOut: f, vOut: h, n: len, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, bc1: 1, bc2: 1 });
    }
    for (const buf of [tg, h, f, e, d, c, b, a]) heap.free(buf);
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
    stridedCopy,
    crossEntropy,
    crossEntropyBackward,
    rmsNorm,
    rmsNormBackward,
    adamw,
    rope,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await pool?.dispose();
    },
  };
}
