// The WASM runtime's fused SwiGLU, h = silu(g)·u, and its gradients (assembly/swiglu.ts): one pass each, bit for
// bit the composite's arithmetic (sigmoid, then multiplies).
import { OP_SWIGLU, OP_SWIGLU_BACKWARD, P } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/** h = g·σ(g)·u over n floats; h must not overlap g or u. */
export interface SwigluArgs {
  g: WasmBuffer;
  u: WasmBuffer;
  h: WasmBuffer;
  n: number;
}

/** dg and du of h = silu(g)·u from dh, n floats each; the outputs overlap no input and not each other. */
export interface SwigluBackwardArgs {
  g: WasmBuffer;
  u: WasmBuffer;
  dh: WasmBuffer;
  dg: WasmBuffer;
  du: WasmBuffer;
  n: number;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function swigluKernels(rt: RuntimeContext) {
  const swiglu = (args: SwigluArgs): void => {
    rt.checkLive('swiglu');
    const { g, u, h, n } = args;
    checkDim('n', n);
    if (n === 0) return;
    rt.checkBuffer('swiglu', 'g', g, n);
    rt.checkBuffer('swiglu', 'u', u, n);
    rt.checkBuffer('swiglu', 'h', h, n);
    if (overlapsAny(h, g, u)) throw new Error('swiglu: h must not overlap g or u');
    const ctl = rt.job(OP_SWIGLU, g, u, h, 1, n); // n floats at N (M unused)
    rt.launch(ctl, rt.flatParallel(n));
  };

  const swigluBackward = (args: SwigluBackwardArgs): void => {
    rt.checkLive('swigluBackward');
    const { g, u, dh, dg, du, n } = args;
    checkDim('n', n);
    if (n === 0) return;
    for (const [name, buf] of [['g', g], ['u', u], ['dh', dh], ['dg', dg], ['du', du]] as const) rt.checkBuffer('swigluBackward', name, buf, n);
    if (overlapsAny(dg, g, u, dh, du) || overlapsAny(du, g, u, dh)) throw new Error('swigluBackward: dg and du must overlap no input and not each other');
    const ctl = rt.job(OP_SWIGLU_BACKWARD, g, u, dh, 1, n);
    ctl[P] = dg.ptr;
    ctl[P + 1] = du.ptr;
    rt.launch(ctl, rt.flatParallel(n));
  };

  return { swiglu, swigluBackward };
}
