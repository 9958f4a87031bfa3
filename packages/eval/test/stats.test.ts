// Activation and weight statistics against independent references: streamed float64 moments against a brute-force
// two-pass computation, a Gaussian sample's kurtosis (≈ 3 within its sampling error), a planted-outlier tensor with a
// known outlier share, the Hadamard transform spreading a single outlier (kurtosis and max |x| drop), a hand-made
// model whose site inputs are known (block Hadamard included), and ternary code shares of a hand-built matrix.
import { describe, expect, it } from 'vitest';
import { Rng, add, mul, tensor } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { fwhtInPlace } from '@bitskip/hadamard';
import { MomentAccumulator, activationStats, momentsOf, projectionWeightStats, sampleWindows, weightStats } from '../src/index.js';
import type { Moments, QuantSiteName, StatsModel, StatsProjection } from '../src/index.js';

/** Brute force in float64: mean, then central sums, then the outliers. */
function brute(x: ArrayLike<number>, sigmas = 6): Moments & { mean: number } {
  const n = x.length;
  let s = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    s += x[i]!;
    amax = Math.max(amax, Math.abs(x[i]!));
  }
  const mean = s / n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    m2 += d * d;
    m4 += d ** 4;
  }
  const std = Math.sqrt(m2 / n);
  let out = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[i]! - mean) > sigmas * std) out++;
  return { mean, std, kurtosis: (n * m4) / (m2 * m2), outlierShare: out / n, absMax: amax };
}

function gaussian(n: number, rng: Rng, mean = 0, std = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng.next();
    const v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe('MomentAccumulator', () => {
  it('merged chunks equal a brute-force float64 computation (skewed data, an offset mean, random chunk sizes)', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 5; trial++) {
      const n = 1000 + rng.int(5000);
      const x = new Float64Array(n);
      // A skewed mixture far from zero: exercises m3 and the mean shift between chunks.
      for (let i = 0; i < n; i++) x[i] = 50 + (rng.next() < 0.1 ? 5 * rng.next() ** 3 : rng.next() - 0.5);
      const acc = new MomentAccumulator();
      for (let i = 0; i < n; ) {
        const len = 1 + rng.int(700);
        acc.add(x.subarray(i, Math.min(n, i + len)));
        i += len;
      }
      const b = brute(x);
      expect(acc.n).toBe(n);
      expect(rel(acc.mean, b.mean)).toBeLessThan(1e-12);
      expect(rel(acc.std, b.std)).toBeLessThan(1e-9);
      expect(rel(acc.kurtosis, b.kurtosis)).toBeLessThan(1e-8);
      expect(acc.absMax).toBe(b.absMax);
      // The third moment against its own brute force: Σ(x − mean)³.
      let m3 = 0;
      for (const v of x) m3 += (v - b.mean) ** 3;
      expect(rel(acc.m3, m3)).toBeLessThan(1e-7);
      // Merging two accumulators equals adding the chunks to one.
      const a1 = new MomentAccumulator().add(x.subarray(0, 300));
      const a2 = new MomentAccumulator().add(x.subarray(300));
      a1.addAccumulator(a2);
      expect(rel(a1.kurtosis, b.kurtosis)).toBeLessThan(1e-8);
    }
  });

  it('a Gaussian sample has kurtosis 3 within its sampling error and no 6σ outliers', () => {
    const n = 200_000;
    const x = gaussian(n, new Rng(3), 2, 0.5);
    const m = momentsOf(x);
    const se = Math.sqrt(24 / n); // the standard error of the sample kurtosis of a normal sample
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(4 * se);
    expect(rel(m.std, 0.5)).toBeLessThan(0.01);
    expect(m.outlierShare).toBe(0); // P(|z| > 6) ≈ 2e-9
  });

  it('planted outliers: the share is the planted count, the moments match brute force', () => {
    const n = 10_000;
    const x = gaussian(n, new Rng(5));
    const rng = new Rng(6);
    const planted = new Set<number>();
    while (planted.size < 20) planted.add(rng.int(n));
    for (const i of planted) x[i] = rng.next() < 0.5 ? -100 : 100; // var ≈ 1 + 20·100²/n = 21, 6σ ≈ 27 < 100
    const m = momentsOf(x);
    const b = brute(x);
    expect(m.outlierShare).toBe(20 / n);
    expect(b.outlierShare).toBe(20 / n);
    expect(rel(m.kurtosis, b.kurtosis)).toBeLessThan(1e-9);
    expect(m.absMax).toBe(100);
  });

  it('the Hadamard transform spreads a single outlier: kurtosis and max |x| drop (a property, 20 random cases)', () => {
    const rng = new Rng(9);
    for (let trial = 0; trial < 20; trial++) {
      const n = 64 << rng.int(4); // 64..512
      const x = gaussian(n, rng);
      x[rng.int(n)] = (rng.next() < 0.5 ? -1 : 1) * (10 + 40 * rng.next());
      const y = Float64Array.from(x);
      fwhtInPlace(y, n);
      const before = momentsOf(x);
      const after = momentsOf(y);
      expect(after.kurtosis).toBeLessThan(before.kurtosis);
      expect(after.absMax).toBeLessThan(before.absMax);
      expect(rel(after.std * after.std + 0, before.std * before.std)).toBeLessThan(0.2); // orthonormal: energy kept (mean aside)
    }
  });
});

