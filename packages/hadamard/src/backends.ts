// The fwht kernel for each backend kind, registered once at import (op.ts) for every backend of that kind:
// - cpu (CpuBackend: cpu, cpu64, or any name): fwhtInPlace on a copy of the backend's typed array;
// - wasm (WasmBackend): the WASM runtime's fwhtRows (f32x4 butterflies, f64 scale, rows over the threads): the
//   values of fwhtInPlace bit for bit;
// - gpujs (GpujsBackend, any mode): log2(block) butterfly passes, one gpu.js kernel each (O(1) work per element
//   and pass, O(n log n) per row in all; the same additions in the same order as fwhtInPlace, in float32).
//   The alternative, one kernel with y_j = (1/√n) Σ_i (−1)^popcount(i & j) x_i, is O(n) reads per output (and
//   the parity needs a loop over bits without integer ops on WebGL 1); it was not built.
// The gpu.js backend is reached through its runKernel method (the GpujsKernelRunner type of
// @bitskip/tensor-core/gpujs, a type-only import), so this module never loads gpu.js.
import { CpuBackend, WasmBackend, registerKernel } from '@bitskip/tensor-core';
import type { Backend, BackendKind, DataId, KernelFactory, TensorInfo } from '@bitskip/tensor-core';
import type { GpujsKernelRunner } from '@bitskip/tensor-core/gpujs';
import { fwhtInPlace } from './fwht.js';

/** The cpu-kind kernel: copy x into a new buffer of the backend, transform it in place. */
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

/** The wasm-kind kernel: fwhtInPlace on the output buffer's view of WASM memory. */
export const wasmFwhtKernel: KernelFactory<'fwht'> = (backend: Backend) => {
  if (!(backend instanceof WasmBackend)) {
    throw new Error(`fwht: the wasm kernel needs a WasmBackend, got backend '${backend.name}'`);
  }
  return (x, block) => {
    const out = backend.allocate(x.shape, 'float32');
    if (x.dtype === 'float32') {
      // The WASM runtime's SIMD transform, rows over the threads: fwhtInPlace's values bit for bit.
      const size = x.shape.reduce((a, d) => a * d, 1); // op.ts checked that block divides the last axis
      backend.core.fwhtRows({ x: backend.buffer(x.id), y: backend.buffer(out), rows: size / block, n: block });
      return out;
    }
    const v = backend.view(out) as Float32Array; // views after the allocation
    v.set(backend.view(x.id));
    fwhtInPlace(v, block);
    return out;
  };
};

/** The gpujs-kind kernel: butterfly passes through GpujsKernelRunner.runKernel. */
export const gpujsFwhtKernel: KernelFactory<'fwht'> = (b: Backend) => {
  const backend = b as GpujsKernelRunner;
  const one = new Float32Array([1]);
  return (x: TensorInfo, block: number): DataId => {
    const size = x.shape.reduce((a, d) => a * d, 1);
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
};

/** The fwht kernel of each backend kind. */
export const FWHT_KERNELS: Readonly<Record<BackendKind, KernelFactory<'fwht'>>> = {
  cpu: cpuFwhtKernel,
  wasm: wasmFwhtKernel,
  gpujs: gpujsFwhtKernel,
};

/** The fwht kernel for whatever kind `backend` is (cpu, wasm or gpujs). */
export const fwhtKernel: KernelFactory<'fwht'> = (backend: Backend) => {
  const f = (FWHT_KERNELS as Partial<Record<string, KernelFactory<'fwht'>>>)[backend.kind];
  if (f === undefined) throw new Error(`fwht: no kernel for backend '${backend.name}' of kind '${String(backend.kind)}'`);
  return f(backend);
};

/** Register the fwht kernel for every backend kind (op.ts calls this once, at import). */
export function registerFwhtKernels(): void {
  for (const [kind, factory] of Object.entries(FWHT_KERNELS) as [BackendKind, KernelFactory<'fwht'>][]) registerKernel(kind, 'fwht', factory);
}

/**
 * @deprecated A no-op: the fwht kernel is registered for every backend kind at import, so a backend under any
 * name already has it. Kept so that code written for the per-name registration still runs.
 */
export function registerHadamardKernels(_backendName?: string): void {}
