import { describe, expect, it } from 'vitest';
import { Rng } from '@bitskip/tensor-core';
import { dequantizeTernary, quantizeTernaryAbsmean } from '../src/index.js';

function randomWeights(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * 0.02);
}

describe('absmean ternary quantization', () => {
  it('produces codes in {-1, 0, +1} and scale = mean|W|', () => {
    const w = randomWeights(1031, 1);
    const { codes, scale } = quantizeTernaryAbsmean(w);
    const meanAbs = w.reduce((a, x) => a + Math.abs(x), 0) / w.length;
    expect(scale).toBeCloseTo(meanAbs, 12);
    for (const c of codes) expect([-1, 0, 1]).toContain(c);
    // For Gaussian weights, |W| > 0.5*E|W| = 0.5*sqrt(2/pi)*sigma has probability ~0.69.
    const nonzero = codes.reduce((a, c) => a + (c === 0 ? 0 : 1), 0) / codes.length;
    expect(nonzero).toBeGreaterThan(0.64);
    expect(nonzero).toBeLessThan(0.74);
  });

  it('follows the threshold rule exactly, including values at the threshold', () => {
    // mean|W| = (1 + 0.5 + 0.5 + 2) / 4 = 1, threshold 0.5: exactly 0.5 stays 0 (half-to-even of 0.5 is 0).
    const w = Float32Array.from([1, 0.5, -0.5, -2]);
    const { codes, scale } = quantizeTernaryAbsmean(w);
    expect(scale).toBe(1);
    expect(Array.from(codes)).toEqual([1, 0, 0, -1]);
  });

  it('is idempotent: quantizing W_q gives W_q back', () => {
    const q1 = dequantizeTernary(quantizeTernaryAbsmean(randomWeights(257, 2)));
    const q2 = dequantizeTernary(quantizeTernaryAbsmean(q1));
    // Re-quantizing changes the scale to mean|W_q| (zeros lower it), but codes stay fixed:
    const c1 = quantizeTernaryAbsmean(q1).codes;
    const c2 = quantizeTernaryAbsmean(q2).codes;
    expect(Array.from(c2)).toEqual(Array.from(c1));
  });

  it('clamps the scale for an all-zero tensor and rejects an empty one', () => {
    expect(quantizeTernaryAbsmean(new Float32Array(4)).scale).toBe(1e-5);
    expect(() => quantizeTernaryAbsmean(new Float32Array(0))).toThrow(/empty/);
  });
});
