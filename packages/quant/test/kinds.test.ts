// Kernels are registered per backend KIND: a backend created under a brand-new name — never registered, of each kind
// (cpu, wasm, gpujs) — finds every package's kernels (hadamard's fwht, quant's fakeQuant and fakeQuantMask) with no
// register call, and they agree with the cpu backend's.
import { describe, expect, it } from 'vitest';
import { CpuBackend, Rng, createWasmBackendSync, findBackend, getKernel, hasKernel, tensor } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { createGpujsBackend } from '@bitskip/tensor-core/gpujs';
import { fwht } from '@bitskip/hadamard';
import { fakeQuant } from '../src/index.js';
import type { FakeQuantSpec } from '../src/index.js';

const fresh: [string, () => Backend][] = [
  ['cpu', () => new CpuBackend('brand-new-cpu')],
  ['wasm', () => createWasmBackendSync({ name: 'brand-new-wasm', warmup: false })],
  ['gpujs', () => createGpujsBackend({ mode: 'cpu', name: 'brand-new-gpujs' })],
];
const SPEC: FakeQuantSpec = { target: 'activation', bits: 8, scheme: 'absmax' };

function run(b: Backend, values: number[]): { h: number[]; q: number[]; m: number[] } {
  const x = tensor(values, [4, 16], 'float32', b);
  const h = fwht(x);
  const q = fakeQuant(x, SPEC);
  const mId = getKernel(b, 'fakeQuantMask')(x, SPEC);
  const out = { h: Array.from(h.dataSync()), q: Array.from(q.dataSync()), m: Array.from(b.readSync!(mId)) };
  b.dispose(mId);
  for (const t of [x, h, q]) t.dispose();
  return out;
}

describe('a backend under a brand-new name finds every package kernel of its kind', () => {
  const rng = new Rng(5);
  const values = Array.from({ length: 64 }, () => rng.normal());
  const want = run(findBackend('cpu'), values);
  for (const [kind, make] of fresh) {
    it(`${kind}: fwht, fakeQuant and fakeQuantMask, equal to the cpu backend's`, () => {
      const b = make();
      expect(b.kind).toBe(kind);
      for (const k of ['fwht', 'fakeQuant', 'fakeQuantMask'] as const) expect(hasKernel(b, k)).toBe(true);
      const got = run(b, values);
      got.h.forEach((v, i) => expect(Math.abs(v - want.h[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(want.h[i]!))));
      expect(got.q).toEqual(want.q);
      expect(got.m).toEqual(want.m);
      expect(b.numLiveBuffers()).toBe(0);
    });
  }
});
