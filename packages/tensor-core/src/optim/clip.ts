// Global-norm gradient clipping (as torch.nn.utils.clip_grad_norm_): scale all grads by min(1, max/(norm+1e-6)).
import { keep, noGrad, tidy } from '../engine.js';
import { scalar } from '../ops/create.js';
import { add, div, minimum, mul, sqrt } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { getBackend } from '../backends/builtin.js';
import type { Tensor } from '../tensor.js';

/** Clips on the device and returns the pre-clip global norm as a scalar tensor (no host read). */
export function clipGradNormTensor(params: readonly Tensor[], maxNorm: number): Tensor {
  return noGrad(() =>
    tidy(() => {
      const withGrad = params.filter((p) => p.grad !== null);
      if (withGrad.length === 0) return scalar(0, 'float32', params[0]?.backend ?? getBackend());
      let sq: Tensor | null = null;
      for (const p of withGrad) {
        const g = p.grad!;
        const s = sum(mul(g, g));
        sq = sq === null ? s : add(sq, s);
      }
      const norm = sqrt(sq!);
      const coef = minimum(div(maxNorm, add(norm, 1e-6)), 1);
      for (const p of withGrad) {
        const old = p.grad!;
        p.grad = keep(mul(old, coef));
        old.dispose();
      }
      return norm;
    }),
  );
}

/** Clip and return the pre-clip global norm as a number (needs a backend with readSync). */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const n = clipGradNormTensor(params, maxNorm);
  const v = n.itemSync();
  n.dispose();
  return v;
}
