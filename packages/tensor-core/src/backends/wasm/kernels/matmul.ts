// The WASM runtime's matmul: C (+)= op(A)·op(B) in every transposition (NN, NT, TN), batched, with per-operand batch strides (0 broadcasts); assembly/matmul.ts.
import { CTRL, OP_MATMUL } from '../ctrl.js';
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
    const par = rt.pooled && flops >= rt.parallelMinFlops && batch * Math.ceil(m / 4) >= rt.threads;
    const ctl = rt.job(OP_MATMUL, a, b, c, m, n);
    ctl[CTRL.BATCH] = batch;
    ctl[CTRL.K] = k;
    ctl[CTRL.SA] = sa;
    ctl[CTRL.SB] = sb;
    ctl[CTRL.TA] = args.transA === true ? 1 : 0;
    ctl[CTRL.TB] = args.transB === true ? 1 : 0;
    ctl[CTRL.ACC] = args.accumulate === true ? 1 : 0;
    rt.launch(ctl, par);
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
