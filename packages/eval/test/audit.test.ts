// causalAudit (SPEC §2, §8) against hand-made models whose leaks are known: a causal one passes with a zero change, a
// model that looks one token ahead from exit 3 and position 2 on is caught exactly there, and a tolerance above the
// leak lets it pass. (The real model's audit is in packages/model/test/audit.test.ts.)
import { describe, expect, it } from 'vitest';
import { Rng, tensor } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { causalAudit } from '../src/index.js';
import type { AuditModel } from '../src/index.js';

const V = 5;

/**
 * logits[b, s, v] = (v + 1) · Σ_{u ≤ s} ids[b, u] / 100 (causal), plus, when `leak` says so for (exit, s), the next
 * token's id / 1000 (a look-ahead of that size).
 */
function fakeModel(numLayers: number, leak: (exit: number, s: number) => boolean): AuditModel {
  return {
    numLayers,
    forward(ids: Tensor, opts: { exitLayer: number }): { logits: Tensor } {
      const [B, T] = ids.shape as [number, number];
      const x = ids.dataSync();
      const out = new Float32Array(B * T * V);
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let s = 0; s < T; s++) {
          sum += x[b * T + s]!;
          const ahead = s + 1 < T && leak(opts.exitLayer, s) ? x[b * T + s + 1]! / 1000 : 0;
          for (let v = 0; v < V; v++) out[(b * T + s) * V + v] = ((v + 1) * sum) / 100 + ahead;
        }
      }
      return { logits: tensor(out, [B, T, V]) }; // (B, T, V)
    },
  };
}

describe('causalAudit', () => {
  it('a causal model passes at every exit with a zero change; the later logits did change', () => {
    const v = causalAudit(fakeModel(4, () => false), { vocabSize: V, rng: new Rng(1) });
    expect(v).toMatchObject({ passed: true, exitsChecked: [1, 2, 3, 4], prompts: 4, seqLen: 16, tolerance: 0, maxChange: 0, firstLeak: null });
    expect(v.cuts).toHaveLength(4);
    for (const cs of v.cuts) {
      expect(cs).toHaveLength(3);
      for (const t of cs) expect(t >= 0 && t <= 14).toBe(true);
    }
    expect(v.comparisons).toBe(4 * v.cuts.flat().reduce((s, t) => s + t + 1, 0));
    expect(v.maxChangeAfter).toBeGreaterThan(0.01);
  });

  it('a look-ahead from exit 3, position 2 on is reported at exit 3 and the smallest cut >= 2; exits 1–2 alone pass', () => {
    const model = fakeModel(4, (e, s) => e >= 3 && s >= 2);
    const v = causalAudit(model, { vocabSize: V, rng: new Rng(1), prompts: 3, seqLen: 10, cuts: 4 });
    expect(v.passed).toBe(false);
    // A change at position s needs token s + 1 changed (s + 1 > t) and s <= t: s = t, for cuts t >= 2.
    const cuts = v.cuts.flat().filter((t) => t >= 2);
    expect(cuts.length).toBeGreaterThan(0);
    expect(v.firstLeak).toMatchObject({ exit: 3, position: Math.min(...cuts), cut: Math.min(...cuts) });
    const leak = v.firstLeak!;
    expect(v.cuts[leak.prompt]).toContain(leak.cut);
    // The look-ahead is the changed token's id / 1000: at most (V − 1) / 1000.
    expect(leak.change).toBeGreaterThan(0);
    expect(v.maxChange).toBeLessThanOrEqual((V - 1) / 1000 + 1e-6);
    expect(causalAudit(model, { vocabSize: V, rng: new Rng(1), prompts: 3, seqLen: 10, cuts: 4, exits: [2, 1] })).toMatchObject({ passed: true, exitsChecked: [1, 2] });
    // A tolerance above the leak lets it through (what a float32 GPU backend's rounding would need).
    expect(causalAudit(model, { vocabSize: V, rng: new Rng(1), prompts: 3, seqLen: 10, cuts: 4, tolerance: 0.01 }).passed).toBe(true);
  });

  it('the same seed draws the same prompts and cuts; bad options are errors naming the option', () => {
    const m = fakeModel(2, () => false);
    expect(causalAudit(m, { vocabSize: V, rng: new Rng(7) }).cuts).toEqual(causalAudit(m, { vocabSize: V, rng: new Rng(7) }).cuts);
    expect(() => causalAudit(m, { vocabSize: V, rng: new Rng(1), exits: [3] })).toThrow(/exit 3 is outside 1..2/);
    expect(() => causalAudit(m, { vocabSize: V, rng: new Rng(1), seqLen: 1 })).toThrow(/seqLen must be an integer >= 2/);
    expect(() => causalAudit(m, { vocabSize: 1, rng: new Rng(1) })).toThrow(/vocabSize must be an integer >= 2/);
    expect(() => causalAudit({ numLayers: 1, forward: () => ({ logits: null }) }, { vocabSize: V, rng: new Rng(1) })).toThrow(/returned no logits/);
  });
});
