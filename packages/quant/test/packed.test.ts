// Packed ternary × int8: the ternaryMatmul op on the cpu backend (the float64 reference) and on the wasm backend at 1
// and 2 threads (the WASM runtime's kernels, plain and relaxed SIMD, tensors in place) equal the reference of the same
// quantized computation bit for bit, first calls included, on random shapes (sizes not multiples of the packing
// width) and shapes large enough to split over the threads.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Rng, createWasmBackendSync, findBackend, randn, relaxedSimdSupported, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { initWasmBackend } from '@bitskip/tensor-core/wasm';
import type { WasmBackend } from '@bitskip/tensor-core/wasm';
import { BitLinear, HBitLinear, PackedTernaryMatrix, ternaryMatmul } from '../src/index.js';
import type { TernaryKernelKind } from '../src/index.js';
import { POOLED_SHAPES, runKernelCases } from './helpers/kernel-cases.js';

const kinds: TernaryKernelKind[] = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];

describe('packed ternary kernels equal the float64 reference bit for bit', () => {
  let wasm2: WasmBackend;
  let fresh2: WasmBackend[] = [];
  beforeAll(async () => {
    wasm2 = await initWasmBackend({ name: 'ternary-wasm-2', threads: 2 });
    fresh2 = await Promise.all([0, 1].map((i) => initWasmBackend({ name: `ternary-wasm-2-fresh-${i}`, threads: 2, warmup: false })));
  });
  afterAll(async () => {
    for (const b of [wasm2, ...fresh2]) await b.destroy();
  });

  it('expects relaxed SIMD to validate here (vitest starts Node 20 with --experimental-wasm-relaxed-simd)', () => {
    expect(kinds).toContain('relaxed');
  });

  for (const kind of kinds) {
    it(`${kind}: cpu (the reference path of the op)`, () => {
      expect(runKernelCases(kind, () => findBackend('cpu'))).toEqual([]);
    });

    it(`${kind}: wasm, 1 thread, the first two shapes on fresh backends (first calls)`, () => {
      const warm = createWasmBackendSync({ name: 'ternary-wasm-1' });
      const backend = (i: number): Backend => (i < 2 ? createWasmBackendSync({ name: `ternary-wasm-1-fresh-${i}`, warmup: false }) : warm);
      expect(runKernelCases(kind, backend, 3)).toEqual([]);
      expect(runKernelCases(kind, () => warm, 5, POOLED_SHAPES)).toEqual([]);
    });

    it(`${kind}: wasm, 2 threads (output panels split over the pool), first calls included`, () => {
      expect(runKernelCases(kind, (i) => (i < 2 ? fresh2[i]! : wasm2), 7)).toEqual([]);
      expect(runKernelCases(kind, () => wasm2, 9, POOLED_SHAPES)).toEqual([]);
    });
  }

  it('a frozen BitLinear / HBitLinear forward is a tensor op on the layer\'s backend: wasm (2 threads) equals cpu bit for bit (the same inputs: fwht is the same code on both), no read-back', () => {
    const run = (bn: string, make: () => BitLinear): { y: number[]; reads: number } => {
      setBackend(bn);
      try {
        const layer = make().freeze({ allowUntrained: true, kernel: 'plain' });
        const b = findBackend(bn);
        const spy = vi.spyOn(b, 'readSync');
        const x = randn([2, 3, 128], new Rng(8), 1, 0, b);
        const y = tidy(() => layer.forward(x));
        const reads = spy.mock.calls.length;
        spy.mockRestore();
        const out = Array.from(y.dataSync());
        for (const t of [x, y]) t.dispose();
        layer.dispose();
        return { y: out, reads };
      } finally {
        setBackend('cpu');
      }
    };
    for (const make of [() => new BitLinear(128, 40, new Rng(3)), () => new HBitLinear(128, 40, new Rng(4), { config: { hadamard: true, activationBits: 4, activationScheme: 'absmean' } })]) {
      const got = run('ternary-wasm-2', make);
      const want = run('cpu', make);
      expect(got.reads).toBe(0);
      expect(got.y).toEqual(want.y);
    }
  });

  it('the op reads and writes tensors on the backend: no new buffers beyond the output, input untouched', () => {
    const codes = Int8Array.from({ length: 96 * 200 }, (_, i) => (i % 3) - 1);
    const packed = PackedTernaryMatrix.pack(codes, 96, 200, 0.5, undefined, wasm2);
    const xs = Array.from({ length: 3 * 200 }, (_, i) => Math.sin(i));
    const x = tensor(xs, [3, 200], 'float32', wasm2);
    const live = wasm2.numLiveBuffers();
    const heap = wasm2.info().heapLiveBlocks;
    const y = ternaryMatmul(x, packed);
    expect(y.backend).toBe(wasm2);
    expect(y.shape).toEqual([3, 96]);
    expect(wasm2.numLiveBuffers()).toBe(live + 1);
    expect(wasm2.info().heapLiveBlocks).toBe(heap + 1); // the kernel's temporaries are freed
    expect(Array.from(x.dataSync())).toEqual(Array.from(Float32Array.from(xs)));
    y.dispose();
    x.dispose();
    packed.dispose();
  });
});

