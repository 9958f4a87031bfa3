// TinyLM: a tiny Llama-style language model (token embedding, RMSNorm, GQA attention with RoPE, SwiGLU MLP, LM
// head) built from the package's own layers and ops, exported through the testing subpath
// (@bitskip/tensor-core/testing) for tests, probes and benchmarks that need a real training step: the package's own
// tests compare its losses and gradients across backends, and the bench app's `memory` suite trains it.
import { tidy } from './engine.js';
import { Embedding, Linear, RMSNorm } from './nn/layers.js';
import { Module } from './nn/module.js';
import { attention } from './ops/attention.js';
import { dropout } from './ops/dropout.js';
import { crossEntropy } from './ops/loss.js';
import { add, mul, silu } from './ops/elementwise.js';
import { permute, reshape } from './ops/layout.js';
import { rope } from './ops/rope.js';
import type { AdamW } from './optim/adamw.js';
import type { Rng } from './rng.js';
import type { Tensor } from './tensor.js';

/** The shape of a TinyLM: `heads` query heads, `kvHeads` key/value heads (GQA), SwiGLU width `hidden`. */
export interface TinyLMConfig {
  vocab: number;
  dim: number;
  heads: number;
  kvHeads: number;
  hidden: number;
  layers: number;
  dropout: number;
}

class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly o: Linear;
  readonly mlpNorm: RMSNorm;
  readonly gate: Linear;
  readonly up: Linear;
  readonly down: Linear;

  constructor(
    private readonly c: TinyLMConfig,
    rng: Rng,
  ) {
    super();
    const hd = c.dim / c.heads;
    this.attnNorm = new RMSNorm(c.dim);
    this.q = new Linear(c.dim, c.heads * hd, rng);
    this.k = new Linear(c.dim, c.kvHeads * hd, rng);
    this.v = new Linear(c.dim, c.kvHeads * hd, rng);
    this.o = new Linear(c.dim, c.dim, rng);
    this.mlpNorm = new RMSNorm(c.dim);
    this.gate = new Linear(c.dim, c.hidden, rng);
    this.up = new Linear(c.dim, c.hidden, rng);
    this.down = new Linear(c.hidden, c.dim, rng);
  }

  forward(x: Tensor, rng: Rng): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const { heads, kvHeads } = this.c;
    const hd = C / heads;
    const h = this.attnNorm.forward(x);
    // (B, T, H*D) -> (B, T, H, D) -> (B, H, T, D)
    const q = rope(permute(reshape(this.q.forward(h), [B, T, heads, hd]), [0, 2, 1, 3]));
    const k = rope(permute(reshape(this.k.forward(h), [B, T, kvHeads, hd]), [0, 2, 1, 3]));
    const v = permute(reshape(this.v.forward(h), [B, T, kvHeads, hd]), [0, 2, 1, 3]);
    // (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
    const a = reshape(permute(attention(q, k, v), [0, 2, 1, 3]), [B, T, C]);
    x = add(x, dropout(this.o.forward(a), this.c.dropout, rng, this.training));
    const m = this.mlpNorm.forward(x);
    return add(x, this.down.forward(mul(silu(this.gate.forward(m)), this.up.forward(m))));
  }
}

/**
 * A tiny Llama-style model: `new TinyLM(config, rng)` draws its weights from `rng`; `forward(ids, rng)` maps int32
 * ids (B, T) to logits (B, T, vocab), `rng` drawing the dropout masks (dropout after the attention projection while
 * `training`).
 */
export class TinyLM extends Module {
  readonly embed: Embedding;
  readonly layers: Block[];
  readonly norm: RMSNorm;
  readonly head: Linear;

  constructor(c: TinyLMConfig, rng: Rng) {
    super();
    this.embed = new Embedding(c.vocab, c.dim, rng, 0.5);
    this.layers = Array.from({ length: c.layers }, () => new Block(c, rng));
    this.norm = new RMSNorm(c.dim);
    this.head = new Linear(c.dim, c.vocab, rng);
  }

  /** int32 ids (B, T) -> logits (B, T, V). */
  forward(ids: Tensor, rng: Rng): Tensor {
    let x = this.embed.forward(ids);
    for (const l of this.layers) x = l.forward(x, rng);
    return this.head.forward(this.norm.forward(x));
  }
}

/**
 * One training step of `model` on the batch (x, y): forward, cross-entropy, backward, `opt.step()`, `opt.zeroGrad()`,
 * every intermediate freed. Returns the loss tensor, which outlives the step: read it, then dispose it.
 */
export function tinyLMStep(model: TinyLM, opt: AdamW, x: Tensor, y: Tensor, rng: Rng): Tensor {
  return tidy(() => {
    const loss = crossEntropy(model.forward(x, rng), y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss;
  });
}

/**
 * A synthetic batch for training-step benchmarks: `batch × seq` ids drawn from `rng`, each target (id·7 + 3) mod
 * vocab (a rule the model can learn), the last position of each row ignored (−100).
 */
export function syntheticBatch(rng: Rng, vocab: number, batch: number, seq: number): { ids: number[]; targets: number[] } {
  const ids = Array.from({ length: batch * seq }, () => rng.int(vocab));
  const targets = ids.map((t, i) => (i % seq === seq - 1 ? -100 : (t * 7 + 3) % vocab));
  return { ids, targets };
}
