import { describe, expect, it } from 'vitest';
import { numParams, PAPER_CONFIG, resolveModelConfig } from '../src/index.js';

describe('model config', () => {
  it('counts ~1.06 B parameters for the released configuration (SPEC §3)', () => {
    // Written out independently: q,o: 2048x2048; k,v: 2048x512; SwiGLU 3 x 2048x4096; 2 norms per layer;
    // untied embedding and head 50257x2048; final norm.
    const perLayer = 2 * 2048 * 2048 + 2 * 2048 * 512 + 3 * 2048 * 4096 + 2 * 2048;
    const expected = 24 * perLayer + 2 * 50257 * 2048 + 2048;
    expect(numParams(PAPER_CONFIG)).toBe(expected);
    expect(expected / 1e9).toBeCloseTo(1.06, 2);
  });

  it('validates overrides, naming the key', () => {
    expect(resolveModelConfig({ numLayers: 4 }).numLayers).toBe(4);
    expect(() => resolveModelConfig({ layers: 4 })).toThrow(/unknown key "layers"/);
    expect(() => resolveModelConfig({ hidden: '64' })).toThrow(/"hidden" must be a number/);
    expect(() => resolveModelConfig({ variant: 'v9' })).toThrow(/"variant" must be one of baseline, v1, v2, v3/);
    expect(() => resolveModelConfig({ numKvHeads: 5 })).toThrow(/multiple of "numKvHeads"/);
    expect(() => resolveModelConfig({ headDim: 0 })).toThrow(/positive integer/);
  });
});
