import { describe, expect, it } from 'vitest';
import { exponentialDropRates, quadraticDropRates } from '../src/index.js';

describe('quadraticDropRates', () => {
  it('follows p_l = 0.5 (l/L)^2 and never drops the last layer', () => {
    const p = quadraticDropRates(24);
    expect(p).toHaveLength(24);
    expect(p[0]).toBe(0);
    expect(p[12]).toBeCloseTo(0.5 * (12 / 24) ** 2, 15); // 0.125
    expect(p[22]).toBeCloseTo(0.5 * (22 / 24) ** 2, 15);
    expect(p[23]).toBe(0);
    for (let l = 1; l < 23; l++) expect(p[l]!).toBeGreaterThan(p[l - 1]!);
  });

  it('rejects bad settings', () => {
    expect(() => quadraticDropRates(0)).toThrow(/numLayers/);
    expect(() => quadraticDropRates(4, 2)).toThrow(/c must be/);
  });
});

describe('exponentialDropRates', () => {
  it('rises from 0 at the first layer to p_max at the last', () => {
    const p = exponentialDropRates(8, 0.2);
    expect(p[0]).toBe(0);
    expect(p[7]).toBeCloseTo(0.2, 15);
    // D(l) = 2^{l/(L-1)} - 1
    expect(p[3]).toBeCloseTo((2 ** (3 / 7) - 1) * 0.2, 15);
  });
});
