import { describe, expect, it } from 'vitest';
import { Rng, splitmix64 } from '../src/index.js';

describe('splitmix64', () => {
  it('matches the reference outputs for seed 1234567 (Vigna, splitmix64.c)', () => {
    // Published reference sequence (Rosetta Code, "Pseudo-random numbers/Splitmix64", seed 1234567).
    const expected = [
      6457827717110365317n,
      3203168211198807973n,
      9817491932198370423n,
      4593380528125082431n,
      16408922859458223821n,
    ];
    let s = 1234567n;
    for (const e of expected) {
      let out: bigint;
      [s, out] = splitmix64(s);
      expect(out).toBe(e);
    }
  });
});

describe('Rng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 8 }, () => a.nextUint32());
    const xb = Array.from({ length: 8 }, () => b.nextUint32());
    const xc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('draws uniforms in [0,1) with the moments of U(0,1)', () => {
    const r = new Rng(7);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      sq += x * x;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Standard error of the mean is sqrt(1/12/n) ~ 6.5e-4; allow 5 sigma.
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(2e-3);
  });

  it('draws normals with mean 0 and variance 1', () => {
    const r = new Rng(11);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      sq += x * x;
    }
    expect(Math.abs(sum / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.02);
  });

  it('int(n) is unbiased over a small range (chi-square)', () => {
    const r = new Rng(3);
    const n = 6;
    const draws = 60_000;
    const counts = new Array<number>(n).fill(0);
    for (let i = 0; i < draws; i++) counts[r.int(n)]! += 1;
    const expected = draws / n;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    // 5 degrees of freedom: P(chi2 > 20.5) ~ 0.001.
    expect(chi2).toBeLessThan(20.5);
  });

  it('split() gives independent, reproducible child streams', () => {
    const p1 = new Rng(99);
    const p2 = new Rng(99);
    const c1 = p1.split();
    const c2 = p1.split();
    expect(p2.split().nextUint32()).toBe(c1.nextUint32());
    expect(c1.nextUint32()).not.toBe(c2.nextUint32());
  });

  it('rejects a non-integer seed and a bad range', () => {
    expect(() => new Rng(1.5)).toThrow(/seed/);
    expect(() => new Rng(1).int(0)).toThrow(/n must be/);
  });
});