describe('activationStats', () => {
  /** A hand-made model: site inputs are fixed functions of the ids, residual = ids·layer, block Hadamard on o. */
  function fakeModel(L: number, width: number, hadamardBlock: number | null): StatsModel {
    const proj = (h: boolean): StatsProjection => ({ weight: tensor([0.5, -0.5, 0, 1], [2, 2]), hadamard: h, config: { hadamardBlock, weightScheme: 'ternary' } });
    const fp = (): StatsProjection => ({ weight: tensor([1, 2, 3, 4], [2, 2]) });
    return {
      numLayers: L,
      layers: Array.from({ length: L }, () => ({ attn: { q: fp(), k: fp(), v: fp(), o: proj(true) }, mlp: { gate: fp(), up: fp(), down: proj(false) } })),
      forward(ids: Tensor, opts): { hidden: Tensor; exits: Map<number, Tensor> } {
        const [B, T] = ids.shape as [number, number];
        const v = Array.from(ids.dataSync());
        const exits = new Map<number, Tensor>();
        let hidden = ids;
        for (let l = 1; l <= L; l++) {
          const sites: [QuantSiteName, number][] = [['qkv', 1], ['o', 2], ['gate_up', 3], ['down', 4]];
          for (const [site, k] of sites) {
            const x = tensor(
              Array.from({ length: B * T * width }, (_, i) => Math.sin(v[Math.floor(i / width)]! * (i % width) + k * l) * ((i % width) % 7 === 0 ? 5 : 1)),
              [B, T, width],
            );
            opts.observe(l, site, x);
          }
          hidden = add(mul(tensor(v, [B, T, 1]), tensor(Array.from({ length: width }, (_, j) => l + j / width), [1, 1, width])), tensor([0], [1]));
          if (opts.collect.includes(l)) exits.set(l, hidden);
        }
        return { hidden, exits };
      },
    };
  }

  it('equals brute force over every window, with the block Hadamard where the projection has one', () => {
    const L = 3;
    const width = 8;
    const T = 5;
    const windows = sampleWindows(Int32Array.from({ length: 200 }, (_, i) => (i * 37) % 11), 7, T, new Rng(1));
    const model = fakeModel(L, width, 4);
    const stats = activationStats(model, { windows, seqLen: T, batchSize: 3 });
    expect(stats.map((s) => s.layer)).toEqual([1, 2, 3]);
    // Brute force: the same site inputs, collected whole.
    const seen = new Map<string, number[]>();
    model.forward(tensor(windows, [7, T], 'int32'), {
      collect: [1, 2],
      logits: false,
      observe: (l, site, x) => seen.set(`${l}:${site}`, Array.from(x.dataSync())),
    });
    const residual = (l: number): number[] => Array.from(windows).flatMap((id) => Array.from({ length: width }, (_, j) => id * (l + j / width)));
    for (const s of stats) {
      const r = brute(residual(s.layer));
      expect(rel(s.residual.std, r.std)).toBeLessThan(1e-6);
      expect(rel(s.residual.kurtosis, r.kurtosis)).toBeLessThan(1e-5);
      expect(s.quantizers.map((q) => q.projection)).toEqual(['qkv', 'o', 'gate_up', 'down']);
      for (const q of s.quantizers) {
        const x = seen.get(`${s.layer}:${q.projection}`)!;
        const b = brute(x);
        expect(rel(q.input.std, b.std)).toBeLessThan(1e-6);
        expect(rel(q.input.kurtosis, b.kurtosis)).toBeLessThan(1e-5);
        expect(q.input.outlierShare).toBe(b.outlierShare);
        expect(q.input.absMax).toBeCloseTo(b.absMax, 6);
        if (q.projection === 'o') {
          const y = Float64Array.from(x);
          fwhtInPlace(y, 4); // block 4 over contiguous runs of the last axis
          const br = brute(y);
          expect(q.rotated).not.toBeNull();
          expect(rel(q.rotated!.std, br.std)).toBeLessThan(1e-5);
          expect(rel(q.rotated!.kurtosis, br.kurtosis)).toBeLessThan(1e-4);
        } else {
          expect(q.rotated).toBeNull(); // fp32 projections and a BitLinear without Hadamard
        }
      }
    }
  });

  it('rejects windows that are not whole rows', () => {
    const model = fakeModel(1, 4, null);
    expect(() => activationStats(model, { windows: new Int32Array(7), seqLen: 5 })).toThrow(/not a positive multiple of seqLen 5/);
  });

  it('sampleWindows: the same seed gives the same windows, each a contiguous run of the tokens', () => {
    const tokens = Int32Array.from({ length: 100 }, (_, i) => i);
    const a = sampleWindows(tokens, 6, 10, new Rng(4));
    expect(sampleWindows(tokens, 6, 10, new Rng(4))).toEqual(a);
    for (let w = 0; w < 6; w++) for (let t = 1; t < 10; t++) expect(a[w * 10 + t]).toBe(a[w * 10]! + t);
    expect(() => sampleWindows(tokens, 1, 101, new Rng(1))).toThrow(/too few/);
  });
});

