// The gpu.js backend's kernels. Rotary embedding (rotate-half), forward or inverse.
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kernelSource } from '../sources.js';
import { rowCol } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function ropeKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'rope'> {
  return {
    rope: (x, cos, sin, inverse) => {
      const r = x.shape.length;
      const t = x.shape[r - 2]!;
      const d = x.shape[r - 1]!;
      const h = d / 2;
      const sg = inverse ? -1 : 1;
      const body = [
        rowCol(d),
        `const p = r - Math.floor((r + 0.5) / ${t}) * ${t};`,
        `if (col < ${h}) {`,
        `  const c1 = cs[p * ${h} + col];`,
        `  const s1 = ${sg} * sn[p * ${h} + col];`,
        `  return x[i] * c1 - x[i + ${h}] * s1;`,
        '}',
        `const c2 = cs[p * ${h} + col - ${h}];`,
        `const s2 = ${sg} * sn[p * ${h} + col - ${h}];`,
        `return x[i] * c2 + x[i - ${h}] * s2;`,
      ].join('\n');
      return c.launch(kernelSource(['x', 'cs', 'sn'], body), sizeOf(x.shape), 'float32', [x, cos, sin]);
    },
  };
}
