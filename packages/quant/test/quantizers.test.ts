// Invariants of the quantizers (SPEC §4): code ranges, scales, idempotence, half-to-even rounding, errors.
import { describe, expect, it } from 'vitest';
import { Rng } from '@bitskip/tensor-core';
import {
  ACTIVATION_QUANT,
  WEIGHT_QUANT,
  activationClipMaskRows,
  activationRange,
  activationScheme,
  fakeQuantActivationRows,
  fakeQuantWeightsInto,
  quantizeActivationRows,
  quantizeInt8Absmax,
  quantizeTernaryAbsmean,
  quantizeWeightCodes,
  roundHalfEven,
} from '../src/index.js';
import type { ActivationQuantSpec, QuantScheme, WeightScheme } from '../src/index.js';

const SPECS: ActivationQuantSpec[] = [
  { bits: 8, scheme: 'absmax' },
  { bits: 4, scheme: 'absmax' },
  { bits: 4, scheme: 'absmean' },
];

function rows(r: number, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: r * n }, () => rng.normal() * (1 + 3 * rng.next()));
}

describe('roundHalfEven', () => {
  it('rounds ties to even like torch.round, otherwise to nearest', () => {
    const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [2.5001, 3], [-2.6, -3], [7, 7], [126.5, 126], [127.5, 128]];
    for (const [x, r] of cases) expect(roundHalfEven(x), String(x)).toBe(r);
  });
});

describe('activation quantizers (per token)', () => {
  for (const spec of SPECS) {
    it(`${spec.scheme} int${spec.bits}: codes in range, x_q = c·Δ, idempotent`, () => {
      const [qmin, qmax] = activationRange(spec);
      const x = rows(6, 40, spec.bits);
      const codes = new Int8Array(x.length);
      const steps = new Float64Array(6);
      quantizeActivationRows(x, 6, 40, spec, codes, steps);
      for (const c of codes) {
        expect(c).toBeGreaterThanOrEqual(qmin);
        expect(c).toBeLessThanOrEqual(qmax);
      }
      for (let r = 0; r < 6; r++) {
        const row = x.subarray(r * 40, (r + 1) * 40);
        const s = spec.scheme === 'absmax' ? Math.max(...row.map(Math.abs)) / qmax : row.reduce((a, v) => a + Math.abs(v), 0) / 40 / Math.sqrt(7);
        expect(steps[r]).toBeCloseTo(s, 12);
        if (spec.scheme === 'absmax') expect(Math.max(...Array.from(codes.subarray(r * 40, (r + 1) * 40), Math.abs))).toBe(qmax);
      }
      const q1 = new Float64Array(x.length);
      fakeQuantActivationRows(x, 6, 40, spec, q1);
      for (let i = 0; i < x.length; i++) expect(q1[i]).toBeCloseTo(codes[i]! * steps[Math.floor(i / 40)]!, 12);
      // Idempotent for absmax (the scale is preserved); absmean's β moves, so check codes map to themselves
      // under their own grid instead: q(q(x)) == q(x) holds for absmax exactly.
      const q2 = new Float64Array(x.length);
      fakeQuantActivationRows(q1, 6, 40, spec, q2);
      if (spec.scheme === 'absmax') for (let i = 0; i < x.length; i++) expect(q2[i]).toBeCloseTo(q1[i]!, 12);
    });
  }

  it('absmean int4 follows clip(round(x·√7/β), −8, 7) with half-to-even at exact ties', () => {
    // β = mean|x| = √7 ⇒ x·√7/β = x: ties at 0.5, 2.5 go to 0, 2; 20 clips to 7, -20 to -8.
    const n = 8;
    const xs = [0.5, 2.5, -1.5, 20, -20, 3, 0, 0];
    const sumAbs = xs.reduce((a, v) => a + Math.abs(v), 0);
    const scale = (Math.sqrt(7) * n) / sumAbs; // rescale so that mean|x| = √7
    const x = Float64Array.from(xs, (v) => v * scale);
    const codes = new Int8Array(n);
    quantizeActivationRows(x, 1, n, { bits: 4, scheme: 'absmean' }, codes, new Float64Array(1));
    const expected = xs.map((v) => Math.min(7, Math.max(-8, roundHalfEven(v * scale))));
    expect(Array.from(codes)).toEqual(expected);
  });

  it('clip mask: absmax passes every x of the row (range [−s, s], no rounded Q·(s/Q)); absmean is −8β ≤ x·√7 ≤ 7β', () => {
    for (const x of [rows(50, 16, 5), Float32Array.from(rows(50, 16, 6))]) {
      for (const spec of SPECS) {
        const mask = new Float64Array(x.length);
        activationClipMaskRows(x, 50, 16, spec, mask);
        if (spec.scheme === 'absmax') {
          expect(mask.every((v) => v === 1)).toBe(true);
          continue;
        }
        let zeros = 0;
        for (let r = 0; r < 50; r++) {
          const row = Array.from(x.subarray(r * 16, (r + 1) * 16));
          const beta = row.reduce((a, v) => a + Math.abs(v), 0) / 16;
          row.forEach((v, i) => {
            const inside = v * Math.sqrt(7) >= -8 * beta && v * Math.sqrt(7) <= 7 * beta;
            expect(mask[r * 16 + i]).toBe(inside ? 1 : 0);
            if (!inside) zeros++;
          });
        }
        expect(zeros).toBeGreaterThan(0);
      }
    }
    const withNan = new Float64Array(4);
    activationClipMaskRows([1, Number.NaN, -2, 0.5], 1, 4, { bits: 8, scheme: 'absmax' }, withNan);
    expect(Array.from(withNan)).toEqual([1, 0, 1, 1]);
  });

  it('all-zero rows clamp the scale at 1e-5 and quantize to 0', () => {
    for (const spec of SPECS) {
      const steps = new Float64Array(1);
      const codes = new Int8Array(4);
      quantizeActivationRows(new Float64Array(4), 1, 4, spec, codes, steps);
      expect(Array.from(codes)).toEqual([0, 0, 0, 0]);
      expect(steps[0]! * (spec.scheme === 'absmax' ? activationRange(spec)[1] : Math.sqrt(7))).toBeCloseTo(1e-5, 15);
    }
  });

  it('rejects wrong bit widths and unknown schemes, naming the setting and the allowed values', () => {
    const run = (spec: unknown) => quantizeActivationRows([1], 1, 1, spec as ActivationQuantSpec, new Int8Array(1), new Float64Array(1));
    expect(() => run({ bits: 3, scheme: 'absmax' })).toThrow(/bits must be one of 8, 4; got 3/);
    expect(() => run({ bits: 8, scheme: 'minmax' })).toThrow(/scheme must be one of 'absmax', 'absmean'; got 'minmax'/);
    expect(() => run({ bits: 8, scheme: 'absmean' })).toThrow(/'absmean' is defined for bits 4 only; got bits 8/);
  });
});

