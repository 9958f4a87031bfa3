// The fwht kernel on every backend family, picked per backend instance:
// - cpu, cpu64 (CpuBackend): fwhtInPlace on a copy of the backend's typed array;
// - wasm (WasmBackend): fwhtInPlace on a view of the output buffer in WASM memory (no copies);
// - gpu.js (GpujsBackend, any mode): log2(block) butterfly passes, one gpu.js kernel each (O(1) work per element
//   and pass, O(n log n) per row in all; the same additions in the same order as fwhtInPlace, in float32).
//   The alternative, one kernel with y_j = (1/√n) Σ_i (−1)^popcount(i & j) x_i, is O(n) reads per output (and
//   the parity needs a loop over bits without integer ops on WebGL 1); it was not built.
// The gpu.js backend is reached through its runKernel method (duck-typed), so this module never imports gpu.js.
import { CpuBackend, WasmBackend, registerKernel } from '@bitskip/tensor-core';
import type { Backend, DataId, KernelFactory, TensorInfo } from '@bitskip/tensor-core';
import { fwhtInPlace } from './fwht.js';

/** The slice of the gpu.js backend's extension API used here (GpujsBackend.runKernel). */
export interface GpujsKernelRunner extends Backend {
  runKernel(
    params: readonly string[],
    body: string,
    size: number,
    inputs: readonly TensorInfo[],
    options?: { readonly host?: readonly Float32Array[]; readonly dtype?: 'float32' | 'int32' },
  ): DataId;
}

/** Whether `b` is a gpu.js backend (has runKernel), without importing the gpu.js entry. */
export function isGpujsBackend(b: Backend): b is GpujsKernelRunner {
  return typeof (b as Partial<GpujsKernelRunner>).runKernel === 'function';
}

/** The default gpu.js backend names (`gpujs-<mode>`); the kernels are registered for these on import. */
export const GPUJS_BACKEND_NAMES: readonly string[] = ['cpu', 'webasm', 'headlessgl', 'webgl', 'webgl2', 'gpu', 'webgpu'].map((m) => `gpujs-${m}`);

/** The backend names every kernel of this package is registered for on import. */
export const DEFAULT_BACKEND_NAMES: readonly string[] = ['cpu', 'cpu64', 'wasm', ...GPUJS_BACKEND_NAMES];

/** The cpu (and cpu64) kernel: copy x into a new buffer of the backend, transform it in place. */
export const cpuFwhtKernel: KernelFactory<'fwht'> = (backend: Backend) => {
  if (!(backend instanceof CpuBackend)) {
    throw new Error(`fwht: the cpu kernel needs a CpuBackend, got backend '${backend.name}'`);
  }
  return (x, block) => {
    const out = backend.write(backend.values(x.id), 'float32', x.shape);
    const v = backend.values(out);
    if (v instanceof Int32Array) throw new Error('fwht: expected a float buffer');
    fwhtInPlace(v, block);
    return out;
  };
};

function wasmFwht(backend: WasmBackend): (x: TensorInfo, block: number) => DataId {
  return (x, block) => {
    const out = backend.allocate(x.shape, 'float32');
    const v = backend.view(out) as Float32Array; // views after the allocation
    v.set(backend.view(x.id));
    fwhtInPlace(v, block);
    return out;
  };
}

function gpujsFwht(backend: GpujsKernelRunner): (x: TensorInfo, block: number) => DataId {
  const one = new Float32Array([1]);
  return (x, block) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    const scale = new Float32Array([1 / Math.sqrt(block)]);
    if (block === 1) return backend.runKernel(['x', 'sc'], 'return x[i] * sc[0];', size, [x], { host: [scale] });
    // Pass h pairs element i with i ^ h inside its block: lower (bit h clear) a + b, upper a − b; bit h of i is
    // floor(i / h) mod 2 (float-safe). The last pass multiplies by 1/√block, the others by 1 (one kernel per h).
    let cur = x;
    for (let h = 1; h < block; h *= 2) {
      const body = [
        `const q = Math.floor((i + 0.5) / ${h});`,
        'const bit = q - 2 * Math.floor((q + 0.5) / 2);',
        `if (bit < 0.5) { return (x[i] + x[i + ${h}]) * sc[0]; }`,
        `return (x[i - ${h}] - x[i]) * sc[0];`,
      ].join('\n');
      const id = backend.runKernel(['x', 'sc'], body, size, [cur], { host: [h * 2 === block ? scale : one] });
      if (cur !== x) backend.dispose(cur.id);
      cur = { id, shape: x.shape, dtype: 'float32' };
    }
    return cur.id;
  };
}

/** The fwht kernel for whatever backend family `backend` is (cpu, wasm or gpu.js), or an Error naming it. */
export const fwhtKernel: KernelFactory<'fwht'> = (backend: Backend) => {
  if (backend instanceof CpuBackend) return cpuFwhtKernel(backend);
  if (backend instanceof WasmBackend) return wasmFwht(backend);
  if (isGpujsBackend(backend)) return gpujsFwht(backend);
  throw new Error(`fwht: no kernel for backend '${backend.name}' (cpu, wasm and gpu.js backends are supported)`);
};

/**
 * Register the fwht kernel for a backend registered under a name of your choosing (a cpu, wasm or gpu.js
 * backend). The defaults (cpu, cpu64, wasm and gpujs-<mode>) are registered on import.
 */
export function registerHadamardKernels(backendName: string): void {
  registerKernel(backendName, 'fwht', fwhtKernel);
}
