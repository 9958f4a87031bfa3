// @bitskip/tensor-core/wasm: the wasm backend with worker_threads (Node), and the WASM runtime's raw kernel API
// (createWasmMatmul, MatmulArgs, WasmBuffer, ...: internals the backend is built on, for benchmarks and tests). The
// main entry stays free of node: imports so that it bundles for the browser; this subpath adds the thread pool
// (also usable on its own: createWasmWorkerPool runs any module's export on worker_threads over a shared memory).
import { availableParallelism } from 'node:os';
import { DEFAULT_WORKER_SPIN_MICROS, createWasmMatmulCore } from './backends/wasm/runtime.js';
import type { WasmRuntime, WasmMatmulOptions } from './backends/wasm/runtime.js';
import { createNodePool } from './backends/wasm/pool-node.js';
import type { WasmBackend } from './backends/wasm/backend.js';
import { initWasmBackendWith } from './backends/wasm/register.js';
import type { WasmBackendOptions } from './backends/wasm/register.js';

export { WasmBackend, WASM_FALLBACK_KERNELS, WASM_KERNELS } from './backends/wasm/backend.js';
export type { WasmBackendInfo } from './backends/wasm/backend.js';
export type { WasmBackendOptions } from './backends/wasm/register.js';

export { createWasmMatmulCore, createWasmMatmulCoreSync, relaxedSimdSupported, wasmSimdSupported, PARALLEL_MIN_FLOPS, PARALLEL_MIN_ELEMENTS, DEFAULT_WORKER_SPIN_MICROS, MAX_WORKER_SPIN_MICROS } from './backends/wasm/runtime.js';
export type { MatmulArgs, MatmulArrayArgs, SoftmaxArgs, SoftmaxBackwardArgs, ThreadPool, WasmBuffer, WasmMatmul, WasmRuntime, WasmMatmulInfo, WasmMatmulOptions, WasmMemory, WasmModule } from './backends/wasm/runtime.js';
export { WasmHeap, sizeClass, MAX_PAGES } from './backends/wasm/memory.js';
/** The worker_threads pool of these kernels, usable for other WASM modules on a shared memory. */
export { createWasmWorkerPool } from './backends/wasm/pool-node.js';
export type { WasmWorkerPoolOptions, WasmWorkerPoolSlots } from './backends/wasm/pool-node.js';

/**
 * Create a WASM SIMD matmul: `threads` (default: all cores; 1 runs inline with no workers),
 * `relaxed` ('auto' by default: the FMA build where the host validates it).
 */
export async function createWasmMatmul(options: Omit<WasmMatmulOptions, 'pool'> = {}): Promise<WasmRuntime> {
  const threads = options.threads ?? availableParallelism();
  return createWasmMatmulCore({ ...options, threads, workerSpinMicros: defaultSpin(threads, options.workerSpinMicros), pool: createNodePool });
}

/** A given polling time, or DEFAULT_WORKER_SPIN_MICROS when the pool has no more threads than the machine has cores (else 0). */
function defaultSpin(threads: number, given: number | undefined): number {
  return given ?? (threads <= availableParallelism() ? DEFAULT_WORKER_SPIN_MICROS : 0);
}

/**
 * Create the wasm backend with `threads` (default: all cores; 1 starts no worker) over one shared memory and
 * register it under `options.name` ('wasm', replacing an earlier registration; tensors made on the earlier
 * instance keep working on it). Select it with setBackend('wasm'). `backend.destroy()` ends the workers.
 */
export function initWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = options.threads ?? availableParallelism();
  return initWasmBackendWith({ ...options, threads, workerSpinMicros: defaultSpin(threads, options.workerSpinMicros) }, threads > 1 ? createNodePool : undefined);
}
