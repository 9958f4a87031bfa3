// @bitskip/hadamard: the orthonormal fast Walsh–Hadamard transform, as typed-array code and a tensor-core op.
export { fwhtInPlace, isPowerOfTwo } from './fwht.js';
export { cpuFwhtKernel, fwht, fwhtBlock } from './op.js';
export type { FwhtOptions } from './op.js';
