// The model config (SPEC §3–5): presets, the parameter count of the released configuration written out by hand,
// the FLOPs-per-token estimate against a hand count, validation errors that name the key and what is allowed, and
// the paper-compatibility switches.
import { describe, expect, it } from 'vitest';
import { getBackend } from '@bitskip/tensor-core';
import {
  HADAMARD_PLACEMENTS,
  LOW_BIT_SCHEMES,
  ModelConfigError,
  PAPER_COMPAT_KEYS,
  PAPER_CONFIG,
  PRESETS,
  PRESET_NAMES,
  VARIANTS,
  flopsPerToken,
  numParams,
  paperCompatFlags,
  resolveModelConfig,
} from '../src/index.js';
import type { ModelConfig } from '../src/index.js';

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

describe('presets', () => {
  it('are the four named shapes, frozen, and resolve to themselves', () => {
    expect([...PRESET_NAMES]).toEqual(['paper', 'study', 'quick', 'tiny']);
    expect(Object.keys(PRESETS).sort()).toEqual([...PRESET_NAMES].sort());
    for (const name of PRESET_NAMES) {
      expect(Object.isFrozen(PRESETS[name])).toBe(true);
      expect(resolveModelConfig({}, name)).toEqual(PRESETS[name]);
      // Resolving returns a copy: the preset is never mutated by an override.
      const r = resolveModelConfig({ numLayers: 2 }, name);
      expect(r.numLayers).toBe(2);
      expect(PRESETS[name].numLayers).not.toBe(2);
    }
    expect(PAPER_CONFIG).toBe(PRESETS.paper);
    // The default base is the paper preset.
    expect(resolveModelConfig()).toEqual(PRESETS.paper);
  });

  it('paper is the released configuration (SPEC §3); study has the paper\'s 24 layers', () => {
    const p = PRESETS.paper;
    expect(p).toMatchObject({ variant: 'v1', numLayers: 24, dim: 2048, numHeads: 32, numKvHeads: 8, headDim: 64, ffnDim: 4096, vocabSize: 50257, maxSeqLen: 512 });
    expect(paperCompatFlags(p)).toEqual([]);
    expect(PRESETS.study.numLayers).toBe(24);
    expect(PRESETS.quick.numLayers).toBe(8);
    expect(PRESETS.tiny.numLayers).toBe(4);
  });

  it('every preset is valid for every variant (all Hadamard widths are powers of two)', () => {
    for (const name of PRESET_NAMES) {
      const p = PRESETS[name];
      for (const w of [p.dim, p.numHeads * p.headDim, p.ffnDim]) expect(isPow2(w), `${name}: width ${w}`).toBe(true);
      for (const variant of VARIANTS) {
        for (const hadamardPlacement of HADAMARD_PLACEMENTS) {
          expect(resolveModelConfig({ variant, hadamardPlacement }, name).variant).toBe(variant);
        }
      }
    }
  });
});

describe('numParams', () => {
  it('counts 1.06 B ± 1% for the paper preset, written out by hand, allocating nothing', () => {
    const live = getBackend().numLiveBuffers();
    // Per layer: q 2048×(32·64), k and v 2048×(8·64), o (32·64)×2048; SwiGLU gate, up 2048×4096 and down
    // 4096×2048; two RMSNorm gains of 2048. Untied embedding and head 50257×2048 each; the final norm's 2048.
    const q = 2048 * 2048;
    const kv = 2048 * 512;
    const o = 2048 * 2048;
    const swiglu = 2048 * 4096 * 3;
    const perLayer = q + 2 * kv + o + swiglu + 2 * 2048;
    const expected = 24 * perLayer + 50257 * 2048 + 2048 * 50257 + 2048;
    expect(expected).toBe(1_061_591_040);
    const n = numParams(PRESETS.paper);
    expect(n).toBe(expected);
    expect(Math.abs(n / 1.06e9 - 1)).toBeLessThan(0.01);
    expect(getBackend().numLiveBuffers()).toBe(live);
  });

  it('is the same for every variant (quantization adds no parameters) and follows the shape', () => {
    const base = numParams(PRESETS.tiny);
    for (const variant of VARIANTS) expect(numParams(resolveModelConfig({ variant }, 'tiny'))).toBe(base);
    // One more layer adds exactly one layer's parameters; one more vocab entry adds 2·dim (embedding + head row).
    const t = PRESETS.tiny;
    const layer = t.dim * t.numHeads * t.headDim * 2 + t.dim * t.numKvHeads * t.headDim * 2 + 3 * t.dim * t.ffnDim + 2 * t.dim;
    expect(numParams(resolveModelConfig({ numLayers: t.numLayers + 1 }, 'tiny')) - base).toBe(layer);
    expect(numParams(resolveModelConfig({ vocabSize: t.vocabSize + 1 }, 'tiny')) - base).toBe(2 * t.dim);
  });
});

