// The WASM runtime's cross-entropy forward (per-row log-sum-exp) and backward (assembly/fused.ts).
import { OP_CE_FORWARD, OP_CE_BACKWARD, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

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

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function crossEntropyKernels(rt: RuntimeContext) {
  const crossEntropy = (args: CrossEntropyArgs): void => {
    const { logits, targets, lse, rows, cols } = args;
    if (!rt.rowsReady('crossEntropy', rows, cols)) return;
    rt.checkBuffer('crossEntropy', 'logits', logits, rows * cols);
    rt.checkBuffer('crossEntropy', 'targets', targets, rows);
    rt.checkBuffer('crossEntropy', 'lse', lse, rows);
    if (overlapsAny(lse, logits, targets)) throw new Error('crossEntropy: lse must not overlap logits or targets');
    const ctl = rt.job(OP_CE_FORWARD, logits, targets, lse, rows, cols);
    ctl[P] = args.ignoreIndex | 0;
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };

  const crossEntropyBackward = (args: CrossEntropyBackwardArgs): void => {
    const { logits, targets, lse, dlogits, rows, cols } = args;
    if (!rt.rowsReady('crossEntropyBackward', rows, cols)) return;
    rt.checkBuffer('crossEntropyBackward', 'logits', logits, rows * cols);
    rt.checkBuffer('crossEntropyBackward', 'targets', targets, rows);
    rt.checkBuffer('crossEntropyBackward', 'lse', lse, rows);
    rt.checkBuffer('crossEntropyBackward', 'dlogits', dlogits, rows * cols);
    if (overlapsAny(dlogits, logits, targets, lse)) throw new Error('crossEntropyBackward: dlogits must not overlap an input');
    const ctl = rt.job(OP_CE_BACKWARD, logits, targets, lse, rows, cols);
    ctl[P] = args.ignoreIndex | 0;
    ctl[P + 1] = dlogits.ptr;
    ctl[P + 2] = bitsOf(args.scale);
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };

  return { crossEntropy, crossEntropyBackward };
}
