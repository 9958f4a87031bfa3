// The WASM runtime's matmul: C (+)= op(A)·op(B) in every transposition (NN, NT, TN), batched, with per-operand batch strides (0 broadcasts); assembly/matmul.ts.
import { CTRL, OP_MATMUL, P } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

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

/** Depth of the kernel's blocks (assembly/matmul.ts KC): a depth-split product has one unit per block. */
const KC = 512;

/**
 * Whether a product C (+)= Aᵀ·B with A stored k×m and B k×n (a weight gradient dW = dYᵀ X, depth = tokens) runs split
 * by depth on `threads` threads: when 2 ≤ m ≤ 1024 and k ≥ 2048 (and the call has one product, batch 1). Split by rows, each thread packs the whole k × n B
 * for its few rows; split by depth, each unit packs its block of A and B (assembly/matmul.ts, matmulSplitDepth). The
 * sums are the same either way, bit for bit; one thread has nothing to gain.
 */
export function splitsByDepth(m: number, k: number, transA: boolean, transB: boolean, threads: number): boolean {
  return threads > 1 && transA && !transB && m >= 2 && m <= 1024 && k >= 4 * KC;
}

export type MatmulArrayArgs = Omit<MatmulArgs, 'a' | 'b' | 'c' | 'accumulate'>;

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function matmulKernels(rt: RuntimeContext) {
  const matmul = (args: MatmulArgs): void => {
    rt.checkLive('matmul');
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
    rt.checkBuffer('matmul', 'a', a, (batch - 1) * sa + m * k);
    rt.checkBuffer('matmul', 'b', b, (batch - 1) * sb + k * n);
    rt.checkBuffer('matmul', 'c', c, needC);
    if (overlapsAny(c, a, b)) throw new Error('matmul: c must not overlap a or b');
    if (k === 0) {
      if (args.accumulate !== true) new Float32Array(rt.memory.buffer, c.ptr, needC).fill(0);
      return;
    }
    const flops = 2 * batch * m * n * k;
    const split = batch === 1 && rt.pooled && flops >= rt.parallelMinFlops && splitsByDepth(m, k, args.transA === true, args.transB === true, rt.threads);
    // Split by depth, one unit a 512-deep block; row groups (they change who sums a row, not how) give each thread
    // an even share: every block's when there are fewer blocks than two a thread, else the last blocks' past a
    // multiple of the thread count.
    const blocks = Math.ceil(k / KC);
    const panels = Math.ceil(m / 4);
    const groups = split ? Math.min(panels, Math.max(1, Math.ceil((2 * rt.threads) / blocks))) : 1;
    const tail = split && groups === 1 ? blocks % rt.threads : 0;
    const par = split || (rt.pooled && flops >= rt.parallelMinFlops && batch * panels >= rt.threads);
    // The later blocks' partial sums (allocated before the control block is written: growth may renew its view).
    const partial = split ? rt.heap.alloc((blocks - 1) * m * n) : null;
    try {
      const ctl = rt.job(OP_MATMUL, a, b, c, m, n);
      ctl[CTRL.BATCH] = batch;
      ctl[CTRL.K] = k;
      ctl[CTRL.SA] = sa;
      ctl[CTRL.SB] = sb;
      ctl[CTRL.TA] = args.transA === true ? 1 : 0;
      ctl[CTRL.TB] = args.transB === true ? 1 : 0;
      ctl[CTRL.ACC] = args.accumulate === true ? 1 : 0;
      ctl[P] = split ? 1 : 0;
      ctl[P + 1] = partial?.ptr ?? 0;
      ctl[P + 2] = 0;
      ctl[P + 3] = groups;
      ctl[P + 4] = tail;
      ctl[P + 5] = Math.min(panels, rt.threads);
      rt.launch(ctl, par);
    } finally {
      if (partial !== null) rt.heap.free(partial);
    }
  };
  const matmulArrays = (aIn: Float32Array, bIn: Float32Array, args: MatmulArrayArgs): Float32Array => {
    const a = rt.heap.alloc(aIn.length);
    const b = rt.heap.alloc(bIn.length);
    const c = rt.heap.alloc((args.batch ?? 1) * args.m * args.n);
    try {
      a.f32.set(aIn);
      b.f32.set(bIn);
      matmul({ ...args, a, b, c });
      return c.f32.slice();
    } finally {
      rt.heap.free(c);
      rt.heap.free(b);
      rt.heap.free(a);
    }
  };

  return { matmul, matmulArrays };
}
