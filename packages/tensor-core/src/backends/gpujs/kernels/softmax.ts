// The gpu.js backend's kernels. Row softmax and log-softmax with their backwards, from a per-row log-sum-exp (or dot) kernel and an elementwise one.
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kernelSource } from '../sources.js';
import { rowsOf, rowCol, lseKernel, rowSum } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function softmaxKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'softmax' | 'softmaxBackward' | 'logSoftmax' | 'logSoftmaxBackward'> {
  return {
    softmax: (x) => {
      const [rows, n] = rowsOf(x.shape);
      const lse = lseKernel(c, x, rows, n);
      const out = c.launch(kernelSource(['x', 'l'], `${rowCol(n)}\nreturn Math.exp(x[i] - l[r]);`), sizeOf(x.shape), 'float32', [x, c.tmp(lse)]);
      c.free(lse);
      return out;
    },
    softmaxBackward: (y, dy) => {
      const [rows, n] = rowsOf(y.shape);
      const dot = rowSum(c, ['y', 'dy'], [y, dy], rows, n, 'y[base + j] * dy[base + j]');
      const out = c.launch(kernelSource(['y', 'dy', 'dt'], `${rowCol(n)}\nreturn y[i] * (dy[i] - dt[r]);`), sizeOf(y.shape), 'float32', [y, dy, c.tmp(dot)]);
      c.free(dot);
      return out;
    },
    logSoftmax: (x) => {
      const [rows, n] = rowsOf(x.shape);
      const lse = lseKernel(c, x, rows, n);
      const out = c.launch(kernelSource(['x', 'l'], `${rowCol(n)}\nreturn x[i] - l[r];`), sizeOf(x.shape), 'float32', [x, c.tmp(lse)]);
      c.free(lse);
      return out;
    },
    logSoftmaxBackward: (y, dy) => {
      const [rows, n] = rowsOf(y.shape);
      const s = rowSum(c, ['dy'], [dy], rows, n, 'dy[base + j]');
      const out = c.launch(kernelSource(['y', 'dy', 'sm'], `${rowCol(n)}\nreturn dy[i] - Math.exp(y[i]) * sm[r];`), sizeOf(y.shape), 'float32', [y, dy, c.tmp(s)]);
      c.free(s);
      return out;
    },
  };
}
