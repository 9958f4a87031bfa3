// AdamW (Loshchilov & Hutter, 2019) with PyTorch semantics: p -= lr*wd*p, then the bias-corrected Adam update.
import type { AdamWHyper } from '../../../backend.js';
import type { FloatArray, NumArray } from './types.js';

/** Writes the new parameter, first and second moments into pOut, mOut, vOut (may alias the inputs). */
export function adamwF(p: NumArray, g: NumArray, m: NumArray, v: NumArray, h: AdamWHyper, pOut: FloatArray, mOut: FloatArray, vOut: FloatArray): void {
  const { lr, beta1, beta2, eps, weightDecay, bc1, bc2 } = h;
  // The clip coefficient as the f32 a scale tensor holds, and each scaled gradient an f32 product (a mul kernel's).
  const scale = Math.fround(h.gradScale ?? 1);
  const decay = 1 - lr * weightDecay;
  const sqrtBc2 = Math.sqrt(bc2);
  const stepSize = lr / bc1;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const gi = scale === 1 ? g[i]! : Math.fround(g[i]! * scale);
    const mi = beta1 * m[i]! + (1 - beta1) * gi;
    const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}
