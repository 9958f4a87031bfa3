// "All backends agree": fwht (full and block-diagonal) and its gradient on wasm and the gpu.js modes equal the
// cpu backend's within 1e-5 relative (wasm exactly: the same typed-array code on views of WASM memory).
import { describe, expect, it } from 'vitest';
import { Rng, findBackend, getKernel, grad, mul, sum, tensor, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { fwht, fwhtKernel, registerHadamardKernels } from '../src/index.js';
import { relErr } from '@bitskip/test-utils';
import { testBackends } from './helpers/backends.js';

const { names } = testBackends();

const TOL = 1e-5;
const normals = (n: number, seed: number): number[] => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.normal());
};

interface Case {
  name: string;
  shape: number[];
  block?: number;
}
const CASES: Case[] = [
  { name: 'n = 1', shape: [3, 1] },
  { name: 'n = 2', shape: [3, 2] },
  { name: 'n = 64', shape: [2, 3, 64] },
  { name: 'n = 1024', shape: [4, 1024] },
  { name: 'block 32 of 96', shape: [2, 96], block: 32 },
  { name: 'block 8 of 64', shape: [3, 64], block: 8 },
  { name: 'block 1 of 4', shape: [2, 4], block: 1 },
];

async function values(t: Tensor): Promise<Float32Array | Float64Array | Int32Array> {
  const v = await t.data();
  t.dispose();
  return v;
}

/** Forward fwht(x) and the gradient of sum(w ⊙ fwht(x)) with respect to x, on backend `bn`. */
async function run(bn: string, c: Case, seed: number): Promise<[ArrayLike<number>, ArrayLike<number>]> {
  const b = findBackend(bn);
  const size = c.shape.reduce((a, d) => a * d, 1);
  const opts = c.block === undefined ? {} : { block: c.block };
  const [y, g] = tidy(() => {
    const x = tensor(normals(size, seed), c.shape, 'float32', b);
    const w = tensor(normals(size, seed + 1), c.shape, 'float32', b);
    const yy = fwht(x, opts);
    const [gg] = grad((t) => sum(mul(w, fwht(t, opts))), [x]);
    return [yy, gg!];
  });
  return [await values(y), await values(g)];
}

describe('fwht on every backend agrees with cpu', () => {
  for (const bn of names) {
    describe(bn, () => {
      for (const c of CASES) {
        it(`${c.name}: forward and gradient`, async () => {
          const live = findBackend(bn).numLiveBuffers();
          const [y, g] = await run(bn, c, c.shape.length * 7 + (c.block ?? 0));
          const [yRef, gRef] = await run('cpu', c, c.shape.length * 7 + (c.block ?? 0));
          if (bn === 'wasm') {
            expect(Array.from(y)).toEqual(Array.from(yRef));
            expect(Array.from(g)).toEqual(Array.from(gRef));
          }
          expect(relErr(y, yRef)).toBeLessThanOrEqual(TOL);
          expect(relErr(g, gRef)).toBeLessThanOrEqual(TOL);
          expect(findBackend(bn).numLiveBuffers()).toBe(live);
        });
      }
      it('the kernel leaves its input untouched and frees its intermediate passes', async () => {
        const b = findBackend(bn);
        const xs = normals(256, 9);
        const x = tensor(xs, [2, 128], 'float32', b);
        const before = b.numLiveBuffers();
        const id = getKernel(b, 'fwht')(x, 128);
        expect(b.numLiveBuffers()).toBe(before + 1);
        b.dispose(id);
        expect(Array.from(await x.data())).toEqual(Array.from(Float32Array.from(xs)));
        x.dispose();
      });
    });
  }

  it("a cpu-kind backend that is not a CpuBackend, or an unknown kind, gets an error naming it; the per-name register is a no-op", () => {
    const fake = { name: 'other', kind: 'cpu' as const, kernels: {}, write: () => ({}), read: () => Promise.resolve(new Float32Array()), dispose: () => undefined, numLiveBuffers: () => 0 };
    expect(() => getKernel(fake, 'fwht')).toThrow(/fwht: the cpu kernel needs a CpuBackend, got backend 'other'/);
    expect(() => fwhtKernel({ ...fake, kind: 'tpu' as 'cpu' })).toThrow(/fwht: no kernel for backend 'other' of kind 'tpu'/);
    expect(() => registerHadamardKernels('other')).not.toThrow();
  });
});
