// The extension API that packages use to register kernels for the wasm and gpujs backends: WasmBackend.allocate
// and view (typed-array code on WASM memory, no copies) and GpujsBackend.runKernel (a package-provided gpu.js
// kernel through the backend's own cache, pool and readback).
import { describe, expect, it } from 'vitest';
import { createWasmBackendSync, getKernel, registerKernel, tensor } from '../src/index.js';
import type { DataId, TensorInfo } from '../src/index.js';
import { WasmBackend } from '../src/wasm.js';
import { GpujsBackend, createGpujsBackend } from '../src/gpujs.js';

declare module '../src/backend.js' {
  interface Kernels {
    /** Test-only kernel: per-row sums of x (rows of the last axis), shape x.shape[:-1]. */
    testRowSum(x: TensorInfo): DataId;
  }
}

describe('WasmBackend extension API', () => {
  it('a registered kernel allocates its output, fills it through views and the op reads it back', () => {
    const be = createWasmBackendSync({ name: 'wasm-ext', warmup: false, initialPages: 1, sharedMemory: false });
    registerKernel('wasm', 'testRowSum', (b) => {
      if (!(b instanceof WasmBackend)) throw new Error('expected a WasmBackend');
      return (x) => {
        const n = x.shape[x.shape.length - 1]!;
        const rows = x.shape.slice(0, -1);
        const out = b.allocate(rows, 'float32');
        // Views after the allocation: the allocation may have grown (and detached) the memory.
        const xv = b.view(x.id);
        const ov = b.view(out);
        for (let r = 0; r < ov.length; r++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += xv[r * n + j]!;
          ov[r] = s;
        }
        return out;
      };
    });
    const big = Array.from({ length: 40_000 }, (_, i) => i % 7);
    const x = tensor(big, [200, 200], 'float32', be);
    const before = be.info().memoryBytes;
    const id = getKernel(be, 'testRowSum')(x);
    const got = be.readSync(id);
    expect(got.length).toBe(200);
    expect(got[0]).toBe(big.slice(0, 200).reduce((a, b) => a + b, 0));
    expect(be.info().memoryBytes).toBeGreaterThanOrEqual(before);
    expect(be.allocate([2, 3], 'int32')).toBeDefined();
    expect(be.view(be.allocate([2, 3], 'int32'))).toBeInstanceOf(Int32Array);
    be.dispose(id);
    x.dispose();
    const dead = be.allocate([1]);
    be.dispose(dead);
    expect(() => be.view(dead)).toThrow(/unknown or disposed buffer/);
  });
});

describe('GpujsBackend.runKernel', () => {
  for (const mode of ['cpu', 'webasm'] as const) {
    it(`${mode}: runs a package kernel with inputs and host constants, cached per source and size`, async () => {
      const be = createGpujsBackend({ mode });
      expect(be).toBeInstanceOf(GpujsBackend);
      const x = be.write([1, 2, 3, 4, 5, 6], 'float32', [2, 3]);
      const xi: TensorInfo = { id: x, shape: [2, 3], dtype: 'float32' };
      const body = `const base = i * 3;\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < 3; j++) { ${be.source.kahanAdd('x[base + j]')} }\nreturn s * sc[0] + ${be.source.lit(0.5)};`;
      const k0 = be.numCompiledKernels();
      const a = be.runKernel(['x', 'one', 'sc'], body, 2, [xi], { host: [new Float32Array([1]), new Float32Array([2])] });
      expect(Array.from(await be.read(a))).toEqual([12.5, 30.5]);
      const b = be.runKernel(['x', 'one', 'sc'], body, 2, [xi], { host: [new Float32Array([1]), new Float32Array([-1])] });
      expect(Array.from(await be.read(b))).toEqual([-5.5, -14.5]);
      expect(be.numCompiledKernels()).toBe(k0 + 1);
      const c = be.runKernel(['x'], 'return Math.floor(x[i] / 2);', 6, [xi], { dtype: 'int32' });
      expect(Array.from(await be.read(c))).toEqual([0, 1, 1, 2, 2, 3]);
      expect(() => be.runKernel(['x', 'y'], 'return 0;', 1, [xi])).toThrow(/2 params for 1 inputs and 0 host arrays/);
      for (const id of [a, b, c, x]) be.dispose(id);
      expect(be.numLiveBuffers()).toBe(0);
      be.destroy();
    });
  }
});
