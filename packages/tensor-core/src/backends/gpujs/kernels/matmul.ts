// The gpu.js backend's kernels. Batched matmul in every transposition, one output element per thread; the inner product is matmulLoop (sources.ts).
import type { BuiltinKernels } from '../../../backend.js';
import { broadcastStrides, sizeOf } from '../../../shape.js';
import { decompose, kernelSource, matmulLoop } from '../sources.js';
import { ONE } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function matmulKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'matmul'> {
  return {
    matmul: (a, b, transA, transB, outShape) => {
      const r = outShape.length;
      const m = outShape[r - 2]!;
      const n = outShape[r - 1]!;
      const k = transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
      const total = sizeOf(outShape);
      if (k === 0 || sizeOf(a.shape) === 0 || sizeOf(b.shape) === 0) return c.fill(total, 0);
      const batchShape = outShape.slice(0, r - 2);
      const aSt = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * m * k);
      const bSt = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * k * n);
      const aRow = transA ? 1 : k;
      const aP = transA ? m : 1;
      const bCol = transB ? k : 1;
      const bP = transB ? 1 : n;
      const off = decompose('i', outShape, [
        [...aSt, aRow, 0],
        [...bSt, 0, bCol],
      ], ['ia', 'ib']);
      const body = `${off}\n${matmulLoop(c.matmulKernel, k, aP, bP)}\nreturn s;`;
      return c.launch(kernelSource(['a', 'b', 'one'], body), total, 'float32', [a, b], [ONE]);
    },
  };
}