describe('flopsPerToken', () => {
  /** A hand count: 2 FLOPs per multiply-add; attention reads (T+1)/2 positions on average under the causal mask. */
  function handCount(c: ModelConfig, seq: number, layers: number): number {
    const macsProj =
      c.dim * c.numHeads * c.headDim + // q
      2 * c.dim * c.numKvHeads * c.headDim + // k, v
      c.numHeads * c.headDim * c.dim + // o
      2 * c.dim * c.ffnDim + // gate, up
      c.ffnDim * c.dim; // down
    const avgContext = (seq + 1) / 2;
    const macsAttn = c.numHeads * avgContext * c.headDim * 2; // q·k scores and the weighted sum of v
    const macsHead = c.dim * c.vocabSize;
    return 2 * (layers * (macsProj + macsAttn) + macsHead);
  }

  it('equals a hand count for every preset, any context length and exit depth', () => {
    for (const name of PRESET_NAMES) {
      const c = PRESETS[name];
      expect(flopsPerToken(c)).toBe(handCount(c, c.maxSeqLen, c.numLayers));
      expect(flopsPerToken(c, { seq: 1 })).toBe(handCount(c, 1, c.numLayers));
      expect(flopsPerToken(c, { seq: 100, layers: 1 })).toBe(handCount(c, 100, 1));
    }
  });

  it('is about 2 × the non-embedding parameters (the usual 6N rule for training is 3× this)', () => {
    const c = PRESETS.paper;
    const nonEmbedding = numParams(c) - c.vocabSize * c.dim - (2 * c.numLayers + 1) * c.dim; // less embedding and norm gains
    const attn = 2 * 2 * c.numLayers * c.numHeads * c.headDim * ((c.maxSeqLen + 1) / 2);
    expect(flopsPerToken(c)).toBe(2 * nonEmbedding + attn);
    // Exiting at 18 of 24 layers saves exactly 6 layers' worth.
    const perLayer = (flopsPerToken(c) - flopsPerToken(c, { layers: 0 })) / 24;
    expect(flopsPerToken(c) - flopsPerToken(c, { layers: 18 })).toBeCloseTo(6 * perLayer, 3);
  });
});

