// The causal-leakage audit (@bitskip/eval causalAudit; SPEC §2, §8) on the real BitSkip model: every variant passes
// it at every exit with tolerance 0 (cpu reference and wasm), and the paper's no-causal-mask fault
// (`paperNoCausalMask: true`) fails it at the first exit and the first position.
import { describe, expect, it } from 'vitest';
import { Rng, getBackend } from '@bitskip/tensor-core';
import { causalAudit } from '@bitskip/eval';
import { BitSkipModel, VARIANTS, resolveModelConfig } from '../src/index.js';
import type { Variant } from '../src/index.js';
import { useWasmBackend, on } from './helpers.js';

useWasmBackend();

function audit(variant: Variant, extra: Record<string, unknown> = {}): ReturnType<typeof causalAudit> {
  const c = resolveModelConfig({ variant, initStd: 0.1, ...extra }, 'tiny');
  const m = new BitSkipModel(c, new Rng(1)).eval();
  const live = getBackend().numLiveBuffers();
  const verdict = causalAudit(m, { vocabSize: c.vocabSize, rng: new Rng(2), prompts: 3, seqLen: 12, cuts: 3 });
  expect(getBackend().numLiveBuffers()).toBe(live);
  m.dispose();
  return verdict;
}

describe('causal-leakage audit', () => {
  for (const backend of ['cpu', 'wasm']) {
    it(`${backend}: every variant passes at every exit with tolerance 0; the changed tokens do change the later logits`, () => {
      on(backend, () => {
        for (const variant of VARIANTS) {
          const v = audit(variant);
          expect(v, variant).toMatchObject({ passed: true, exitsChecked: [1, 2, 3, 4], tolerance: 0, maxChange: 0, firstLeak: null, prompts: 3, seqLen: 12 });
          // 4 exits × Σ over the 9 cuts of (t + 1) positions compared.
          expect(v.comparisons).toBe(4 * v.cuts.flat().reduce((s, t) => s + t + 1, 0));
          expect(v.maxChangeAfter, variant).toBeGreaterThan(1e-3);
        }
      });
    });

    it(`${backend}: paperNoCausalMask fails it at exit 1, position 0 (every exit leaks)`, () => {
      on(backend, () => {
        for (const variant of ['baseline', 'v2'] as const) {
          const v = audit(variant, { paperNoCausalMask: true });
          expect(v.passed, variant).toBe(false);
          expect(v.firstLeak, variant).toMatchObject({ exit: 1, position: 0 });
          expect(v.firstLeak!.change).toBeGreaterThan(1e-4);
          expect(v.maxChange).toBeGreaterThan(1e-3);
          // Each exit on its own leaks too.
          const c = resolveModelConfig({ variant, initStd: 0.1, paperNoCausalMask: true }, 'tiny');
          const m = new BitSkipModel(c, new Rng(1)).eval();
          for (const e of [2, 3, 4]) {
            expect(causalAudit(m, { vocabSize: c.vocabSize, rng: new Rng(2), prompts: 1, seqLen: 8, cuts: 2, exits: [e] }).firstLeak?.exit, `${variant} exit ${e}`).toBe(e);
          }
          m.dispose();
        }
      });
    });
  }
});
