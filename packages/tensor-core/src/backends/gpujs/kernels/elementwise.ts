// The gpu.js backend's kernels. Elementwise kernels: unary and binary maps (broadcast through strides), where, cast.
import type { BuiltinKernels, BinaryOp, UnaryOp } from '../../../backend.js';
import { broadcastStrides, sizeOf } from '../../../shape.js';
import { binaryBody, kernelSource, unaryBody } from '../sources.js';
import { offsets } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function elementwiseKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'unary' | 'binary' | 'where' | 'cast'> {
  return {
    unary: (x, op: UnaryOp) => c.launch(kernelSource(['x'], `const v = x[i];\n${unaryBody(op)}`), sizeOf(x.shape), 'float32', [x]),
    binary: (a, b, op: BinaryOp, outShape) => {
      const off = offsets(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)], ['ia', 'ib']);
      const src = kernelSource(['a', 'b'], `${off}\nconst av = a[ia];\nconst bv = b[ib];\n${binaryBody(op)}`);
      return c.launch(src, sizeOf(outShape), 'float32', [a, b]);
    },
    where: (cond, a, b, outShape) => {
      const st = [cond, a, b].map((t) => broadcastStrides(t.shape, outShape));
      const off = offsets(outShape, st, ['ic', 'ia', 'ib']);
      const src = kernelSource(['cd', 'a', 'b'], `${off}\nif (cd[ic] != 0) { return a[ia]; }\nreturn b[ib];`);
      return c.launch(src, sizeOf(outShape), 'float32', [cond, a, b]);
    },
    cast: (x, dtype) => {
      const op = dtype === 'int32' && x.dtype !== 'int32' ? 'trunc' : 'copy';
      return c.launch(kernelSource(['x'], `const v = x[i];\n${unaryBody(op)}`), sizeOf(x.shape), dtype, [x]);
    },
  };
}
