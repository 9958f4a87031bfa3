// The kernel-extension hook: a package contributes a kernel to every backend of a kind (cpu, wasm, gpujs), typed by
// module augmentation; a backend created under any name finds it.
import { describe, expect, it } from 'vitest';
import { CpuBackend, checkInputs, createWasmBackendSync, findBackend, getKernel, grad, hasKernel, kernelNames, record, registerBackend, registerKernel, sum, tensor } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { DataId, TensorInfo } from '../src/index.js';

declare module '../src/backend.js' {
  interface Kernels {
    /** Test-only kernel: x * 2 + offset. */
    testDoublePlus(x: TensorInfo, offset: number): DataId;
  }
}

describe('registerKernel', () => {
  it('adds a kernel that every backend of the kind finds after the built-in table, built once per backend instance', () => {
    let builds = 0;
    registerKernel('cpu', 'testDoublePlus', (backend) => {
      builds++;
      if (!(backend instanceof CpuBackend)) throw new Error('expected the cpu backend');
      return (x, offset) => {
        const src = backend.values(x.id);
        return backend.write(Array.from(src, (v) => v * 2 + offset), 'float32', x.shape);
      };
    });
    const cpu = findBackend('cpu');
    expect(hasKernel(cpu, 'testDoublePlus')).toBe(true);
    expect(hasKernel(findBackend('cpu64'), 'testDoublePlus')).toBe(true); // kind 'cpu' too
    const wasm = createWasmBackendSync({ name: 'no-double', warmup: false });
    expect(hasKernel(wasm, 'testDoublePlus')).toBe(false); // kind 'wasm'
    // kernelNames: the built-in table, then the registered names of the kind, each once, all of them found by getKernel.
    expect(kernelNames(cpu)).toContain('testDoublePlus');
    expect(kernelNames(cpu)).toContain('matmul');
    expect(kernelNames(wasm)).not.toContain('testDoublePlus');
    expect(new Set(kernelNames(cpu)).size).toBe(kernelNames(cpu).length);
    for (const k of kernelNames(cpu)) expect(hasKernel(cpu, k)).toBe(true);
    const x = tensor([1, 2, 3]);
    const id = getKernel(cpu, 'testDoublePlus')(x, 1);
    expect(Array.from(cpu.readSync!(id))).toEqual([3, 5, 7]);
    cpu.dispose(id);
    getKernel(cpu, 'testDoublePlus');
    expect(builds).toBe(1);
    x.dispose();
  });

  it('record() turns a registered kernel into a differentiable op', () => {
    const doublePlus = (x: Tensor, offset: number): Tensor => {
      const b = checkInputs('doublePlus', [x]);
      return record('doublePlus', [x], getKernel(b, 'testDoublePlus')(x, offset), x.shape, 'float32', {
        backward: (dy) => [doublePlus(dy, 0)], // d/dx (2x + c) = 2
      });
    };
    const [g] = grad((x) => sum(doublePlus(x, 5)), [tensor([1, 2])]);
    expect(Array.from(g!.dataSync())).toEqual([2, 2]);
    g!.dispose();
  });

  it('built-in kernels win; a missing kernel names the backend and the kernel; unknown kinds are refused', () => {
    registerKernel('cpu', 'unary', () => () => {
      throw new Error('should not be used');
    });
    expect(getKernel(findBackend('cpu'), 'unary')).toBe(findBackend('cpu').kernels.unary);
    const wasm = createWasmBackendSync({ name: 'wasm-without', warmup: false });
    expect(() => getKernel(wasm, 'testDoublePlus')).toThrow(/backend 'wasm-without' has no kernel 'testDoublePlus' \(kind 'wasm'/);
    expect(() => registerKernel('tpu' as 'cpu', 'testDoublePlus', () => () => ({}))).toThrow(/unknown backend kind; kinds: cpu, wasm, gpujs/);
  });

  it('applies to a backend of the kind created later under a brand-new name, and re-registration replaces the kernel', () => {
    registerKernel('cpu', 'testDoublePlus', () => () => ({ tag: 'first' }));
    registerBackend('later', () => new CpuBackend('later'));
    const b = findBackend('later');
    const x = tensor([1], [1], 'float32', b);
    expect(getKernel(b, 'testDoublePlus')(x, 0)).toEqual({ tag: 'first' });
    registerKernel('cpu', 'testDoublePlus', () => () => ({ tag: 'second' }));
    expect(getKernel(b, 'testDoublePlus')(x, 0)).toEqual({ tag: 'second' });
    x.dispose();
  });
});
