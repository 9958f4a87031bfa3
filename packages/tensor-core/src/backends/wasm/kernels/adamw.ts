// The WASM runtime's AdamW step (assembly/fused.ts).
import { CTRL, OP_ADAMW, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

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
  /** The gradient is g·gradScale (an f32 product) before the step: a clip coefficient (default 1: g as it is). */
  gradScale?: number;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function adamwKernels(rt: RuntimeContext) {
  const adamw = (args: AdamWArgs): void => {
    rt.checkLive('adamw');
    const { p, g, m, v, pOut, mOut, vOut, n } = args;
    checkDim('n', n);
    if (n === 0) return;
    rt.checkBuffer('adamw', 'p', p, n);
    rt.checkBuffer('adamw', 'g', g, n);
    rt.checkBuffer('adamw', 'm', m, n);
    rt.checkBuffer('adamw', 'v', v, n);
    rt.checkBuffer('adamw', 'pOut', pOut, n);
    rt.checkBuffer('adamw', 'mOut', mOut, n);
    rt.checkBuffer('adamw', 'vOut', vOut, n);
    if (overlapsAny(pOut, p, g, m, v) || overlapsAny(mOut, p, g, m, v) || overlapsAny(vOut, p, g, m, v)) throw new Error('adamw: outputs must not overlap inputs');
    const ctl = rt.job(OP_ADAMW, p, g, m, 1, n); // n floats at N (M unused)
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
    ctl[CTRL.K] = bitsOf(args.gradScale ?? 1);
    rt.launch(ctl, rt.flatParallel(n));
  };

  return { adamw };
}
