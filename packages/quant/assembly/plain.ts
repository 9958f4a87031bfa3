// The plain-SIMD build (runs wherever WebAssembly SIMD does): fp32 baseline + ternary plain kernel.
export { matmulF32, quantizeAbsmaxRows, ternaryPlain } from './common';
