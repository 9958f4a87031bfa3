// The gpu.js backend's kernels. gather (embedding lookups) and its adjoint scatterAdd (compensated sums over matching indices).
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kahanAdd, kernelSource } from '../sources.js';
import { ONE } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function gatherKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'gather' | 'scatterAdd'> {
  return {
    gather: (x, indices, axis) => {
      const outer = sizeOf(x.shape.slice(0, axis));
      const big = x.shape[axis]!;
      const inner = sizeOf(x.shape.slice(axis + 1));
      const mm = sizeOf(indices.shape);
      const body = [
        `const o = Math.floor((i + 0.5) / ${mm * inner});`,
        `const rest = i - o * ${mm * inner};`,
        `const mi = Math.floor((rest + 0.5) / ${inner});`,
        `const inn = rest - mi * ${inner};`,
        `return x[(o * ${big} + ind[mi]) * ${inner} + inn];`,
      ].join('\n');
      return c.launch(kernelSource(['x', 'ind'], body), outer * mm * inner, x.dtype, [x, indices]);
    },
    scatterAdd: (upd, indices, axis, outShape) => {
      const big = outShape[axis]!;
      const inner = sizeOf(outShape.slice(axis + 1));
      const mm = sizeOf(indices.shape);
      const total = sizeOf(outShape);
      if (mm === 0) return c.fill(total, 0);
      const body = [
        `const o = Math.floor((i + 0.5) / ${big * inner});`,
        `const rest = i - o * ${big * inner};`,
        `const jx = Math.floor((rest + 0.5) / ${inner});`,
        `const inn = rest - jx * ${inner};`,
        'let s = 0;',
        'let comp = 0;',
        'const o1 = one[0];',
        `for (let mi = 0; mi < ${mm}; mi++) { if (ind[mi] == jx) { ${kahanAdd(`u[(o * ${mm} + mi) * ${inner} + inn]`)} } }`,
        'return s;',
      ].join('\n');
      return c.launch(kernelSource(['u', 'ind', 'one'], body), total, 'float32', [upd, indices], [ONE]);
    },
  };
}