describe('validation', () => {
  const err = (o: Record<string, unknown>, base: Parameters<typeof resolveModelConfig>[1] = 'tiny'): string => {
    try {
      resolveModelConfig(o, base);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelConfigError);
      return (e as Error).message;
    }
    throw new Error(`no error for ${JSON.stringify(o)}`);
  };

  it('an unknown key names the key and every allowed key', () => {
    const m = err({ hidden: 64 });
    expect(m).toMatch(/^model config: unknown key "hidden"; allowed keys: /);
    for (const k of Object.keys(PRESETS.paper)) expect(m).toContain(k);
    expect(err({ ffnHidden: 64 })).toMatch(/unknown key "ffnHidden"/);
  });

  it('a wrong type names the key and the expected type', () => {
    expect(err({ dim: '64' })).toMatch(/"dim" must be a number, got "64"/);
    expect(err({ paperNoCausalMask: 1 })).toMatch(/"paperNoCausalMask" must be a boolean, got 1/);
    expect(err({ variant: 1 })).toMatch(/"variant" must be a string/);
    expect(err({ hadamardBlock: '16' })).toMatch(/"hadamardBlock" must be null or a number/);
  });

  it('an out-of-range value names the key and the range', () => {
    expect(err({ dim: 0 })).toMatch(/"dim" must be a positive integer, got 0/);
    expect(err({ numLayers: 2.5 })).toMatch(/"numLayers" must be a positive integer, got 2.5/);
    expect(err({ numKvHeads: 3 })).toMatch(/"numHeads" \(4\) must be a multiple of "numKvHeads" \(3\)/);
    expect(err({ headDim: 7 })).toMatch(/"headDim" must be even/);
    expect(err({ dropout: 1 })).toMatch(/"dropout" must be in \[0, 1\), got 1/);
    expect(err({ normEps: 0 })).toMatch(/"normEps" must be in \(0, 1\)/);
    expect(err({ ropeTheta: -1 })).toMatch(/"ropeTheta" must be a finite number > 0/);
    expect(err({ initStd: Infinity })).toMatch(/"initStd" must be a finite number > 0/);
    expect(err({ hadamardBlock: 12 })).toMatch(/"hadamardBlock" must be null or a power of two, got 12/);
  });

  it('an enum names the key and the allowed values', () => {
    expect(err({ variant: 'v9' })).toMatch(/"variant" must be one of baseline, v1, v2, v3, got "v9"/);
    expect(err({ hadamardPlacement: 'qkv' })).toMatch(new RegExp(`"hadamardPlacement" must be one of ${HADAMARD_PLACEMENTS.join(', ')}`));
    expect(err({ lowBitScheme: 'int4' })).toMatch(new RegExp(`"lowBitScheme" must be one of ${LOW_BIT_SCHEMES.join(', ')}`));
  });

  it('v2/v3 need power-of-two Hadamard widths; v1 and baseline do not', () => {
    for (const variant of ['v2', 'v3']) {
      // dim 48: the q/k/v/gate/up inputs are 48 wide.
      expect(err({ variant, dim: 48 })).toMatch(new RegExp(`variant ${variant} puts a Hadamard on q/k/v/gate/up input \\(dim\\) = 48, which is not a power of two; set "hadamardBlock"`));
      expect(err({ variant, ffnDim: 96 })).toMatch(/down input \(ffnDim\) = 96, which is not a power of two/);
      expect(err({ variant, numHeads: 6, numKvHeads: 2 })).toMatch(/o input \(numHeads\*headDim\) = 48, which is not a power of two/);
      // A power-of-two block that divides the width fixes it; one that does not is named.
      expect(resolveModelConfig({ variant, dim: 48, hadamardBlock: 16 }, 'tiny').hadamardBlock).toBe(16);
      expect(err({ variant, dim: 48, hadamardBlock: 32 })).toMatch(/"hadamardBlock" 32 does not divide q\/k\/v\/gate\/up input \(dim\) = 48/);
      // BitNet v2 placement rotates only the o and down inputs: dim may be anything.
      expect(resolveModelConfig({ variant, dim: 48, hadamardPlacement: 'bitnet-v2' }, 'tiny').dim).toBe(48);
      // paperHadamard also rotates the outputs: with BitNet v2 placement the o/down output (dim) must take it too.
      expect(err({ variant, dim: 48, hadamardPlacement: 'bitnet-v2', paperHadamard: true })).toMatch(/o\/down output \(dim\) = 48, which is not a power of two/);
    }
    for (const variant of ['baseline', 'v1']) expect(resolveModelConfig({ variant, dim: 48, ffnDim: 96 }, 'tiny').dim).toBe(48);
  });

  it('lowBitScheme absmean and paperHadamard are refused on the wrong variant', () => {
    for (const variant of ['baseline', 'v1', 'v3']) {
      expect(err({ variant, lowBitScheme: 'absmean' })).toMatch(new RegExp(`"lowBitScheme" 'absmean' applies to variant v2 only .*got variant ${variant}`));
    }
    expect(resolveModelConfig({ variant: 'v2', lowBitScheme: 'absmean' }, 'tiny').lowBitScheme).toBe('absmean');
    for (const variant of ['baseline', 'v1']) {
      expect(err({ variant, paperHadamard: true })).toMatch(new RegExp(`"paperHadamard" applies to the Hadamard variants v2 and v3 only, got variant ${variant}`));
    }
    for (const variant of ['v2', 'v3']) expect(resolveModelConfig({ variant, paperHadamard: true }, 'tiny').paperHadamard).toBe(true);
  });

  it('refuses a non-object and an unknown preset', () => {
    expect(err([] as unknown as Record<string, unknown>)).toMatch(/expected an object/);
    expect(() => resolveModelConfig({}, 'huge' as never)).toThrow(/unknown preset "huge"; allowed: paper, study, quick, tiny/);
  });
});

describe('paperCompatFlags', () => {
  it('is empty for the correct system and lists the switches that are on, in PAPER_COMPAT_KEYS order', () => {
    expect([...PAPER_COMPAT_KEYS]).toEqual(['paperNoCausalMask', 'paperUnshiftedExitTargets', 'paperHadamard']);
    for (const name of PRESET_NAMES) expect(paperCompatFlags(PRESETS[name])).toEqual([]);
    expect(paperCompatFlags(resolveModelConfig({ paperNoCausalMask: true }, 'tiny'))).toEqual(['paperNoCausalMask']);
    expect(paperCompatFlags(resolveModelConfig({ paperUnshiftedExitTargets: true }, 'tiny'))).toEqual(['paperUnshiftedExitTargets']);
    const all = resolveModelConfig({ variant: 'v2', paperHadamard: true, paperUnshiftedExitTargets: true, paperNoCausalMask: true }, 'tiny');
    expect(paperCompatFlags(all)).toEqual([...PAPER_COMPAT_KEYS]);
  });
});
