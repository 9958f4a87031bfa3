// The WASM runtime's AdamW step (assembly/fused.ts).
import { CTRL, OP_ADAMW, OP_ADAMW_MANY, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, launchTable, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/** One tensor of an AdamW step: its buffers (outputs may not overlap inputs), length and weight decay. */
export interface AdamWTensor {
  p: WasmBuffer;
  g: WasmBuffer;
  m: WasmBuffer;
  v: WasmBuffer;
  pOut: WasmBuffer;
  mOut: WasmBuffer;
  vOut: WasmBuffer;
  n: number;
  weightDecay: number;
}

/** The hyperparameters every tensor of a step shares. */
export interface AdamWShared {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − beta1^t, 1 − beta2^t. */
  bc1: number;
  bc2: number;
  /** The gradient is g·gradScale (an f32 product) before the step: a clip coefficient (default 1: g as it is). */
  gradScale?: number;
}

/** One AdamW step over n floats (PyTorch semantics, as the cpu kernel). */
export interface AdamWArgs extends AdamWTensor, AdamWShared {}

/** A multi-tensor AdamW step: the shared hyperparameters and the tensors, each with its weight decay. */
export interface AdamWManyArgs extends AdamWShared {
  tensors: readonly AdamWTensor[];
}

/** Words of a table entry (assembly/fused.ts AW_WORDS): p, g, m, v, p', m', v', n, decay. Units: 4,096-element blocks. */
const AW_WORDS = 9;

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function adamwKernels(rt: RuntimeContext) {
  /** A tensor's buffers hold n floats each and its outputs overlap no input (errors name tensors[i] of a many-call). */
  const checkTensor = (op: string, x: AdamWTensor, i?: number): void => {
    const { p, g, m, v, pOut, mOut, vOut, n } = x;
    for (const k of ['p', 'g', 'm', 'v', 'pOut', 'mOut', 'vOut'] as const) rt.checkBuffer(op, i === undefined ? k : `tensors[${i}].${k}`, x[k], n);
    if (overlapsAny(pOut, p, g, m, v) || overlapsAny(mOut, p, g, m, v) || overlapsAny(vOut, p, g, m, v)) {
      throw new Error(`${op}: ${i === undefined ? '' : `tensors[${i}]: `}outputs must not overlap inputs`);
    }
  };

  const adamw = (args: AdamWArgs): void => {
    rt.checkLive('adamw');
    const { p, g, m, v, pOut, mOut, vOut, n } = args;
    checkDim('n', n);
    if (n === 0) return;
    checkTensor('adamw', args);
    const ctl = rt.job(OP_ADAMW, p, g, m, 1, n); // n floats at N (M unused)
    ctl[P] = v.ptr;
    ctl[P + 1] = pOut.ptr;
    ctl[P + 2] = mOut.ptr;
    ctl[P + 3] = vOut.ptr;
    ctl[P + 8] = bitsOf(1 - args.lr * args.weightDecay);
    hyper(ctl, args);
    rt.launch(ctl, rt.flatParallel(n));
  };

  /** The hyperparameter slots both calls share (assembly/fused.ts adamwRange), decay aside. */
  function hyper(ctl: Int32Array, args: AdamWShared): void {
    ctl[P + 4] = bitsOf(args.beta1);
    ctl[P + 5] = bitsOf(1 - args.beta1);
    ctl[P + 6] = bitsOf(args.beta2);
    ctl[P + 7] = bitsOf(1 - args.beta2);
    ctl[P + 9] = bitsOf(args.lr / args.bc1);
    ctl[P + 10] = bitsOf(1 / Math.sqrt(args.bc2));
    ctl[P + 11] = bitsOf(args.eps);
    ctl[CTRL.K] = bitsOf(args.gradScale ?? 1);
  }

  /**
   * Every tensor's AdamW step in one call, its elements split across the pool as one flat range (a step of many small
   * tensors, each below the pool's threshold alone, then uses both cores): the bits of one `adamw` call per tensor.
   */
  const adamwMany = (args: AdamWManyArgs): void => {
    rt.checkLive('adamwMany');
    const ts = args.tensors.filter((x) => x.n > 0);
    let total = 0;
    for (const [i, x] of ts.entries()) {
      checkDim(`tensors[${i}].n`, x.n);
      checkTensor('adamwMany', x, i);
      total += x.n;
    }
    launchTable(
      rt,
      OP_ADAMW_MANY,
      ts.length,
      AW_WORDS,
      (i) => Math.ceil(ts[i]!.n / 4096),
      (w, i, o) => {
        const x = ts[i]!;
        w[o] = x.p.ptr;
        w[o + 1] = x.g.ptr;
        w[o + 2] = x.m.ptr;
        w[o + 3] = x.v.ptr;
        w[o + 4] = x.pOut.ptr;
        w[o + 5] = x.mOut.ptr;
        w[o + 6] = x.vOut.ptr;
        w[o + 7] = x.n;
        w[o + 8] = bitsOf(1 - args.lr * x.weightDecay);
      },
      null,
      (ctl) => {
        hyper(ctl, args);
        return rt.flatParallel(total);
      },
    );
  };

  return { adamw, adamwMany };
}
