// Layer-dropout schedules (SPEC §6): BitSkip's quadratic rates and both readings of "normalised so Σp = 1",
// LayerSkip's exponential rates and time curriculum S(t) against the formulas, the empirical per-layer drop rates of
// the seeded masks against the schedule (binomial bound), and the validation of schedule objects.
import { describe, expect, it } from 'vitest';
import { Rng } from '@bitskip/tensor-core';
import {
  BITSKIP_LAYER_DROP,
  NO_LAYER_DROP,
  checkLayerDropSchedule,
  exponentialDropRates,
  layerDropRates,
  layerSkipTimeScale,
  quadraticDropRates,
  sampleLayerDrop,
} from '../src/index.js';

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

describe('layerSkipTimeScale: S(t) = e^{t ln2 / (T−1)} − 1', () => {
  const S = (t: number, T: number): number => Math.exp((t * Math.log(2)) / (T - 1)) - 1;

  it('is 0 at t = 0, 1 at t = T − 1 and √2 − 1 in the middle, as the formula', () => {
    for (const T of [2, 11, 101, 50_000]) {
      expect(layerSkipTimeScale(0, T)).toBe(0);
      expect(layerSkipTimeScale(T - 1, T)).toBeCloseTo(1, 14);
      expect(layerSkipTimeScale((T - 1) / 2, T)).toBeCloseTo(Math.SQRT2 - 1, 14);
      for (const t of [1, Math.floor(T / 3), T - 2]) if (t >= 0 && t < T) expect(layerSkipTimeScale(t, T)).toBeCloseTo(S(t, T), 14);
    }
    // Steps outside [0, T − 1] are clamped; one step of training is S = 1 (no curriculum to speak of).
    expect(layerSkipTimeScale(-5, 11)).toBe(0);
    expect(layerSkipTimeScale(20, 11)).toBeCloseTo(1, 14);
    expect(layerSkipTimeScale(0, 1)).toBe(1);
    expect(() => layerSkipTimeScale(0, 0)).toThrow(/totalSteps must be >= 1, got 0/);
  });

  it('scales LayerSkip\'s rates: p_{l,t} = S(t) · D(l) · p_max', () => {
    const L = 12;
    const T = 41;
    const s = { kind: 'exponential', pMax: 0.3, timeCurriculum: true } as const;
    for (const t of [0, 7, 20, 40]) {
      const p = layerDropRates(s, L, t, T);
      p.forEach((pl, l) => expect(pl).toBeCloseTo(S(t, T) * (2 ** (l / (L - 1)) - 1) * 0.3, 14));
    }
    // Without the time curriculum (fine-tuning), S = 1 at every step.
    expect(layerDropRates({ ...s, timeCurriculum: false }, L, 0, T)).toEqual(exponentialDropRates(L, 0.3));
  });
});

describe('"normalised so Σp = 1": both readings', () => {
  it("'scaled': independent rates p_l / Σp that sum to 1, ∝ l², the last layer 0, whatever c", () => {
    for (const L of [4, 8, 24]) {
      for (const c of [0.5, 1, 0.1]) {
        const p = layerDropRates({ kind: 'quadratic', c, normalize: 'scaled' }, L);
        expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(p[L - 1]).toBe(0);
        expect(p[0]).toBe(0);
        const sumSq = Array.from({ length: L - 1 }, (_, l) => l * l).reduce((a, b) => a + b, 0);
        for (let l = 0; l < L - 1; l++) expect(p[l]).toBeCloseTo((l * l) / sumSq, 14);
      }
    }
  });

  it("'categorical': every row drops exactly one layer, never the last, drawn with probabilities p_l / Σp", () => {
    const L = 8;
    const s = { kind: 'quadratic', c: 0.5, normalize: 'categorical' } as const;
    const p = layerDropRates(s, L);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const rng = new Rng(3);
    const counts = new Array<number>(L).fill(0);
    const batch = 50;
    const draws = 200;
    const perRow = new Map<number, number>(); // dropped layers in a row -> rows
    for (let d = 0; d < draws; d++) {
      const m = sampleLayerDrop(s, L, batch, rng)!;
      for (let b = 0; b < batch; b++) {
        const dropped = m.keep.map((k, l) => (k[b] === 0 ? l : -1)).filter((l) => l >= 0);
        perRow.set(dropped.length, (perRow.get(dropped.length) ?? 0) + 1);
        for (const l of dropped) counts[l]!++;
      }
    }
    expect([...perRow]).toEqual([[1, batch * draws]]);
    expect(counts[L - 1]).toBe(0);
    expectBinomial('categorical', counts, p, batch * draws);
  });
});

/** Each count within 4.5 binomial standard deviations of n·p (exactly 0 where p = 0). */
function expectBinomial(what: string, counts: readonly number[], p: readonly number[], n: number): void {
  counts.forEach((k, l) => {
    const pl = p[l]!;
    if (pl === 0) {
      expect(k, `${what}: layer ${l} has rate 0`).toBe(0);
      return;
    }
    const sd = Math.sqrt(n * pl * (1 - pl));
    expect(Math.abs(k - n * pl), `${what}: layer ${l}: ${k} drops of ${n}, expected ${(n * pl).toFixed(1)} ± ${sd.toFixed(1)}`).toBeLessThanOrEqual(4.5 * sd + 1e-9);
  });
}

