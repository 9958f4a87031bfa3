// Cross-entropy over logits, fused and numerically stable (log-sum-exp), with an ignore index.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';
import { reshape } from './layout.js';

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped; the mean is over the others (PyTorch default -100). */
  ignoreIndex?: number;
}

/** Mean cross-entropy of logits (..., V) against int32 targets (...); a scalar. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const b = checkInputs('crossEntropy', [logits, targets]);
  checkFloat('crossEntropy', [logits]);
  if (targets.dtype !== 'int32') {
    throw new Error(`crossEntropy: targets ${fmtShape(targets.shape)} have dtype ${targets.dtype}, expected int32`);
  }
  const v = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (v === undefined || targets.rank !== lead.length || lead.some((d, i) => d !== targets.shape[i])) {
    throw new Error(
      `crossEntropy: logits ${fmtShape(logits.shape)} need targets of shape ${fmtShape(lead)}, got ${fmtShape(targets.shape)}`,
    );
  }
  if (b.readSync !== undefined) {
    for (const t of b.readSync(targets.id)) {
      if (t !== ignoreIndex && (t < 0 || t >= v)) throw new Error(`crossEntropy: target ${t} out of range [0, ${v})`);
    }
  }
  // (..., V) -> (N, V); (...) -> (N)
  const l2 = reshape(logits, [-1, v]);
  const t1 = reshape(targets, [-1]);
  const { loss, lse } = getKernel(b, 'crossEntropy')(l2, t1, ignoreIndex);
  const lseT = new Tensor(newRef(b, lse), [l2.shape[0]!], 'float32', null, false);
  const y = record('crossEntropy', [l2, t1], loss, [], 'float32', {
    save: [l2, t1, lseT],
    backward: (dy, [sl, st, sl2]) => [
      record('crossEntropyBackward', [sl!], getKernel(dy.backend, 'crossEntropyBackward')(sl!, st!, sl2!, dy, ignoreIndex), sl!.shape, 'float32'),
      null,
    ],
  });
  lseT.dispose();
  l2.dispose();
  t1.dispose();
  return y;
}
