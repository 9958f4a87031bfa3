import { describe, expect, it } from 'vitest';
import { Rng, findBackend, getBackend, grad, mul, randn, sum, tensor, tidy } from '@bitskip/tensor-core';
import type { Backend, Tensor } from '@bitskip/tensor-core';
import { fwht } from '../src/index.js';

function sylvester(n: number): number[][] {
  let h: number[][] = [[1]];
  while (h.length < n) h = [...h.map((r) => [...r, ...r]), ...h.map((r) => [...r, ...r.map((x) => -x)])];
  const s = 1 / Math.sqrt(n);
  return h.map((r) => r.map((x) => x * s));
}

const vals = (t: Tensor): number[] => Array.from(t.dataSync());

describe('fwht op', () => {
  it('equals the explicit Sylvester matrix for n <= 64, on cpu and cpu64', () => {
    for (const name of ['cpu', 'cpu64']) {
      const b: Backend = findBackend(name);
      for (const n of [1, 2, 4, 8, 16, 32, 64]) {
        tidy(() => {
          const x = randn([2, 3, n], new Rng(n), 1, 0, b);
          const y = vals(fwht(x));
          const xv = vals(x);
          const h = sylvester(n);
          for (let r = 0; r < 6; r++) {
            for (let i = 0; i < n; i++) {
              let ref = 0;
              for (let j = 0; j < n; j++) ref += h[i]![j]! * xv[r * n + j]!;
              expect(y[r * n + i]!).toBeCloseTo(ref, name === 'cpu' ? 5 : 12);
            }
          }
        });
      }
    }
  });

  it('is its own inverse and preserves norms', () => {
    tidy(() => {
      const x = randn([4, 1024], new Rng(3));
      const y = fwht(x);
      const z = fwht(y);
      const xv = vals(x);
      const yv = vals(y);
      const zv = vals(z);
      for (let r = 0; r < 4; r++) {
        const nx = Math.hypot(...xv.slice(r * 1024, (r + 1) * 1024));
        const ny = Math.hypot(...yv.slice(r * 1024, (r + 1) * 1024));
        expect(Math.abs(ny - nx) / nx).toBeLessThan(1e-6);
      }
      for (let i = 0; i < xv.length; i++) expect(Math.abs(zv[i]! - xv[i]!)).toBeLessThan(1e-5);
    });
  });

  it('block-diagonal: each block of the last axis is transformed on its own', () => {
    tidy(() => {
      const x = randn([3, 48], new Rng(7), 1, 0, findBackend('cpu64'));
      const y = vals(fwht(x, { block: 16 }));
      const xv = vals(x);
      const h = sylvester(16);
      for (let r = 0; r < 3; r++) {
        for (let blk = 0; blk < 3; blk++) {
          for (let i = 0; i < 16; i++) {
            let ref = 0;
            for (let j = 0; j < 16; j++) ref += h[i]![j]! * xv[r * 48 + blk * 16 + j]!;
            expect(y[r * 48 + blk * 16 + i]!).toBeCloseTo(ref, 12);
          }
        }
      }
    });
  });

  it('gradient is the same transform (analytic vs the transform of dy vs float64 finite differences)', () => {
    const b = findBackend('cpu64');
    for (const block of [undefined, 4]) {
      tidy(() => {
        const x = randn([2, 8], new Rng(11), 1, 0, b);
        const w = randn([2, 8], new Rng(12), 1, 0, b); // loss = sum(w * fwht(x)) => dx = fwht(w)
        const f = (xx: Tensor): Tensor => sum(mul(w, fwht(xx, block === undefined ? {} : { block })));
        const [g] = grad(f, [x]);
        const gv = vals(g!);
        const expected = vals(fwht(w, block === undefined ? {} : { block }));
        const xv = vals(x);
        const eps = 1e-6;
        for (let i = 0; i < xv.length; i++) {
          const plus = xv.slice();
          const minus = xv.slice();
          plus[i]! += eps;
          minus[i]! -= eps;
          const fd = (f(tensor(plus, [2, 8], 'float32', b)).itemSync() - f(tensor(minus, [2, 8], 'float32', b)).itemSync()) / (2 * eps);
          expect(Math.abs(gv[i]! - fd)).toBeLessThan(1e-8);
          expect(Math.abs(gv[i]! - expected[i]!)).toBeLessThan(1e-12);
        }
      });
    }
  });

  it('leaves no live buffers behind after forward and backward', () => {
    const before = getBackend().numLiveBuffers();
    const g = tidy(() => grad((x) => sum(fwht(x)), [randn([4, 32], new Rng(1))])[0]!);
    g.dispose();
    expect(getBackend().numLiveBuffers()).toBe(before);
  });

  it('errors name the size and the allowed values', () => {
    tidy(() => {
      expect(() => fwht(randn([2, 12], new Rng(1)))).toThrow(/last axis has size 12, which is not a power of two/);
      expect(() => fwht(randn([2, 12], new Rng(1)), { block: 3 })).toThrow(/block must be a power of two .* got 3/);
      expect(() => fwht(randn([2, 12], new Rng(1)), { block: 8 })).toThrow(/block 8 does not divide the last axis size 12/);
      expect(() => fwht(tensor([1], [], 'float32'))).toThrow(/scalar/);
      expect(() => fwht(tensor([1, 2], [2], 'int32'))).toThrow(/fwht: input 0 \[2\] has dtype int32/);
      // block 4 on a 12-wide axis is fine
      expect(fwht(randn([2, 12], new Rng(1)), { block: 4 }).shape).toEqual([2, 12]);
    });
  });
});
