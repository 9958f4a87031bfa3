// Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_): scale all grads by min(1, max/(norm+1e-6)).
// clipGradNormTensor rescales the gradients; clipCoefficient computes the same norm and coefficient and leaves the
// gradients alone, for an optimizer that applies the coefficient inside its update (AdamW.step({ gradScale })):
// the same bits, without a pass over every gradient.
import { getKernel, hasKernel } from '../backend.js';
import { keep, noGrad, tidy } from '../engine.js';
import { scalar } from '../ops/create.js';
import { add, div, minimum, mul, sqrt } from '../ops/elementwise.js';
import { sumSquares } from '../ops/reduce.js';
import { getBackend } from '../backends/builtin.js';
import { Tensor, newRef } from '../tensor.js';

/**
 * The pre-clip global norm and the clip coefficient min(1, maxNorm / (norm + 1e-6)), both scalar tensors (no host
 * read); the gradients are not touched. With no gradients: norm 0, coefficient 1.
 */
export function clipCoefficient(params: readonly Tensor[], maxNorm: number): { norm: Tensor; coef: Tensor } {
  return noGrad(() =>
    tidy(() => {
      const withGrad = params.filter((p) => p.grad !== null);
      const be = params[0]?.backend ?? getBackend();
      if (withGrad.length === 0) return { norm: scalar(0, 'float32', be), coef: scalar(1, 'float32', be) };
      let sq: Tensor | null = null;
      if (hasKernel(be, 'sumSquaresMany') && withGrad.every((p) => p.grad!.backend === be && p.grad!.dtype === 'float32')) {
        // Every gradient in one kernel call: the bits of the loop below.
        sq = new Tensor(newRef(be, getKernel(be, 'sumSquaresMany')(withGrad.map((p) => p.grad!))), [], 'float32', null);
      } else {
        for (const p of withGrad) {
          const s = sumSquares(p.grad!);
          sq = sq === null ? s : add(sq, s);
        }
      }
      const norm = sqrt(sq!);
      return { norm, coef: minimum(div(maxNorm, add(norm, 1e-6)), 1) };
    }),
  );
}

/** Clips on the device and returns the pre-clip global norm as a scalar tensor (no host read). */
export function clipGradNormTensor(params: readonly Tensor[], maxNorm: number): Tensor {
  const { norm, coef } = clipCoefficient(params, maxNorm);
  noGrad(() => {
    for (const p of params) {
      const old = p.grad;
      if (old === null) continue;
      p.grad = keep(mul(old, coef));
      old.dispose();
    }
  });
  coef.dispose();
  return norm;
}

/** Clip and return the pre-clip global norm as a number (needs a backend with readSync). */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const n = clipGradNormTensor(params, maxNorm);
  const v = n.itemSync();
  n.dispose();
  return v;
}
