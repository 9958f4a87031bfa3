// The gpu.js backend's kernels. Reductions over axes: sum (Kahan-compensated float32) and max.
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf, stridesOf } from '../../../shape.js';
import { decompose, kahanAdd, kernelSource } from '../sources.js';
import { ONE } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function reduceKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'reduce'> {
  return {
    reduce: (x, op, axes) => {
      const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const n = sizeOf(outShape);
      const xs = stridesOf(x.shape);
      const red = axes.filter((a) => x.shape[a]! > 1);
      if (sizeOf(x.shape) === 0) return c.fill(n, op === 'sum' ? 0 : -3.4028234663852886e38);
      const base = decompose('i', outShape, [xs], ['ib']);
      const open = red.map((a, k) => `for (let j${k} = 0; j${k} < ${x.shape[a]}; j${k}++) {`).join('\n');
      const close = red.map(() => '}').join('');
      const idx = ['ib', ...red.map((a, k) => `j${k} * ${xs[a]}`)].join(' + ');
      const body =
        op === 'sum'
          ? `${base}\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\n${open}\n${kahanAdd(`x[${idx}]`)}\n${close}\nreturn s;`
          : `${base}\nlet m = x[ib];\n${open}\nconst xv = x[${idx}];\nif (xv > m) { m = xv; }\n${close}\nreturn m;`;
      return c.launch(kernelSource(['x', 'one'], body), n, 'float32', [x], [ONE]);
    },
  };
}
