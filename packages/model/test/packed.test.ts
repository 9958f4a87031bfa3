// Packed ternary decoding of the BitSkip model (packed.ts): a frozen model decodes greedily like the fake-quant model
// it came from (v1, v2, v3; several prompts), its packed projections take ≤ 1/10 of their fp32 bytes, a model built
// packed block by block equals freezeModel of the same draws bit for bit, the bounded (in-place) initialisation draws
// exactly the constructor's weights, and the variants without a packed form are refused by name.
import { describe, expect, it } from 'vitest';
import { Rng, noGrad, tensor, tidy } from '@bitskip/tensor-core';
import { greedyDecode } from '@bitskip/layerskip';
import { BitLinear } from '@bitskip/quant';
import { BitSkipModel, PackedModelError, blockProjections, buildPackedModel, freezeModel, modelWeightBytes, resolveModelConfig } from '../src/index.js';
import type { Variant } from '../src/index.js';
import { on, tinyConfig, useWasmBackend } from './helpers.js';

useWasmBackend();

const TERNARY: Variant[] = ['v1', 'v2', 'v3'];

function prompts(seed: number, count: number, vocab: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: 2 + rng.int(5) }, () => rng.int(vocab)));
}

/** Logits (T, V) of the whole sequence, no cache. */
function logits(m: BitSkipModel, seq: readonly number[]): Float32Array {
  return noGrad(() => tidy(() => Float32Array.from(m.forward(tensor(seq, [1, seq.length], 'int32')).logits!.dataSync())));
}

describe('freezeModel: packed greedy decoding equals the fake-quant model', () => {
  for (const variant of TERNARY) {
    it(`${variant}: the same greedy tokens for 6 prompts × 12 tokens; logits within float rounding`, () => {
      on('wasm', () => {
        const cfg = tinyConfig(variant);
        const fake = new BitSkipModel(cfg, new Rng(3)).eval();
        const packed = new BitSkipModel(cfg, new Rng(3));
        freezeModel(packed);
        expect(blockProjections(packed.layers[0]!).every((p) => p instanceof BitLinear && p.frozen)).toBe(true);
        let maxDiff = 0;
        let scale = 0;
        for (const p of prompts(11, 6, cfg.vocabSize)) {
          const a = greedyDecode(fake, p, { maxNewTokens: 12 }).tokens;
          const b = greedyDecode(packed, p, { maxNewTokens: 12 }).tokens;
          expect(b).toEqual(a);
          // Why logits can differ at all: the fake-quant matmul sums (c·Δ)·(t·γ) in float32, the packed kernel sums
          // t·c exactly in integers and scales once; the two differ by float32 rounding (~1e-7 relative), and a
          // value that lands within that of a rounding boundary of the next layer's 8- (4-) bit quantizer moves one
          // code (1/127 or 1/7 of that token's absmax). With these seeds no code moves and the logits agree to
          // float32 rounding (measured 4.8e-7 of a scale of ~2); the bound, 1e-5 of the scale, would catch a moved
          // code (~1e-2 of the scale) as well as a wrong kernel.
          const la = logits(fake, [...p, ...a]);
          const lb = logits(packed, [...p, ...a]);
          la.forEach((v, i) => {
            maxDiff = Math.max(maxDiff, Math.abs(v - lb[i]!));
            scale = Math.max(scale, Math.abs(v));
          });
        }
        console.log(`${variant}: max |Δ logit| ${maxDiff.toExponential(2)} of a logit scale ${scale.toFixed(3)}`);
        expect(maxDiff).toBeLessThanOrEqual(1e-5 * scale);
        fake.dispose();
        packed.dispose();
      });
    });
  }
});

describe('packed weight bytes', () => {
  it('packed projections take ≤ 1/10 of their fp32 bytes (widths multiples of the 64-weight packing block)', () => {
    on('wasm', () => {
      const cfg = resolveModelConfig({ variant: 'v1', vocabSize: 96, dim: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 32, ffnDim: 256, maxSeqLen: 32 });
      const m = new BitSkipModel(cfg, new Rng(1));
      const before = modelWeightBytes(m);
      // fp32 before freezing: 2 layers × (128·128·2 + 128·64·2 + 3·128·256) weights × 4 bytes.
      expect(before.projectionsFp32).toBe(2 * (128 * 128 * 2 + 128 * 64 * 2 + 3 * 128 * 256) * 4);
      expect(before.projections).toBe(before.projectionsFp32);
      expect(before.other).toBe(4 * (2 * 96 * 128 + 5 * 128));
      const after = freezeModel(m);
      expect(after.projectionsFp32).toBe(before.projectionsFp32);
      // 2 bits a weight (16× smaller) plus panel padding and 8 bytes of γ per projection.
      expect(after.projections).toBeLessThanOrEqual(after.projectionsFp32 / 10);
      expect(after.projections).toBeGreaterThanOrEqual(after.projectionsFp32 / 16);
      m.dispose();
    });
  });
});

