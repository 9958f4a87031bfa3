// The cpu backend against the conformance suite: vs itself (leak and contract checks), vs the float64 cpu64
// reference (float32 rounding only), fused kernels vs their composed forms, matmul vs a naive float64 loop.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import * as cpuKernels from '../src/cpu-kernels.js';
import { conformanceCases } from '../src/testing.js';

const cases = conformanceCases();

describe('conformance: cpu vs cpu64 reference', () => {
  for (const c of cases) {
    it(c.name, () => c.run('cpu', 'cpu64', { rtol: 2e-4, atol: 2e-5 }));
  }
});

describe('conformance: cpu64 vs itself (float64, tight)', () => {
  for (const c of cases) {
    it(c.name, () => c.run('cpu64', 'cpu64', { rtol: 1e-10, atol: 1e-12 }));
  }
});

describe('register-blocked matmul vs naive float64 triple loop', () => {
  const rng = new Rng(77);
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [1, 5, 3, 7],
    [2, 4, 8, 4],
    [3, 9, 13, 6],
    [1, 33, 17, 31],
  ];
  for (const [batch, m, k, n] of shapes) {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`batch ${batch}, ${m}x${k}x${n}, transA ${ta}, transB ${tb}`, () => {
        const a = Float32Array.from({ length: batch * m * k }, () => rng.normal());
        const b = Float32Array.from({ length: batch * k * n }, () => rng.normal());
        const out = new Float32Array(batch * m * n);
        cpuKernels.matmulF32(a, b, out, batch, m, k, n, ta, tb);
        const ref = cpuKernels.matmulNaiveF64(a, b, batch, m, k, n, ta, tb);
        for (let i = 0; i < ref.length; i++) expect(Math.abs(out[i]! - ref[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(ref[i]!)));
      });
    }
  }
});
