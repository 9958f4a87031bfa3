// @bitskip/tensor-core/cpu-kernels: the cpu backend's kernels as plain functions over typed arrays (Float32Array,
// Float64Array, Int32Array), writing into caller-allocated outputs: for other backends' fallbacks, reference
// checks and benchmarks (matmulF32, matmulNaiveF64, softmaxForward, ...). Browser-safe.
export * from './backends/cpu/kernels/index.js';