describe('weight quantizers (per tensor)', () => {
  it('int8 absmax: codes in [−127, 127], the max maps to ±127, idempotent', () => {
    const w = rows(1, 300, 9);
    const { codes, scale } = quantizeInt8Absmax(w);
    expect(scale).toBe(Math.max(...w.map(Math.abs)));
    expect(Math.max(...Array.from(codes, Math.abs))).toBe(127);
    const q1 = new Float64Array(300);
    fakeQuantWeightsInto(w, 'int8', q1);
    const q2 = new Float64Array(300);
    fakeQuantWeightsInto(q1, 'int8', q2);
    for (let i = 0; i < 300; i++) expect(q2[i]).toBeCloseTo(q1[i]!, 12);
  });

  it('ternary: codes in {−1, 0, 1}, scale mean|W|, fake-quant = t·γ', () => {
    const w = rows(1, 301, 10);
    const { codes, scale } = quantizeTernaryAbsmean(w);
    expect(scale).toBeCloseTo(w.reduce((a, v) => a + Math.abs(v), 0) / 301, 12);
    const q = new Float64Array(301);
    fakeQuantWeightsInto(w, 'ternary', q);
    for (let i = 0; i < 301; i++) {
      expect([-1, 0, 1]).toContain(codes[i]);
      expect(q[i]).toBe(codes[i]! * scale);
    }
  });

  it('rejects an unknown weight scheme', () => {
    expect(() => fakeQuantWeightsInto([1], 'binary' as 'int8', new Float64Array(1))).toThrow(/scheme must be one of 'ternary', 'int8'; got 'binary'/);
  });
});