describe('weight statistics', () => {
  it('ternary shares, absmean scale and std of a hand-built matrix', () => {
    // mean|W| = 7.4 / 8 = 0.925; W/γ = 1.08, −1.08, 0.108, −0.108, 2.16, 0, 0.216, −3.24 → +1, −1, 0, 0, +1, 0, 0, −1.
    const w = [1, -1, 0.1, -0.1, 2, 0, 0.2, -3];
    const s = projectionWeightStats('q', { weight: tensor(w, [2, 4]), config: { weightScheme: 'ternary' } });
    expect(s.scheme).toBe('ternary');
    expect(s.scale).toBeCloseTo(0.925, 6);
    expect(s.shares).toEqual({ neg: 2 / 8, zero: 4 / 8, pos: 2 / 8 });
    const mean = -0.1;
    const std = Math.sqrt(w.reduce((a, v) => a + (v - mean) ** 2, 0) / 8);
    expect(s.std).toBeCloseTo(std, 6);
    const f = projectionWeightStats('down', { weight: tensor(w, [2, 4]) });
    expect(f).toMatchObject({ name: 'down', scheme: 'fp32', scale: null, shares: null });
  });

  it('weightStats lists every layer and projection in order', () => {
    const p = (): StatsProjection => ({ weight: tensor([1, -1, 0, 0.5], [2, 2]), config: { weightScheme: 'ternary' } });
    const layers = Array.from({ length: 2 }, () => ({ attn: { q: p(), k: p(), v: p(), o: p() }, mlp: { gate: p(), up: p(), down: p() } }));
    const s = weightStats({ layers });
    expect(s.map((l) => l.layer)).toEqual([1, 2]);
    expect(s[1]!.projections.map((q) => q.name)).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
  });
});