describe('packed ternary: packing and errors', () => {
  it('activation quantization in WASM rounds ties to even, like the JS quantizer', () => {
    // Q = 7, s = max|x| = 7: x·Q/s = x, so 0.5, 1.5, 2.5, -0.5, -1.5, -2.5 are exact ties.
    const wasm = createWasmBackendSync({ name: 'ternary-ties', warmup: false });
    const x = Float32Array.from([7, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5]);
    for (const kind of kinds) {
      for (let k = 0; k < 8; k++) {
        const w = new Int8Array(8);
        w[k] = 1; // y = c_k · (s/Q) · γ picks out one code
        const p = PackedTernaryMatrix.pack(w, 1, 8, 1, kind, wasm);
        expect(p.matmul(x, 1, { bits: 4, scheme: 'absmax' })[0]).toBe([7, 0, 2, 2, 0, -2, -2, 4][k]);
        p.dispose();
      }
    }
  });

  it('the relaxed kernel is refused clearly on a wasm backend running the plain build', () => {
    const plain = createWasmBackendSync({ name: 'ternary-plain-build', relaxed: false, warmup: false });
    expect(plain.info().simd).toBe('plain');
    expect(() => PackedTernaryMatrix.pack(new Int8Array(4), 2, 2, 1, 'relaxed', plain)).toThrow(/kernel 'relaxed' needs relaxed SIMD.*allowed here: 'plain'/);
    expect(PackedTernaryMatrix.pack(new Int8Array(4), 2, 2, 1, undefined, plain).kernel).toBe('plain');
  });

  it('packs 2 bits per weight (padded to 64 weights per row) and validates its input', () => {
    const p = PackedTernaryMatrix.pack(new Int8Array(256 * 512), 256, 512, 1, 'plain');
    expect(p.bytes).toBe((256 * 512) / 4);
    p.dispose();
    p.dispose();
    expect(() => p.matmul(new Float32Array(512), 1)).toThrow(/disposed/);
    expect(() => PackedTernaryMatrix.pack(Int8Array.from([2]), 1, 1, 1, 'plain')).toThrow(/code 2 at \(0, 0\) is not in \{-1, 0, 1\}/);
    expect(() => PackedTernaryMatrix.pack(new Int8Array(3), 2, 2, 1, 'plain')).toThrow(/3 codes do not fill \(2, 2\)/);
    expect(() => PackedTernaryMatrix.pack(new Int8Array(131073), 1, 131073, 1, 'plain')).toThrow(/inFeatures must be at most 131072/);
    const q = PackedTernaryMatrix.pack(new Int8Array(4), 2, 2, 1, 'plain');
    expect(() => q.matmul(new Float32Array(4), 1)).toThrow(/x has 4 values, expected 1 × 2/);
    expect(() => q.matmul(new Float32Array(2), 1, { bits: 2 as 8, scheme: 'absmax' })).toThrow(/bits must be one of 8, 4; got 2/);
    const c = q.clone();
    q.dispose();
    expect(Array.from(c.matmul(Float32Array.from([1, 2]), 1))).toEqual([0, 0]);
    c.dispose();
  });
});
