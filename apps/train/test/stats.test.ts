// @bitskip/eval's activation and weight statistics on the real model (tiny preset, cpu reference): the site inputs
// the model's observer shows equal what the layer's own modules compute from the collected residual stream
// (qkv = attnNorm(x), gate_up = mlpNorm(x + attn)), the rotated moments equal the orthonormal Hadamard of those
// inputs where the variant has one (v3 everywhere; bitnet-v2 placement on o and down only), the observer changes
// no logits, and the weight statistics' shares are those of @bitskip/quant's ternary codes.
import { describe, expect, it } from 'vitest';
import { Rng, add, noGrad, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { fwht } from '@bitskip/hadamard';
import { quantizeTernaryAbsmean } from '@bitskip/quant';
import { BitSkipModel, resolveModelConfig } from '@bitskip/model';
import { MomentAccumulator, activationStats, countOutliers, weightStats } from '@bitskip/eval';
import type { Moments } from '@bitskip/eval';

setBackend('cpu');

function moments(chunks: ArrayLike<number>[]): Moments {
  const acc = new MomentAccumulator();
  for (const c of chunks) acc.add(c);
  return acc.moments(chunks.reduce((n, c) => n + countOutliers(c, acc.mean, acc.std), 0));
}

function expectMoments(got: Moments, want: Moments, what: string): void {
  for (const k of ['std', 'kurtosis', 'absMax', 'outlierShare'] as const) {
    expect(Math.abs(got[k] - want[k]), `${what} ${k}: ${got[k]} vs ${want[k]}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want[k])));
  }
}

describe('activationStats on BitSkipModel', () => {
  for (const [variant, placement] of [['baseline', 'all'], ['v1', 'all'], ['v3', 'all'], ['v3', 'bitnet-v2']] as const) {
    it(`${variant}${variant === 'v3' ? ` (${placement})` : ''}: sites from the layers' own modules, Hadamard where the variant has it`, () => {
      const config = resolveModelConfig({ variant, hadamardPlacement: placement }, 'tiny');
      const model = new BitSkipModel(config, new Rng(3)).eval();
      const T = 12;
      const rows = 3;
      const rng = new Rng(4);
      const windows = Int32Array.from({ length: rows * T }, () => rng.int(config.vocabSize));
      const stats = activationStats(model, { windows, seqLen: T, batchSize: 2 });

      // Reference: the residual stream from forward's collect, the sites recomputed with each block's own modules.
      const L = config.numLayers;
      const want = new Map<string, ArrayLike<number>[]>();
      const push = (k: string, t: Tensor): void => {
        want.set(k, [...(want.get(k) ?? []), Float64Array.from(t.dataSync())]);
      };
      const hadamard = (site: string): boolean => variant === 'v3' && (placement === 'all' || site === 'o' || site === 'down');
      noGrad(() =>
        tidy(() => {
          const ids = tensor(windows, [rows, T], 'int32');
          const out = model.forward(ids, { collect: Array.from({ length: L }, (_, i) => i + 1), logits: false });
          let x = model.embedTokens(ids);
          for (let l = 1; l <= L; l++) {
            const b = model.layers[l - 1]!;
            const qkv = b.attnNorm.forward(x);
            const after = out.exits.get(l)!;
            const mid = add(x, b.attn.forward(qkv, l - 1, { cache: null, rng: null }));
            const gu = b.mlpNorm.forward(mid);
            push(`${l}:qkv`, qkv);
            push(`${l}:gate_up`, gu);
            push(`${l}:residual`, after);
            if (hadamard('qkv')) push(`${l}:qkv:rot`, fwht(qkv));
            if (hadamard('gate_up')) push(`${l}:gate_up:rot`, fwht(gu));
            x = after;
          }
        }),
      );
      for (const s of stats) {
        expectMoments(s.residual, moments(want.get(`${s.layer}:residual`)!), `layer ${s.layer} residual`);
        for (const q of s.quantizers) {
          expect(q.rotated === null, `${s.layer} ${q.projection} rotated`).toBe(!hadamard(q.projection));
          if (q.projection === 'qkv' || q.projection === 'gate_up') {
            expectMoments(q.input, moments(want.get(`${s.layer}:${q.projection}`)!), `layer ${s.layer} ${q.projection}`);
            if (q.rotated !== null) expectMoments(q.rotated, moments(want.get(`${s.layer}:${q.projection}:rot`)!), `layer ${s.layer} ${q.projection} rotated`);
          }
        }
      }
      model.dispose();
    });
  }

  it('the observer changes no logits', () => {
    const config = resolveModelConfig({ variant: 'v2' }, 'tiny');
    const model = new BitSkipModel(config, new Rng(5)).eval();
    const ids = (): Tensor => tensor([1, 5, 9, 2, 7, 3], [1, 6], 'int32');
    const plain = tidy(() => Array.from(model.forward(ids()).logits!.dataSync()));
    let seen = 0;
    const observed = tidy(() =>
      Array.from(
        model.forward(ids(), {
          observe: () => {
            seen++;
          },
        }).logits!.dataSync(),
      ),
    );
    expect(seen).toBe(4 * config.numLayers);
    expect(observed).toEqual(plain);
    model.dispose();
  });
});

describe('weightStats on BitSkipModel', () => {
  it("v1: ternary shares and scales are @bitskip/quant's codes of each latent weight; the baseline is fp32", () => {
    const model = new BitSkipModel(resolveModelConfig({ variant: 'v1' }, 'tiny'), new Rng(6));
    const w = weightStats(model);
    expect(w).toHaveLength(4);
    const q = quantizeTernaryAbsmean(model.layers[2]!.mlp.down.weight.dataSync());
    const down = w[2]!.projections.find((p) => p.name === 'down')!;
    expect(down.scale).toBeCloseTo(q.scale, 7);
    const count = (c: number): number => q.codes.filter((x) => x === c).length / q.codes.length;
    expect(down.shares).toEqual({ neg: count(-1), zero: count(0), pos: count(1) });
    model.dispose();
    const base = new BitSkipModel(resolveModelConfig({ variant: 'baseline' }, 'tiny'), new Rng(6));
    for (const l of weightStats(base)) for (const p of l.projections) expect(p).toMatchObject({ scheme: 'fp32', scale: null, shares: null });
    base.dispose();
  });
});
