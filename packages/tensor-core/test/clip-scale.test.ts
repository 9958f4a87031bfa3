// The gradient-norm clip folded into AdamW (issue #18): sumSquares (fused on wasm) against its composite
// sum(mul(x, x)); clipCoefficient against clipGradNormTensor; AdamW.step({ gradScale }) against rescaling the
// gradients first and stepping. On cpu and on wasm (1 and 2 threads) each pair must agree bit for bit: the fused
// forms do the composite's f32 products and float64 sums in its order. A float64 reference checks the values
// themselves, and gradScale on the gpu.js backend (CPU mode) is checked to float32 tolerance.
import { describe, expect, it } from 'vitest';
import { AdamW, Rng, clipCoefficient, clipGradNormTensor, findBackend, hasKernel, mul, sum, sumSquares, tensor, tidy, valueAndGrad } from '../src/index.js';
import type { Backend, Tensor } from '../src/index.js';
import { useWasmBackendPair } from './helpers/wasm-backends.js';
import { createGpujsBackend } from '../src/gpujs.js';

const WASM = useWasmBackendPair('wasm-clip');

/** n values over many magnitudes (squares from f32-subnormal to ~1e12), seeded. */
function spread(seed: number, n: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => rng.normal() * 10 ** ((i % 11) - 6));
}

const SHAPES: number[][] = [[], [5], [3, 7], [1000], [33, 31], [4, 128, 96], [2, 3, 700]];

describe.each(['cpu', ...WASM])('sumSquares on %s', (name) => {
  it.each(SHAPES.map((s) => [s.join('×') || 'scalar', s] as const))('%s: the bits of sum(mul(x, x)), and float64 to rounding', (_label, shape) => {
    const b = findBackend(name);
    const n = shape.reduce((a, c) => a * c, 1);
    const xs = spread(n + 1, n);
    tidy(() => {
      const x = tensor(xs, shape, 'float32', b);
      const fused = sumSquares(x).itemSync();
      const composite = sum(mul(x, x)).itemSync();
      expect(Object.is(fused, composite), `${fused} vs ${composite}`).toBe(true);
      const f32 = Float32Array.from(xs);
      const ref = f32.reduce((a, v) => a + v * v, 0);
      expect(Math.abs(fused - ref)).toBeLessThanOrEqual(1e-6 * ref);
    });
  });

  it('its gradient is 2·x·dy, the composite gradient bit for bit', () => {
    const b = findBackend(name);
    const xs = spread(9, 3 * 500);
    tidy(() => {
      const x = tensor(xs, [3, 500], 'float32', b);
      const g1 = valueAndGrad((t: Tensor) => mul(sumSquares(t), 0.37), [x]).grads[0]!.dataSync();
      const g2 = valueAndGrad((t: Tensor) => mul(sum(mul(t, t)), 0.37), [x]).grads[0]!.dataSync();
      expect(Array.from(g1)).toEqual(Array.from(g2));
      expect(g1[7]).toBeCloseTo(2 * Math.fround(xs[7]!) * Math.fround(0.37), 5);
    });
  });
});

it('wasm has the fused kernel, cpu composes', () => {
  expect(hasKernel(findBackend(WASM[0]), 'sumSquares')).toBe(true);
  expect(hasKernel(findBackend('cpu'), 'sumSquares')).toBe(false);
});

const PARAM_SHAPES = [[64, 32], [32], [96, 32], [32, 96], [1, 7]];

/** Parameters on `b` (values seeded, requiresGrad), without gradients. */
function params(b: Backend): Tensor[] {
  return PARAM_SHAPES.map((shape, i) => {
    const p = tensor(spread(100 + i, shape.reduce((a, c) => a * c, 1)).map((v) => v * 1e3), shape, 'float32', b);
    p.requiresGrad = true;
    return p;
  });
}

/** Fresh gradients for step `step` (seeded, × gscale), replacing any the parameters hold (as a backward would). */
function setGrads(ps: readonly Tensor[], step: number, gscale: number): void {
  ps.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = tensor(spread(200 + 10 * step + i, p.size).map((v) => v * gscale), p.shape, 'float32', p.backend);
  });
}