describe('sampleLayerDrop', () => {
  const schedules = [
    ['quadratic (the cards)', BITSKIP_LAYER_DROP, 0, 1],
    ['quadratic scaled', { kind: 'quadratic', c: 0.5, normalize: 'scaled' }, 0, 1],
    ['exponential, step 30 of 40', { kind: 'exponential', pMax: 0.5, timeCurriculum: true }, 30, 40],
    ['exponential, no time curriculum', { kind: 'exponential', pMax: 0.2, timeCurriculum: false }, 0, 1],
  ] as const;

  for (const [name, s, step, total] of schedules) {
    it(`${name}: per-layer empirical drop rates match the schedule (binomial, 4.5σ)`, () => {
      const L = 12;
      const p = layerDropRates(s, L, step, total);
      const rng = new Rng(17);
      const counts = new Array<number>(L).fill(0);
      const batch = 64;
      const draws = 150;
      let perRow = 0;
      let bad = 0;
      for (let d = 0; d < draws; d++) {
        const m = sampleLayerDrop(s, L, batch, rng, step, total)!;
        if (m.keep.length !== L) bad++;
        m.keep.forEach((k, l) => {
          if (k.length !== batch) bad++;
          for (const v of k) {
            if (v !== 0 && v !== 1) bad++;
            if (v === 0) {
              counts[l]!++;
              perRow++;
            }
          }
        });
      }
      expect(bad, 'masks are L rows of batch 0/1 flags').toBe(0);
      expectBinomial(name, counts, p, batch * draws);
      // Independent per row: the rows of one draw are not all alike.
      if (s.kind === 'quadratic' && s.normalize === 'scaled') expect(perRow / (batch * draws)).toBeCloseTo(1, 1); // Σp = 1 expected drop per row
    });
  }

  it('is a function of the seed: the same seed gives the same masks, another seed others', () => {
    const s = { kind: 'quadratic', c: 0.5, normalize: 'scaled' } as const;
    const r1 = new Rng(5);
    const r2 = new Rng(5);
    const r3 = new Rng(6);
    const m1 = [0, 1, 2].map(() => sampleLayerDrop(s, 6, 16, r1));
    const m2 = [0, 1, 2].map(() => sampleLayerDrop(s, 6, 16, r2));
    const m3 = [0, 1, 2].map(() => sampleLayerDrop(s, 6, 16, r3));
    expect(m2).toEqual(m1);
    expect(m3).not.toEqual(m1);
  });

  it('returns null and draws nothing when no layer can drop', () => {
    const rng = new Rng(9);
    const ref = new Rng(9);
    expect(sampleLayerDrop(NO_LAYER_DROP, 8, 4, rng)).toBeNull();
    // LayerSkip's schedule from scratch starts at S(0) = 0.
    expect(sampleLayerDrop({ kind: 'exponential', pMax: 0.2, timeCurriculum: true }, 8, 4, rng, 0, 100)).toBeNull();
    expect(sampleLayerDrop(BITSKIP_LAYER_DROP, 1, 4, rng)).toBeNull(); // one layer: the last, never dropped
    expect(rng.next()).toBe(ref.next());
    expect(() => sampleLayerDrop(BITSKIP_LAYER_DROP, 8, 0, rng)).toThrow(/batch must be a positive integer, got 0/);
    expect(() => sampleLayerDrop(BITSKIP_LAYER_DROP, 0, 4, rng)).toThrow(/numLayers must be a positive integer, got 0/);
  });
});

describe('checkLayerDropSchedule', () => {
  it('fills defaults and returns valid schedules', () => {
    expect(checkLayerDropSchedule({ kind: 'none' })).toEqual(NO_LAYER_DROP);
    expect(checkLayerDropSchedule({ kind: 'quadratic' })).toEqual({ kind: 'quadratic', c: 0.5, normalize: 'none' });
    expect(checkLayerDropSchedule({ kind: 'quadratic', normalize: 'categorical', c: 1 })).toEqual({ kind: 'quadratic', c: 1, normalize: 'categorical' });
    expect(checkLayerDropSchedule({ kind: 'exponential' })).toEqual({ kind: 'exponential', pMax: 0.2, timeCurriculum: true });
    expect(BITSKIP_LAYER_DROP).toEqual({ kind: 'quadratic', c: 0.5, normalize: 'none' });
  });

  it('errors name the key and the allowed values', () => {
    expect(() => checkLayerDropSchedule(null)).toThrow(/layerDrop: expected an object with "kind", got null/);
    expect(() => checkLayerDropSchedule({ kind: 'linear' })).toThrow(/layerDrop: "kind" must be one of 'none', 'quadratic', 'exponential', got "linear"/);
    expect(() => checkLayerDropSchedule({ kind: 'none', c: 0.5 })).toThrow(/unknown key "c" for kind 'none'; allowed: kind/);
    expect(() => checkLayerDropSchedule({ kind: 'quadratic', pMax: 0.2 })).toThrow(/unknown key "pMax" for kind 'quadratic'; allowed: kind, c, normalize/);
    expect(() => checkLayerDropSchedule({ kind: 'quadratic', c: 1.5 })).toThrow(/"c" must be a number in \[0, 1\], got 1.5/);
    expect(() => checkLayerDropSchedule({ kind: 'quadratic', c: '0.5' })).toThrow(/"c" must be a number in \[0, 1\], got "0.5"/);
    expect(() => checkLayerDropSchedule({ kind: 'quadratic', normalize: 'sum' })).toThrow(/"normalize" must be one of 'none', 'scaled', 'categorical', got "sum"/);
    expect(() => checkLayerDropSchedule({ kind: 'exponential', pMax: -0.1 })).toThrow(/"pMax" must be a number in \[0, 1\], got -0.1/);
    expect(() => checkLayerDropSchedule({ kind: 'exponential', timeCurriculum: 'yes' })).toThrow(/"timeCurriculum" must be true or false, got "yes"/);
    expect(() => checkLayerDropSchedule({ kind: 'exponential', c: 0.5 })).toThrow(/unknown key "c" for kind 'exponential'; allowed: kind, pMax, timeCurriculum/);
  });
});
