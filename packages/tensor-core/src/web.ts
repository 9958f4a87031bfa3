// @bitskip/tensor-core/web: the wasm backend with threads in browsers — Web Workers over a shared
// WebAssembly.Memory (pool-web.ts). Browser-safe (no Node import). Threads > 1 need a cross-origin isolated page
// and must be started from a Web Worker (the caller blocks in Atomics.wait while the workers run their parts).
import type { WasmBackend } from './backends/wasm/backend.js';
import { createWebPool, webThreadsUnavailable } from './backends/wasm/pool-web.js';
import { initWasmBackendWith } from './backends/wasm/register.js';
import type { WasmBackendOptions } from './backends/wasm/register.js';

export { createWebWorkerPool, webThreadsUnavailable } from './backends/wasm/pool-web.js';
export type { WasmWorkerPoolOptions, WasmWorkerPoolSlots } from './backends/wasm/pool-protocol.js';
export type { WasmBackendOptions } from './backends/wasm/register.js';

/**
 * Create the wasm backend with `threads` (default 1; threads > 1 start threads − 1 Web Workers on one shared
 * memory: a cross-origin isolated page, called in a Web Worker, else a one-line error saying which) and register
 * it under `options.name` ('wasm'). Select it with setBackend('wasm'); `backend.destroy()` ends the workers.
 */
export function initWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threads = options.threads ?? 1;
  if (typeof threads === 'number' && threads > 1) {
    const why = webThreadsUnavailable();
    if (why !== null) return Promise.reject(new Error(why));
  }
  return initWasmBackendWith(options, threads > 1 ? createWebPool : undefined);
}
