// @bitskip/hadamard: the orthonormal fast Walsh–Hadamard transform, as typed-array code and a tensor-core op.
export { fwhtInPlace, isPowerOfTwo } from './fwht.js';
export { fwht, fwhtBlock } from './op.js';
export { DEFAULT_BACKEND_NAMES, GPUJS_BACKEND_NAMES, cpuFwhtKernel, fwhtKernel, isGpujsBackend, registerHadamardKernels } from './backends.js';
export type { GpujsKernelRunner } from './backends.js';
export type { FwhtOptions } from './op.js';
