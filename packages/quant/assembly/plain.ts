// The plain-SIMD build (runs wherever WebAssembly SIMD does): fp32 baseline + ternary plain kernel.
export { quantizeAbsmaxRows, ternaryPlain } from './common';
export { matmulF32 } from './f32';
