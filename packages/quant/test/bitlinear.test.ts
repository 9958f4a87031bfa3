// BitLinear / H-BitLinear: STE gradients, config validation, freeze() and the packed path.
import { describe, expect, it } from 'vitest';
import { AdamW, Rng, findBackend, getBackend, grad, mul, randn, sum, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import {
  BitLinear,
  DEFAULT_QUANT_CONFIG,
  HBitLinear,
  bitLinearFor,
  quantizeActivations,
  quantizeWeights,
  resolveQuantConfig,
  usesHadamard,
} from '../src/index.js';
import type { QuantConfig } from '../src/index.js';

const vals = (t: Tensor): number[] => Array.from(t.dataSync());

describe('straight-through estimator', () => {
  it('identity: the gradient of sum(w ⊙ q(x)) is w, for activations and weights', () => {
    tidy(() => {
      const b = findBackend('cpu64');
      const x = randn([3, 16], new Rng(1), 2, 0, b);
      const w = randn([3, 16], new Rng(2), 1, 0, b);
      for (const spec of [{ bits: 8, scheme: 'absmax' }, { bits: 4, scheme: 'absmean' }] as const) {
        const [g] = grad((xx) => sum(mul(w, quantizeActivations(xx, spec))), [x]);
        expect(vals(g!)).toEqual(vals(w));
      }
      for (const scheme of ['ternary', 'int8'] as const) {
        const [g] = grad((xx) => sum(mul(w, quantizeWeights(xx, scheme))), [x]);
        expect(vals(g!)).toEqual(vals(w));
      }
    });
  });

  it('clipped: the gradient is zero exactly where x is outside the clip range', () => {
    tidy(() => {
      const b = findBackend('cpu64');
      const x = randn([4, 32], new Rng(3), 1, 0, b);
      const xv = vals(x);
      // absmean int4 clips at [−8β/√7, 7β/√7] per token, i.e. −8β ≤ x·√7 ≤ 7β
      const [g] = grad((xx) => sum(quantizeActivations(xx, { bits: 4, scheme: 'absmean' }, 'clipped')), [x]);
      const gv = vals(g!);
      let zeros = 0;
      for (let r = 0; r < 4; r++) {
        const row = xv.slice(r * 32, (r + 1) * 32);
        const beta = row.reduce((a, v) => a + Math.abs(v), 0) / 32;
        row.forEach((v, i) => {
          const inside = v * Math.sqrt(7) >= -8 * beta && v * Math.sqrt(7) <= 7 * beta;
          expect(gv[r * 32 + i]).toBe(inside ? 1 : 0);
          if (!inside) zeros++;
        });
      }
      expect(zeros).toBeGreaterThan(0); // the case exercises clipping
      // ternary weights clip at |W| ≤ γ
      const [gw] = grad((xx) => sum(quantizeWeights(xx, 'ternary', 'clipped')), [x]);
      const gamma = xv.reduce((a, v) => a + Math.abs(v), 0) / xv.length;
      expect(vals(gw!)).toEqual(xv.map((v) => (Math.abs(v) <= gamma ? 1 : 0)));
    });
  });

  it('rejects an unknown STE mode', () => {
    tidy(() => {
      expect(() => quantizeWeights(randn([2, 2], new Rng(1)), 'ternary', 'soft' as 'identity')).toThrow(/ste must be one of 'identity', 'clipped'; got 'soft'/);
    });
  });
});

describe('resolveQuantConfig', () => {
  it('fills defaults and validates overrides, naming the key and the allowed values', () => {
    expect(resolveQuantConfig()).toEqual(DEFAULT_QUANT_CONFIG);
    expect(resolveQuantConfig({ activationBits: 4, activationScheme: 'absmean', hadamard: true }).activationScheme).toBe('absmean');
    expect(() => resolveQuantConfig({ activationBit: 4 })).toThrow(/unknown key 'activationBit'; allowed keys: weightScheme, activationBits/);
    expect(() => resolveQuantConfig({ activationBits: 2 })).toThrow(/activationBits must be one of 8, 4; got 2/);
    expect(() => resolveQuantConfig({ weightScheme: 'binary' })).toThrow(/weightScheme must be one of 'ternary', 'int8'; got 'binary'/);
    expect(() => resolveQuantConfig({ activationScheme: 'absmean' })).toThrow(/'absmean' is defined for activationBits 4 only/);
    expect(() => resolveQuantConfig({ hadamardBlock: 12 })).toThrow(/hadamardBlock must be null or a power of two .* got 12/);
    expect(() => resolveQuantConfig({ hadamardProjections: ['o', 'ffn'] })).toThrow(/hadamardProjections\[\] must be one of 'q', 'k', 'v', 'o', 'gate', 'up', 'down'; got 'ffn'/);
    expect(() => resolveQuantConfig({ paperCompat: 'yes' })).toThrow(/paperCompat must be true or false; got 'yes'/);
    expect(() => resolveQuantConfig(3)).toThrow(/expected an object/);
  });

  it('Hadamard placement: BitNet v2 default (o, down) or all', () => {
    const v2 = resolveQuantConfig({ hadamard: true });
    expect(['q', 'k', 'v', 'o', 'gate', 'up', 'down'].filter((p) => usesHadamard(v2, p as 'q'))).toEqual(['o', 'down']);
    const all = resolveQuantConfig({ hadamard: true, hadamardProjections: 'all' });
    expect(usesHadamard(all, 'q')).toBe(true);
    expect(usesHadamard(resolveQuantConfig(), 'o')).toBe(false);
    expect(bitLinearFor('down', 16, 8, new Rng(1), { hadamard: true })).toBeInstanceOf(HBitLinear);
    expect(bitLinearFor('q', 16, 8, new Rng(1), { hadamard: true })).not.toBeInstanceOf(HBitLinear);
  });
});

describe('BitLinear', () => {
  it('has no bias by default, an optional inner RMSNorm, and leaves no buffers behind after a step', () => {
    const layer = new BitLinear(32, 16, new Rng(1), { config: { innerNorm: true } });
    expect(layer.namedParameters().map(([n]) => n)).toEqual(['weight', 'norm.weight']);
    const before = getBackend().numLiveBuffers();
    tidy(() => {
      const y = layer.forward(randn([2, 3, 32], new Rng(2)));
      expect(y.shape).toEqual([2, 3, 16]);
      sum(y).backward();
    });
    layer.zeroGrad();
    expect(getBackend().numLiveBuffers()).toBe(before);
    layer.dispose();
  });

  it('H-BitLinear errors name the size', () => {
    expect(() => new HBitLinear(48, 8, new Rng(1))).toThrow(/inFeatures 48 is not a power of two; set hadamardBlock/);
    expect(() => new HBitLinear(32, 12, new Rng(1), { config: { paperCompat: true } })).toThrow(/outFeatures a power of two, got 12/);
    expect(() => new HBitLinear(48, 8, new Rng(1), { config: { hadamardBlock: 32 } })).toThrow(/hadamardBlock 32 does not divide inFeatures 48/);
  });

  const variants: [string, typeof BitLinear, Partial<QuantConfig>][] = [
    ['BitLinear a8', BitLinear, {}],
    ['BitLinear a8 + norm', BitLinear, { innerNorm: true }],
    ['BitLinear a4 absmax', BitLinear, { activationBits: 4 }],
    ['BitLinear a4 absmean', BitLinear, { activationBits: 4, activationScheme: 'absmean' }],
    ['HBitLinear a8', HBitLinear, { hadamard: true }],
    ['HBitLinear a4 absmean block 32', HBitLinear, { hadamard: true, activationBits: 4, activationScheme: 'absmean', hadamardBlock: 32 }],
  ];
  for (const [name, cls, config] of variants) {
    it(`${name}: the frozen (packed) forward equals the fake-quant forward to float rounding`, () => {
      for (const [inF, outF] of [
        [64, 24],
        [128, 37],
        [96, 5],
      ] as const) {
        if (cls === HBitLinear && (inF & (inF - 1)) !== 0 && config.hadamardBlock === undefined) continue;
        const layer = new cls(inF, outF, new Rng(inF + outF), { config });
        const x = randn([3, 5, inF], new Rng(7));
        const yFake = tidy(() => vals(layer.eval().forward(x)));
        layer.freeze({ allowUntrained: true, kernel: 'plain' });
        expect(layer.frozen).toBe(true);
        const yPacked = tidy(() => vals(layer.forward(x)));
        const scale = Math.max(...yFake.map(Math.abs));
        yPacked.forEach((v, i) => expect(Math.abs(v - yFake[i]!)).toBeLessThanOrEqual(1e-5 * scale));
        x.dispose();
        layer.dispose();
      }
    });
  }

  it('freeze(): packed weights take ≤ 1/12 of their fp32 bytes; the latent weight is released', () => {
    const ratios: number[] = [];
    for (const [inF, outF] of [
      [512, 256],
      [100, 30],
    ] as const) {
      const layer = new BitLinear(inF, outF, new Rng(1));
      const fp32 = layer.weightBytes();
      layer.freeze({ allowUntrained: true, kernel: 'plain' });
      ratios.push(layer.weightBytes() / fp32);
      expect(layer.parameters()).toEqual([]);
      expect(layer.weight.isDisposed).toBe(true);
      layer.dispose();
    }
    expect(ratios[0]).toBeCloseTo(1 / 16, 4); // K a multiple of 64: exactly 2 bits per weight (+ γ)
    for (const r of ratios) expect(r).toBeLessThanOrEqual(1 / 12);
  });

  it('freeze() errors: untrained, already frozen, int8 weights, paperCompat', () => {
    const layer = new BitLinear(32, 8, new Rng(1));
    expect(() => layer.freeze()).toThrow(/BitLinear.freeze: the weights are still their initial values \(untrained\).*allowUntrained/);
    // One optimizer step counts as trained.
    const opt = new AdamW(layer.parameters(), { lr: 1e-2 });
    tidy(() => {
      sum(layer.forward(randn([2, 32], new Rng(2)))).backward();
      opt.step();
    });
    layer.zeroGrad();
    layer.freeze({ kernel: 'plain' });
    expect(() => layer.freeze()).toThrow(/BitLinear.freeze: the layer is already frozen/);
    layer.dispose();
    const int8 = new BitLinear(32, 8, new Rng(1), { config: { weightScheme: 'int8' } });
    expect(() => int8.freeze({ allowUntrained: true })).toThrow(/needs weightScheme 'ternary'; this layer has 'int8' \(allowed: 'ternary'\)/);
    const paper = new HBitLinear(32, 8, new Rng(1), { config: { hadamard: true, paperCompat: true } });
    expect(() => paper.freeze({ allowUntrained: true })).toThrow(/paperCompat .* has no packed integer form/);
    int8.dispose();
    paper.dispose();
  });
});
