// @bitskip/hadamard: the orthonormal fast Walsh–Hadamard transform.
export { fwhtInPlace, isPowerOfTwo } from './fwht.js';
