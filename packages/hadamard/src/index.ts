// @bitskip/hadamard: the orthonormal fast Walsh–Hadamard transform, as typed-array code and a tensor-core op.
export { fwhtInPlace, isPowerOfTwo } from './fwht.js';
export { fwht, fwhtBlock } from './op.js';
export { FWHT_KERNELS, cpuFwhtKernel, fwhtKernel, gpujsFwhtKernel, registerHadamardKernels, wasmFwhtKernel } from './backends.js';
export type { FwhtOptions } from './op.js';
