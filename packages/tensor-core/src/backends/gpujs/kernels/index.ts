// The gpu.js backend's whole kernel table, one kernel family per file, built over the backend's launcher.
import type { BuiltinKernels } from '../../../backend.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { matmulKernels } from './matmul.js';
import { copyKernels } from './copy.js';
import { gatherKernels } from './gather.js';
import { softmaxKernels } from './softmax.js';
import { crossEntropyKernels } from './cross-entropy.js';
import { rmsNormKernels } from './rms-norm.js';
import { ropeKernels } from './rope.js';
import { adamwKernels } from './adamw.js';
import type { GpujsKernelContext } from './context.js';

export type { GpujsKernelContext } from './context.js';
export { ONE } from './context.js';

export function gpujsKernels(c: GpujsKernelContext): BuiltinKernels {
  return {
    ...elementwiseKernels(c),
    ...reduceKernels(c),
    ...matmulKernels(c),
    ...copyKernels(c),
    ...gatherKernels(c),
    ...softmaxKernels(c),
    ...crossEntropyKernels(c),
    ...rmsNormKernels(c),
    ...ropeKernels(c),
    ...adamwKernels(c),
  };
}
