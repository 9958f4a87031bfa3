// @bitskip/tensor-core/wasm: the WASM SIMD matmul with worker_threads (Node). The main entry stays free of
// node: imports so that it bundles for the browser; this subpath adds the thread pool.
import { availableParallelism } from 'node:os';
import { createWasmMatmulCore } from './backends/wasm/matmul.js';
import type { WasmMatmul, WasmMatmulOptions } from './backends/wasm/matmul.js';
import { createNodePool } from './backends/wasm/pool-node.js';

export { relaxedSimdSupported, wasmSimdSupported, PARALLEL_MIN_FLOPS, PARALLEL_MIN_ELEMENTS } from './backends/wasm/matmul.js';
export type { MatmulArgs, MatmulArrayArgs, SoftmaxArgs, SoftmaxBackwardArgs, WasmBuffer, WasmMatmul, WasmMatmulInfo, WasmMatmulOptions, WasmMemory } from './backends/wasm/matmul.js';
export { WasmHeap, sizeClass, MAX_PAGES } from './backends/wasm/memory.js';

/**
 * Create a WASM SIMD matmul: `threads` (default: all cores; 1 runs inline with no workers),
 * `relaxed` ('auto' by default: the FMA build where the host validates it).
 */
export async function createWasmMatmul(options: Omit<WasmMatmulOptions, 'pool'> = {}): Promise<WasmMatmul> {
  const threads = options.threads ?? availableParallelism();
  return createWasmMatmulCore({ ...options, threads, pool: createNodePool });
}
