// The gpu.js backend's kernels. Copies: strided copy (permute, slice, broadcast) and concat.
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { decompose, kernelSource, lit } from '../sources.js';
import type { GpujsKernelContext } from './context.js';

export function copyKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'stridedCopy' | 'concat'> {
  return {
    stridedCopy: (x, outShape, strides, offset) => {
      const off = decompose('i', outShape, [strides], ['ix'], [lit(offset)]);
      return c.launch(kernelSource(['x'], `${off}\nreturn x[ix];`), sizeOf(outShape), x.dtype, [x]);
    },
    concat: (xs, axis, outShape) => {
      const dtype = xs[0]?.dtype ?? 'float32';
      const parts = xs.filter((x) => sizeOf(x.shape) > 0);
      const total = sizeOf(outShape);
      if (parts.length === 0) return c.fill(total, 0);
      const big = outShape[axis]!;
      const inner = sizeOf(outShape.slice(axis + 1));
      const lines = [`const o = Math.floor((i + 0.5) / ${big * inner});`, `const rest = i - o * ${big * inner};`, `const ax = Math.floor((rest + 0.5) / ${inner});`, `const inn = rest - ax * ${inner};`];
      let start = 0;
      parts.forEach((x, k) => {
        const ak = x.shape[axis]!;
        const read = `return x${k}[(o * ${ak} + (ax - ${start})) * ${inner} + inn];`;
        lines.push(k === parts.length - 1 ? read : `if (ax < ${start + ak}) { ${read} }`);
        start += ak;
      });
      const src = kernelSource(
        parts.map((_, k) => `x${k}`),
        lines.join('\n'),
      );
      return c.launch(src, total, dtype, parts);
    },
  };
}
