// @bitskip/tensor-core: tensors, autograd and backends for BitSkip-TS.
export { Rng, splitmix64 } from './rng.js';
// WASM SIMD matmul, single-threaded and free of Node APIs; threads: @bitskip/tensor-core/wasm.
export { createWasmMatmulCore, relaxedSimdSupported, wasmSimdSupported } from './backends/wasm/matmul.js';
export type { MatmulArgs, MatmulArrayArgs, SoftmaxArgs, SoftmaxBackwardArgs, WasmBuffer, WasmMatmul, WasmMatmulInfo, WasmMatmulOptions } from './backends/wasm/matmul.js';
