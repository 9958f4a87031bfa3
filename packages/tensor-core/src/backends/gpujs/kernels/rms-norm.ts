// The gpu.js backend's kernels. RMSNorm forward (per-row rstd, then the scaled output) and backward (dx, and dgain summed over rows).
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kahanAdd, kernelSource } from '../sources.js';
import { ONE, rowsOf, rowCol, rowSum } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function rmsNormKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'rmsNorm' | 'rmsNormBackward'> {
  return {
    rmsNorm: (x, gain, eps) => {
      const [rows, n] = rowsOf(x.shape);
      const ss = rowSum(c, ['x'], [x], rows, n, 'x[base + j] * x[base + j]');
      const rstd = c.launch(kernelSource(['s', 'hp'], `return 1 / Math.sqrt(s[i] / ${n} + hp[0]);`), rows, 'float32', [c.tmp(ss)], [new Float32Array([eps])]);
      c.free(ss);
      const y = c.launch(kernelSource(['x', 'g', 'rs'], `${rowCol(n)}\nreturn x[i] * rs[r] * g[col];`), sizeOf(x.shape), 'float32', [x, gain, c.tmp(rstd)]);
      return { y, rstd };
    },
    rmsNormBackward: (x, gain, rstd, dy) => {
      const [rows, n] = rowsOf(x.shape);
      const dot = c.launch(
        kernelSource(
          ['x', 'g', 'rs', 'dy', 'one'],
          `const base = i * ${n};\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < ${n}; j++) { ${kahanAdd('dy[base + j] * g[j] * x[base + j] * rs[i]')} }\nreturn s / ${n};`,
        ),
        rows,
        'float32',
        [x, gain, rstd, dy],
        [ONE],
      );
      const dx = c.launch(
        kernelSource(['x', 'g', 'rs', 'dy', 'mn'], `${rowCol(n)}\nconst q = rs[r];\nreturn q * (dy[i] * g[col] - x[i] * q * mn[r]);`),
        sizeOf(x.shape),
        'float32',
        [x, gain, rstd, dy, c.tmp(dot)],
      );
      c.free(dot);
      const dgain =
        rows === 0
          ? c.fill(n, 0)
          : c.launch(
              kernelSource(
                ['x', 'rs', 'dy', 'one'],
                `let s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let r = 0; r < ${rows}; r++) { ${kahanAdd(`dy[r * ${n} + i] * x[r * ${n} + i] * rs[r]`)} }\nreturn s;`,
              ),
              n,
              'float32',
              [x, rstd, dy],
              [ONE],
            );
      return { dx, dgain };
    },
  };
}
