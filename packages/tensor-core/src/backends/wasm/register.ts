// Creating and registering the `wasm` backend. This file is browser-safe (no Node API): single-threaded
// backends only; the threaded one comes from @bitskip/tensor-core/wasm, which passes a worker_threads pool.
import type { KernelName } from '../../backend.js';
import { registerBackend } from '../builtin.js';
import { WasmBackend } from './backend.js';
import { createWasmMatmulCore, createWasmMatmulCoreSync } from './runtime.js';
import type { PoolFactory, WasmMatmulOptions } from './runtime.js';

export interface WasmBackendOptions {
  /** Registry name (default 'wasm'). */
  name?: string;
  /** Threads including the caller. The main entry runs 1; @bitskip/tensor-core/wasm defaults to all cores. */
  threads?: number;
  /** 'auto' (default): the relaxed-SIMD (FMA) build where the host validates it, else plain SIMD. */
  relaxed?: 'auto' | boolean;
  /** Initial WASM memory in 64 KiB pages (default 64); it grows on demand up to 4 GiB. */
  initialPages?: number;
  /** Run each kernel once at start-up (default true). */
  warmup?: boolean;
  /** Matmuls below this many FLOPs run on the calling thread only. */
  parallelMinFlops?: number;
  /** Softmax calls below this many elements run on the calling thread only. */
  parallelMinElements?: number;
  /** Shared memory (default: where SharedArrayBuffer exists); threads need it. */
  sharedMemory?: boolean;
  /**
   * Microseconds a worker keeps polling for the next call after one before it sleeps (0: it sleeps at once).
   * @bitskip/tensor-core/wasm defaults to DEFAULT_WORKER_SPIN_MICROS when threads ≤ cores, else 0.
   */
  workerSpinMicros?: number;
  /** Kernels to run as cpu kernels on views of WASM memory instead of in WASM (A/B measurements). */
  cpuKernels?: readonly KernelName[];
}

const KEYS = new Set(['name', 'threads', 'relaxed', 'initialPages', 'warmup', 'parallelMinFlops', 'parallelMinElements', 'sharedMemory', 'workerSpinMicros', 'cpuKernels']);

/** Check option keys and types; returns the name and the options for the kernel core. */
export function splitWasmBackendOptions(options: WasmBackendOptions): { name: string; core: WasmMatmulOptions; cpuKernels: readonly KernelName[] } {
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new Error(`wasm backend: unknown option "${key}" (known: ${[...KEYS].join(', ')})`);
  }
  const { name = 'wasm', cpuKernels = [], ...core } = options;
  if (typeof name !== 'string' || name === '') throw new Error(`wasm backend: option "name" must be a non-empty string, got ${String(name)}`);
  return { name, core, cpuKernels };
}

/** A single-threaded wasm backend, created synchronously (Node, workers; not a browser's main thread). */
export function createWasmBackendSync(options: WasmBackendOptions = {}): WasmBackend {
  const { name, core, cpuKernels } = splitWasmBackendOptions(options);
  if ((core.threads ?? 1) !== 1) throw new Error('wasm backend: threads > 1 need @bitskip/tensor-core/wasm (initWasmBackend)');
  return new WasmBackend(createWasmMatmulCoreSync(core), name, { cpuKernels });
}

/**
 * Register the single-threaded wasm backend under `options.name` ('wasm'); it is created (the module compiled
 * synchronously) on first use. Returns the name. In a browser's main thread use `await initWasmBackend()`.
 */
export function registerWasmBackend(options: WasmBackendOptions = {}): string {
  const { name } = splitWasmBackendOptions(options);
  if ((options.threads ?? 1) !== 1) throw new Error('wasm backend: threads > 1 need @bitskip/tensor-core/wasm (initWasmBackend)');
  registerBackend(name, () => createWasmBackendSync(options));
  return name;
}

/** Create a wasm backend (async compile; a worker pool when `pool` is given and threads > 1) and register it. */
export async function initWasmBackendWith(options: WasmBackendOptions, pool: PoolFactory | undefined): Promise<WasmBackend> {
  const { name, core, cpuKernels } = splitWasmBackendOptions(options);
  if ((core.threads ?? 1) > 1 && pool === undefined) throw new Error('wasm backend: threads > 1 need @bitskip/tensor-core/wasm (initWasmBackend)');
  const backend = new WasmBackend(await createWasmMatmulCore(pool === undefined ? core : { ...core, pool }), name, { cpuKernels });
  registerBackend(name, () => backend);
  return backend;
}

/**
 * Create the single-threaded wasm backend with an asynchronous compile (what browsers need) and register it
 * under `options.name` ('wasm'). Select it with setBackend('wasm').
 */
export function initWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  return initWasmBackendWith(options, undefined);
}