describe('buildPackedModel and the bounded initialisation', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: boundedInit draws the constructor's weights bit for bit (every variant)`, () => {
      on(backend, () => {
        for (const variant of ['baseline', ...TERNARY] as Variant[]) {
          const a = new BitSkipModel(tinyConfig(variant), new Rng(5));
          const b = new BitSkipModel(tinyConfig(variant), new Rng(5), { boundedInit: true });
          const pa = a.namedParameters();
          const pb = b.namedParameters();
          expect(pb.map(([n, p]) => [n, p.shape])).toEqual(pa.map(([n, p]) => [n, p.shape]));
          pa.forEach(([n, p], i) => {
            const x = p.dataSync();
            const y = pb[i]![1].dataSync();
            expect(Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(Buffer.from(x.buffer, x.byteOffset, x.byteLength)), n).toBe(true);
          });
          expect(b.embed.numEmbeddings).toBe(tinyConfig(variant).vocabSize);
          expect([b.head.inFeatures, b.head.outFeatures]).toEqual([32, 96]);
          a.dispose();
          b.dispose();
        }
      });
    });
  }

  it('buildPackedModel equals freezeModel(new BitSkipModel(config, rng)): packed codes, γ, embedding, head; onBlock sees each block once, in order', () => {
    on('wasm', () => {
      const cfg = tinyConfig('v2');
      const ref = new BitSkipModel(cfg, new Rng(9));
      freezeModel(ref);
      const built = buildPackedModel(cfg, new Rng(9));
      expect(built.training).toBe(false);
      ref.layers.forEach((blk, l) => {
        blockProjections(blk).forEach((p, j) => {
          const q = blockProjections(built.layers[l]!)[j] as BitLinear;
          const pr = (p as BitLinear).packed!;
          expect(q.packed!.scale).toBe(pr.scale);
          expect(Array.from(q.packed!.weights.dataSync())).toEqual(Array.from(pr.weights.dataSync()));
        });
      });
      expect(Array.from(built.embed.weight.dataSync())).toEqual(Array.from(ref.embed.weight.dataSync()));
      expect(Array.from(built.head.weight.dataSync())).toEqual(Array.from(ref.head.weight.dataSync()));
      const p = [5, 17, 3];
      expect(greedyDecode(built, p, { maxNewTokens: 8 }).tokens).toEqual(greedyDecode(ref.eval(), p, { maxNewTokens: 8 }).tokens);
      const seen: number[] = [];
      new BitSkipModel(cfg, new Rng(9), { onBlock: (_b, l) => seen.push(l) }).dispose();
      expect(seen).toEqual([0, 1, 2, 3]);
      ref.dispose();
      built.dispose();
    });
  });

  it('refuses the baseline, the paper-compat Hadamard and a second freeze, naming what is allowed', () => {
    on('wasm', () => {
      const base = new BitSkipModel(tinyConfig('baseline'), new Rng(1));
      expect(() => freezeModel(base)).toThrow(PackedModelError);
      expect(() => freezeModel(base)).toThrow(/variant 'baseline' has fp32 projections.*allowed: v1, v2, v3/);
      expect(() => buildPackedModel(tinyConfig('baseline'), new Rng(1))).toThrow(/buildPackedModel: variant 'baseline'/);
      const paper = new BitSkipModel(tinyConfig('v3', { paperHadamard: true }), new Rng(1));
      expect(() => freezeModel(paper)).toThrow(/paperHadamard .* no packed integer form; allowed: paperHadamard false/);
      const v1 = new BitSkipModel(tinyConfig('v1'), new Rng(1));
      freezeModel(v1);
      expect(() => freezeModel(v1)).toThrow(/layer 0 is already frozen/);
      for (const m of [base, paper, v1]) m.dispose();
    });
  });
});
