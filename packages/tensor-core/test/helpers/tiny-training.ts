// The tiny training run of the training tests (train.test.ts, wasm-backend.test.ts, gpujs-suite.ts): a 2-layer
// GQA TinyLM with AdamW on one batch of random ids whose targets are the next id.
import { AdamW, Rng, tensor } from '../../src/index.js';
import type { Backend, Tensor } from '../../src/index.js';
import { TinyLM } from '../../src/testing.js';
import type { TinyLMConfig } from '../../src/testing.js';

export const TINY_CFG: TinyLMConfig = { vocab: 11, dim: 16, heads: 4, kvHeads: 2, hidden: 24, layers: 2, dropout: 0 };

export interface TinyTraining {
  /** What is left of the seed's Rng after the model's and the data's splits (for dropout masks). */
  rng: Rng;
  model: TinyLM;
  opt: AdamW;
  /** Ids (2, 7), int32. */
  x: Tensor;
  /** Targets: (id + 1) mod vocab, the last position of each row ignored (−100). */
  y: Tensor;
  /** Disposes the model, the optimizer and the batch. */
  dispose: () => void;
}

/** TINY_CFG (with `dropout`) seeded by `seed`, AdamW (lr 1e-2, weight decay 0.1), the batch on `backend` (default: the current one). */
export function tinyTraining(seed: number, options: { dropout?: number; backend?: Backend } = {}): TinyTraining {
  const cfg = { ...TINY_CFG, dropout: options.dropout ?? TINY_CFG.dropout };
  const rng = new Rng(seed);
  const model = new TinyLM(cfg, rng.split());
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.1 });
  const dataRng = rng.split();
  const [B, T] = [2, 7];
  const ids = Array.from({ length: B * T }, () => dataRng.int(cfg.vocab));
  const targets = ids.map((t, i) => (i % T === T - 1 ? -100 : (t + 1) % cfg.vocab));
  const x = tensor(ids, [B, T], 'int32', options.backend);
  const y = tensor(targets, [B, T], 'int32', options.backend);
  return {
    rng,
    model,
    opt,
    x,
    y,
    dispose: () => {
      model.dispose();
      opt.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