describe.each(['cpu', ...WASM])('clipCoefficient and AdamW gradScale on %s', (name) => {
  // gscale 1e3: the norm far above maxNorm (coefficient < 1); 1e-7: below it (coefficient 1).
  it.each([1e3, 1e-7])('grads ×%s: norm and coefficient as clipGradNormTensor; scaling inside AdamW gives its parameters bit for bit', (gscale) => {
    const b = findBackend(name);
    const run = (folded: boolean): { norm: number; coef: number; params: number[][]; grads: number[][] } => {
      const ps = params(b);
      const opt = new AdamW(ps, { lr: 3e-3, weightDecay: 0.1 });
      let norm: number;
      let coef = NaN;
      const out = { params: [] as number[][], grads: [] as number[][] };
      for (let step = 0; step < 3; step++) {
        setGrads(ps, step, gscale);
        if (folded) {
          const c = clipCoefficient(ps, 1.0);
          norm = c.norm.itemSync();
          coef = c.coef.itemSync();
          c.norm.dispose();
          c.coef.dispose();
          opt.step({ gradScale: coef });
        } else {
          const t = clipGradNormTensor(ps, 1.0);
          norm = t.itemSync();
          t.dispose();
          opt.step();
        }
        if (step === 2) out.grads = ps.map((p) => Array.from(p.grad!.dataSync()));
      }
      out.params = ps.map((p) => Array.from(p.dataSync()));
      for (const p of ps) {
        p.grad!.dispose();
        p.dispose();
      }
      opt.dispose();
      return { norm: norm!, coef, ...out };
    };
    const folded = run(true);
    const separate = run(false);
    expect(folded.norm).toBe(separate.norm);
    expect(folded.params).toEqual(separate.params);
    // The last step's norm against float64: √Σ g² over every gradient.
    let ss = 0;
    const ref = params(findBackend('cpu'));
    setGrads(ref, 2, gscale);
    for (const p of ref) {
      for (const v of p.grad!.dataSync()) ss += v * v;
      p.grad!.dispose();
      p.dispose();
    }
    expect(Math.abs(folded.norm - Math.sqrt(ss))).toBeLessThanOrEqual(1e-5 * Math.sqrt(ss));
    if (gscale > 1) {
      expect(folded.coef).toBeLessThan(1);
      expect(folded.coef).toBeCloseTo(1 / (Math.sqrt(ss) + 1e-6), 6);
      // clipCoefficient leaves the gradients alone; clipGradNormTensor rescaled them.
      expect(Math.abs(folded.grads[0]![5]! / separate.grads[0]![5]! - 1 / folded.coef)).toBeLessThan(1e-5 / folded.coef);
    } else {
      expect(folded.coef).toBe(1);
      expect(folded.grads).toEqual(separate.grads);
    }
  });

  it('no gradients: norm 0, coefficient 1; a non-finite gradScale is refused', () => {
    const b = findBackend(name);
    const p = tensor([1, 2, 3], [3], 'float32', b);
    const c = clipCoefficient([p], 1);
    expect([c.norm.itemSync(), c.coef.itemSync()]).toEqual([0, 1]);
    c.norm.dispose();
    c.coef.dispose();
    const opt = new AdamW([p]);
    expect(() => opt.step({ gradScale: NaN })).toThrow(/AdamW.step: gradScale must be a finite number, got NaN/);
    p.dispose();
    opt.dispose();
  });
});

it("gpu.js (CPU mode): AdamW gradScale equals rescaling the gradient first, to float32 rounding", () => {
  const b = createGpujsBackend({ mode: 'cpu', name: 'gpujs-clip-scale' });
  try {
    const stepped = (folded: boolean): number[] => {
      const p = tensor(spread(1, 257), [257], 'float32', b);
      p.requiresGrad = true;
      p.grad = tensor(spread(2, 257), [257], 'float32', b);
      const opt = new AdamW([p], { lr: 1e-2 });
      if (folded) opt.step({ gradScale: 0.25 });
      else {
        const old = p.grad;
        p.grad = mul(old, 0.25);
        old.dispose();
        opt.step();
      }
      const out = Array.from(p.dataSync());
      p.grad.dispose();
      p.dispose();
      opt.dispose();
      return out;
    };
    const a = stepped(true);
    const c = stepped(false);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - c[i]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(c[i]!)));
  } finally {
    b.destroy();
  }
});