describe('scheme records (schemes.ts): the one source of every rule', () => {
  const all: [string, QuantScheme][] = [...Object.entries(ACTIVATION_QUANT), ...Object.entries(WEIGHT_QUANT)];
  it('name the same schemes as the config (activation scheme × bits, weight schemes)', () => {
    expect(Object.keys(ACTIVATION_QUANT).sort()).toEqual(SPECS.map((s) => `${s.scheme}${s.bits}`).sort());
    expect(Object.keys(WEIGHT_QUANT).sort()).toEqual(['int8', 'ternary']);
    for (const spec of SPECS) expect(activationScheme(spec)).toBe(ACTIVATION_QUANT[`${spec.scheme}${spec.bits}` as keyof typeof ACTIVATION_QUANT]);
  });
  for (const [name, q] of all) {
    it(`${name}: codes in range, value(code) within half a step of x inside the clip range, and the gpu.js fragments present`, () => {
      const rng = new Rng(name.length);
      const [qmin, qmax] = q.range;
      for (let t = 0; t < 500; t++) {
        const s = 0.1 + rng.next() * 3;
        const x = (rng.next() * 2 - 1) * 1.5 * s * (q.scale === 'absmean' ? 3 : 1);
        const c = q.code(x, s);
        expect(Number.isInteger(c) && c >= qmin && c <= qmax).toBe(true);
        // Inside the representable range (and, for the STE's clip mask, its decision agrees with it away from the edge).
        const d = q.step(s);
        const inside = x >= qmin * d && x <= qmax * d;
        if (inside && name !== 'ternary') expect(Math.abs(q.value(c, s) - x)).toBeLessThanOrEqual(d / 2 + 1e-12);
        if (q.inClipRange !== null && name !== 'ternary' && Math.min(Math.abs(x - qmin * d), Math.abs(x - qmax * d)) > 1e-9) expect(q.inClipRange(x, s)).toBe(inside);
      }
      expect(q.gpu.code).toMatch(/\bc\b/);
      expect(q.gpu.mask === null).toBe(q.inClipRange === null);
    });
  }
});

describe('fakeQuantWeightsInto: the inlined formulas give the scheme records’ values (quantizeWeightCodes + value)', () => {
  // Weights that hit every branch: thresholds exactly (±γ/2 ties for ternary, half-integers of W·127/s for int8),
  // zeros of both signs, NaN (absmean: a NaN scale; absmax: skipped by the scale, code 0), infinities.
  const rng = new Rng(71);
  const base = Float32Array.from({ length: 4096 }, () => rng.normal() * 0.02);
  // Exact ties. Ternary: ±0.25 and ±0.75 in equal numbers have mean|W| = 0.5, so ±0.25 sit on ±γ/2. Int8: with
  // max|W| = 127, W·127/s = W, so 2.5, −3.5, 0.5 and −1.5 are half-integers.
  const ties = (scheme: WeightScheme): Float32Array =>
    scheme === 'ternary' ? Float32Array.from({ length: 64 }, (_, i) => [0.25, -0.25, 0.75, -0.75][i % 4]!) : Float32Array.from([127, 2.5, -3.5, 0.5, -0.5, -1.5, 1.5, -127, 0, -0]);
  const withZeros = (): Float32Array => Float32Array.from(base, (x, i) => (i === 0 ? 0 : i === 1 ? -0 : x));
  const cases: Array<[string, (scheme: WeightScheme) => Float32Array]> = [
    ['random normal weights and signed zeros', withZeros],
    ['exact ties', ties],
    ['a NaN weight', () => Float32Array.from(base, (x, i) => (i === 7 ? Number.NaN : x))],
    ['an infinite weight', () => Float32Array.from(base, (x, i) => (i === 9 ? Number.POSITIVE_INFINITY : x))],
    ['all zeros (the scale floor 1e-5)', () => new Float32Array(64)],
  ];
  for (const scheme of ['ternary', 'int8'] as const) {
    for (const [name, make] of cases) {
      it(`${scheme}: ${name}`, () => {
        const w = make(scheme);
        const { codes, scale } = quantizeWeightCodes(w, scheme);
        const value = WEIGHT_QUANT[scheme].value;
        for (const Out of [Float32Array, Float64Array]) {
          const want = Out.from(Array.from(codes, (c) => value(c, scale)));
          const got = new Out(w.length);
          fakeQuantWeightsInto(w, scheme, got);
          let first = -1;
          for (let i = 0; i < w.length && first < 0; i++) if (!Object.is(got[i], want[i])) first = i;
          expect(first, `${Out.name}: first differing element ${first} (w ${w[first]}: ${got[first]} vs ${want[first]})`).toBe(-1);
        }
      });
    }
  }
});
