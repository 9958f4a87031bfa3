import { describe, expect, it } from 'vitest';
import { Rng } from '@bitskip/tensor-core';
import { fwhtInPlace } from '../src/index.js';

/** Explicit Sylvester construction, normalised: the independent reference. */
function sylvester(n: number): number[][] {
  let h: number[][] = [[1]];
  while (h.length < n) {
    h = [...h.map((row) => [...row, ...row]), ...h.map((row) => [...row, ...row.map((x) => -x)])];
  }
  const s = 1 / Math.sqrt(n);
  return h.map((row) => row.map((x) => x * s));
}

function randomRows(rows: number, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: rows * n }, () => rng.normal());
}

describe('fwhtInPlace', () => {
  it('equals multiplication by the Sylvester matrix for n <= 64', () => {
    for (const n of [1, 2, 4, 8, 16, 32, 64]) {
      const x = randomRows(3, n, n);
      const y = Float64Array.from(x);
      fwhtInPlace(y, n);
      const h = sylvester(n);
      for (let r = 0; r < 3; r++) {
        for (let i = 0; i < n; i++) {
          let ref = 0;
          for (let j = 0; j < n; j++) ref += h[i]![j]! * x[r * n + j]!;
          expect(y[r * n + i]).toBeCloseTo(ref, 12);
        }
      }
    }
  });

  it('is its own inverse and preserves norms', () => {
    const n = 1024;
    const x = randomRows(2, n, 5);
    const y = Float64Array.from(x);
    fwhtInPlace(y, n);
    const norm = (v: Float64Array, o: number) => Math.hypot(...v.subarray(o, o + n));
    expect(norm(y, 0)).toBeCloseTo(norm(x, 0), 9);
    expect(norm(y, n)).toBeCloseTo(norm(x, n), 9);
    fwhtInPlace(y, n);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBeCloseTo(x[i]!, 12);
  });

  it('rejects a non-power-of-two size, naming it', () => {
    expect(() => fwhtInPlace(new Float32Array(12), 12)).toThrow(/power-of-two size, got 12/);
    expect(() => fwhtInPlace(new Float32Array(10), 4)).toThrow(/not a multiple/);
  });
});
