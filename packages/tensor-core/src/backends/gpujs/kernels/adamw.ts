// The gpu.js backend's kernels. One AdamW step: m, v, then the parameter, hyperparameters as a host array (no recompiles when they change).
import type { BuiltinKernels, AdamWHyper } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kernelSource } from '../sources.js';
import type { GpujsKernelContext } from './context.js';

export function adamwKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'adamw'> {
  return {
    adamw: (param, grad, m, v, hyper: AdamWHyper) => {
      const n = sizeOf(param.shape);
      const { lr, beta1, beta2, eps, weightDecay, bc1, bc2 } = hyper;
      // [beta1, 1-beta1, beta2, 1-beta2, eps, decay, stepSize, sqrt(bc2), gradScale] as a runtime array: no recompiles.
      const hp = new Float32Array([beta1, 1 - beta1, beta2, 1 - beta2, eps, 1 - lr * weightDecay, lr / bc1, Math.sqrt(bc2), hyper.gradScale ?? 1]);
      // The gradient scaled first (an f32 product, as a mul kernel would) where a clip coefficient is given.
      const gi = hyper.gradScale === undefined || hyper.gradScale === 1 ? 'g[i]' : '(g[i] * hp[8])';
      const mExpr = `hp[0] * m[i] + hp[1] * ${gi}`;
      const vExpr = `hp[2] * v[i] + hp[3] * ${gi} * ${gi}`;
      const m2 = c.launch(kernelSource(['g', 'm', 'hp'], `return ${mExpr};`), n, 'float32', [grad, m], [hp]);
      const v2 = c.launch(kernelSource(['g', 'v', 'hp'], `return ${vExpr};`), n, 'float32', [grad, v], [hp]);
      const p2 = c.launch(
        kernelSource(['p', 'm2', 'v2', 'hp'], 'const mi = m2[i];\nconst vi = v2[i];\nreturn p[i] * hp[5] - (hp[6] * mi) / (Math.sqrt(vi) / hp[7] + hp[4]);'),
        n,
        'float32',
        [param, c.tmp(m2), c.tmp(v2)],
        [hp],
      );
      return { param: p2, m: m2, v: v2 };
    },
  };
}
