// The BitSkip transformer (SPEC §3): token embedding, pre-norm RMSNorm blocks with RoPE grouped-query causal
// attention and a SwiGLU FFN, a final RMSNorm and an untied LM head shared by every exit (LayerSkip). The
// projections are the variant's linear layers (linear.ts). Follows nanoGPT's model.py: one readable forward.
//   x += o(attn(rope(q(n)), rope(k(n)), v(n))),  n = RMSNorm(x)
//   x += down(SiLU(gate(m)) ⊙ up(m)),              m = RMSNorm(x)
import {
  Embedding,
  Module,
  RMSNorm,
  Linear,
  add,
  attention,
  dropout,
  gather,
  isGradEnabled,
  mul,
  permute,
  reshape,
  rope,
  scatterAdd,
  swiglu,
  tensor,
  tidy,
} from '@bitskip/tensor-core';
import type { Rng, Tensor } from '@bitskip/tensor-core';
import type { ExitHead, LayerDropMask } from '@bitskip/layerskip';
import type { ModelConfig } from './config.js';
import { flopsPerToken, numParams, paperCompatFlags, resolveModelConfig } from './config.js';
import { embeddingInPlace, linearInPlace } from './bounded-init.js';
import { KVCache } from './kv-cache.js';
import { initNormal, makeProjection, projectShared } from './linear.js';
import type { Projector } from './linear.js';

/** The inputs of the four quantizer sites of a layer: qkv (after attnNorm), o, gate_up (after mlpNorm), down. */
export type QuantSite = 'qkv' | 'o' | 'gate_up' | 'down';
export const QUANT_SITES: readonly QuantSite[] = ['qkv', 'o', 'gate_up', 'down'];

/**
 * An observer of the quantizer sites' inputs (activation statistics, eval's stats.ts): called with the layer
 * (1-based), the site and its input (..., width) before any Hadamard or quantizer, inside the caller's tidy scope.
 * A read-only hook: without it the forward is unchanged (one `undefined` check per site).
 */
export type SiteObserver = (layer: number, site: QuantSite, x: Tensor) => void;

/** Per-call state of the layers: positions, the cache, dropout, an optional observer. */
interface LayerContext {
  readonly cache: KVCache | null;
  readonly rng: Rng | null;
  readonly observe?: SiteObserver | undefined;
}

export class Attention extends Module {
  readonly q: Projector;
  readonly k: Projector;
  readonly v: Projector;
  readonly o: Projector;

  constructor(
    private readonly c: ModelConfig,
    rng: Rng,
  ) {
    super();
    const { dim, numHeads: H, numKvHeads: Hkv, headDim: D } = c;
    const std = c.initStd;
    const resid = c.initStd / Math.sqrt(2 * c.numLayers);
    this.q = makeProjection(c, 'q', dim, H * D, rng, std);
    this.k = makeProjection(c, 'k', dim, Hkv * D, rng, std);
    this.v = makeProjection(c, 'v', dim, Hkv * D, rng, std);
    this.o = makeProjection(c, 'o', H * D, dim, rng, resid);
  }

  forward(x: Tensor, layer: number, ctx: LayerContext): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const { numHeads: H, numKvHeads: Hkv, headDim: D, ropeTheta } = this.c;
    const pos = ctx.cache?.length(layer) ?? 0;
    ctx.observe?.(layer + 1, 'qkv', x);
    const [qx, kx, vx] = projectShared([this.q, this.k, this.v], x) as [Tensor, Tensor, Tensor];
    const causal = !this.c.paperNoCausalMask;
    let ao: Tensor;
    if (ctx.cache === null) {
      // (B, T, H*D) -> (B, T, H, D), attention in that layout (the fused kernels read it in place: no permutes).
      const q = rope(reshape(qx, [B, T, H, D]), { offset: pos, base: ropeTheta, seqAxis: 1 });
      const k = rope(reshape(kx, [B, T, Hkv, D]), { offset: pos, base: ropeTheta, seqAxis: 1 });
      const a = attention(q, k, reshape(vx, [B, T, Hkv, D]), { causal, layout: 'bthd' }); // (B, T, H, D)
      ao = reshape(a, [B, T, H * D]);
    } else {
      // The cache holds (B, Hkv, T, D): (B, T, H*D) -> (B, T, H, D) -> (B, H, T, D).
      const q = rope(permute(reshape(qx, [B, T, H, D]), [0, 2, 1, 3]), { offset: pos, base: ropeTheta });
      const k = rope(permute(reshape(kx, [B, T, Hkv, D]), [0, 2, 1, 3]), { offset: pos, base: ropeTheta });
      const kv = ctx.cache.append(layer, k, permute(reshape(vx, [B, T, Hkv, D]), [0, 2, 1, 3])); // (B, Hkv, pos + T, D)
      const a = attention(q, kv.k, kv.v, { causal }); // (B, H, T, D)
      // (B, H, T, D) -> (B, T, H, D) -> (B, T, H*D)
      ao = reshape(permute(a, [0, 2, 1, 3]), [B, T, H * D]);
    }
    ctx.observe?.(layer + 1, 'o', ao);
    return this.o.forward(ao);
  }
}

export class FeedForward extends Module {
  readonly gate: Projector;
  readonly up: Projector;
  readonly down: Projector;

  constructor(c: ModelConfig, rng: Rng) {
    super();
    this.gate = makeProjection(c, 'gate', c.dim, c.ffnDim, rng, c.initStd);
    this.up = makeProjection(c, 'up', c.dim, c.ffnDim, rng, c.initStd);
    this.down = makeProjection(c, 'down', c.ffnDim, c.dim, rng, c.initStd / Math.sqrt(2 * c.numLayers));
  }

  /** (B, T, dim) -> (B, T, dim): down(SiLU(gate(x)) ⊙ up(x)). `observe` sees gate_up's and down's inputs. */
  forward(x: Tensor, layer = 0, observe?: SiteObserver): Tensor {
    observe?.(layer + 1, 'gate_up', x);
    const [g, u] = projectShared([this.gate, this.up], x) as [Tensor, Tensor];
    const h = swiglu(g, u);
    observe?.(layer + 1, 'down', h);
    return this.down.forward(h);
  }
}

export class Block extends Module {
  readonly attnNorm: RMSNorm;
  readonly attn: Attention;
  readonly mlpNorm: RMSNorm;
  readonly mlp: FeedForward;

  constructor(
    private readonly c: ModelConfig,
    rng: Rng,
  ) {
    super();
    this.attnNorm = new RMSNorm(c.dim, c.normEps);
    this.attn = new Attention(c, rng);
    this.mlpNorm = new RMSNorm(c.dim, c.normEps);
    this.mlp = new FeedForward(c, rng);
  }

  private drop(y: Tensor, ctx: LayerContext): Tensor {
    if (!this.training || this.c.dropout === 0) return y;
    if (ctx.rng === null) throw new Error('BitSkipModel: dropout > 0 in training needs an rng (forward(ids, { rng }))');
    return dropout(y, this.c.dropout, ctx.rng, true);
  }

  forward(x: Tensor, layer: number, ctx: LayerContext): Tensor {
    x = add(x, this.drop(this.attn.forward(this.attnNorm.forward(x), layer, ctx), ctx));
    return add(x, this.drop(this.mlp.forward(this.mlpNorm.forward(x), layer, ctx.observe), ctx));
  }
}

export interface ForwardOptions {
  /** Run layers 1..exitLayer, then the final norm and the head (early-exit inference). Default: all layers. */
  exitLayer?: number;
  /** Also return the hidden state (B, T, dim) after these layers (counted from 1), for the early-exit loss. */
  collect?: readonly number[];
  /** Compute the logits (default true); false returns only hidden states (a fused loss applies the head itself). */
  logits?: boolean;
  /** Layer dropout (training): keep[l][row] = 0 skips layer l for that row, exactly the identity. */
  layerDrop?: LayerDropMask | null;
  /** Draws residual dropout masks when config.dropout > 0 and training. */
  rng?: Rng;
  /** Incremental decoding: ids are the next positions after what the cache holds; the cache is extended. */
  cache?: KVCache;
  /** Sees every quantizer site's input (activation statistics); absent in training and decoding. */
  observe?: SiteObserver;
}

export interface ForwardOutput {
  /** (B, T, vocab) at the exit, or null when `logits: false`. */
  logits: Tensor | null;
  /** Hidden state after the last layer run (B, T, dim), before the final norm. */
  hidden: Tensor;
  /** Hidden states after the layers named in `collect`. */
  exits: Map<number, Tensor>;
}

/** Options of the BitSkipModel constructor (both change memory use only, never a weight). */
export interface BitSkipModelOptions {
  /**
   * Called with each block right after its weights are drawn, before the next block (layers in order). packed.ts
   * freezes the block there, so that a packed model never holds more than one block's fp32 weights.
   */
  onBlock?: (block: Block, layer: number) => void;
  /**
   * Draw the embedding and the head straight into their float32 buffers (bounded-init.ts), without the float64
   * staging arrays of tensor-core's randn/uniform (1.2 GB at the paper preset's vocabulary). The same weights.
   */
  boundedInit?: boolean;
}

/** The BitSkip decoder. `new BitSkipModel(config, rng)` draws every weight from rng (seeded, backend-independent). */
export class BitSkipModel extends Module implements ExitHead {
  readonly config: ModelConfig;
  readonly embed: Embedding;
  readonly layers: Block[];
  readonly norm: RMSNorm;
  readonly head: Linear;

  constructor(config: ModelConfig | Record<string, unknown>, rng: Rng, opts: BitSkipModelOptions = {}) {
    super();
    const c = resolveModelConfig(config as Record<string, unknown>, 'paper');
    this.config = c;
    const bounded = opts.boundedInit === true;
    this.embed = bounded ? embeddingInPlace(c.vocabSize, c.dim, rng, c.initStd) : new Embedding(c.vocabSize, c.dim, rng, c.initStd);
    this.layers = Array.from({ length: c.numLayers }, (_, l) => {
      const b = new Block(c, rng);
      opts.onBlock?.(b, l);
      return b;
    });
    this.norm = new RMSNorm(c.dim, c.normEps);
    if (bounded) this.head = linearInPlace(c.dim, c.vocabSize, rng, c.initStd);
    else {
      this.head = new Linear(c.dim, c.vocabSize, rng);
      initNormal(this.head.weight, rng, c.initStd);
    }
  }

  get numLayers(): number {
    return this.config.numLayers;
  }

  /** A fresh KV cache for incremental decoding (DecodingModel). */
  newCache(): KVCache {
    return new KVCache(this.numLayers);
  }

  /** The paper-compatibility switches that are on (results carry them). */
  get paperCompat(): string[] {
    return paperCompatFlags(this.config);
  }

  /** Parameters counted from the config (equals the allocated count). */
  numParamsFromConfig(): number {
    return numParams(this.config);
  }

  /** Forward FLOPs per token (see config.flopsPerToken). */
  flopsPerToken(opts: { seq?: number; layers?: number } = {}): number {
    return flopsPerToken(this.config, opts);
  }

  /** The shared final norm (ExitHead). */
  normalize(h: Tensor): Tensor {
    return this.norm.forward(h);
  }

  /** The shared head's weight (vocab, dim) (ExitHead). */
  get headWeight(): Tensor {
    return this.head.weight;
  }

  /** Logits of any exit: head(norm(h)), (B, T, dim) -> (B, T, vocab). */
  exitLogits(h: Tensor): Tensor {
    return this.head.forward(this.norm.forward(h));
  }

  /** Token embeddings: int32 ids (B, T) -> (B, T, dim). */
  embedTokens(ids: Tensor): Tensor {
    if (ids.dtype !== 'int32' || ids.rank !== 2) throw new Error(`BitSkipModel: ids must be int32 (B, T), got ${ids.dtype} ${JSON.stringify(ids.shape)}`);
    return this.embed.forward(ids);
  }

  /**
   * Layers [from, to) (0-based) on hidden states h (B, T, dim). With a cache, h holds the positions that follow what
   * every layer in the range has cached (their lengths must agree).
   */
  runLayers(h: Tensor, from: number, to: number, opts: { cache?: KVCache; layerDrop?: LayerDropMask | null; rng?: Rng; onLayer?: (layer: number, h: Tensor) => void; observe?: SiteObserver } = {}): Tensor {
    const L = this.config.numLayers;
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= L)) {
      throw new Error(`BitSkipModel.runLayers: need 0 <= from <= to <= ${L}, got ${from}, ${to}`);
    }
    const cache = opts.cache ?? null;
    if (cache !== null) {
      if (cache.numLayers !== L) throw new Error(`BitSkipModel: the cache has ${cache.numLayers} layers, the model ${L}`);
      if (opts.layerDrop) throw new Error('BitSkipModel: layer dropout is for training; it cannot be combined with a KV cache');
      for (let l = from + 1; l < to; l++) {
        if (cache.length(l) !== cache.length(from)) {
          throw new Error(`BitSkipModel.runLayers: cached lengths differ within layers ${from}..${to - 1} (${cache.length(from)} vs ${cache.length(l)} at layer ${l})`);
        }
      }
    }
    const ctx: LayerContext = { cache, rng: opts.rng ?? null, observe: opts.observe };
    let x = h;
    // Without gradients (evaluation, decoding) nothing needs a layer's intermediates after it: each layer runs in its
    // own tidy scope, so at most one layer's attention scores and FFN activations are alive at a time.
    const perLayerScope = !isGradEnabled();
    for (let l = from; l < to; l++) {
      const keep = opts.layerDrop?.keep[l];
      const input = x;
      const step = (): Tensor => (keep === undefined ? this.layers[l]!.forward(input, l, ctx) : this.runLayerOnRows(input, l, keep, ctx));
      x = perLayerScope ? tidy(step) : step();
      opts.onLayer?.(l + 1, x);
    }
    return x;
  }

  /** Layer l on the rows where keep is 1; the identity (x + 0, exactly) on the others, which cost nothing. */
  private runLayerOnRows(x: Tensor, l: number, keep: Uint8Array, ctx: LayerContext): Tensor {
    const B = x.shape[0]!;
    if (keep.length !== B) throw new Error(`BitSkipModel: layer-drop mask has ${keep.length} rows, the batch ${B}`);
    const rows: number[] = [];
    keep.forEach((k, b) => {
      if (k !== 0) rows.push(b);
    });
    if (rows.length === B) return this.layers[l]!.forward(x, l, ctx);
    if (rows.length === 0) return x;
    const idx = tensor(rows, [rows.length], 'int32', x.backend);
    const skip = tensor(Array.from(keep, (k) => (k === 0 ? 1 : 0)), [B, 1, 1], 'float32', x.backend);
    const ys = this.layers[l]!.forward(gather(x, idx, 0), l, ctx); // (B, T, dim) -> (R, T, dim)
    // x·skip + scatter(ys): x exactly on skipped rows (x·1 + 0), the layer's output exactly on the others (x·0 + y).
    return add(mul(x, skip), scatterAdd(ys, idx, 0, x.shape)); // (R, T, dim) -> (B, T, dim)
  }

  /** int32 ids (B, T) -> logits at the exit, and the hidden states asked for. */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardOutput {
    const L = this.config.numLayers;
    const E = opts.exitLayer ?? L;
    if (!Number.isInteger(E) || E < 1 || E > L) throw new Error(`BitSkipModel: exitLayer must be an integer in 1..${L}, got ${E}`);
    const want = new Set(opts.collect ?? []);
    for (const e of want) if (!Number.isInteger(e) || e < 1 || e > E) throw new Error(`BitSkipModel: collect layer ${e} is outside 1..${E}`);
    const T = ids.shape[1]!;
    const past = opts.cache?.length(0) ?? 0;
    if (past + T > this.config.maxSeqLen) {
      throw new Error(`BitSkipModel: ${past > 0 ? `${past} cached + ${T} new positions` : `sequence length ${T}`} exceed maxSeqLen ${this.config.maxSeqLen}`);
    }
    const exits = new Map<number, Tensor>();
    const hidden = this.runLayers(this.embedTokens(ids), 0, E, {
      ...(opts.cache === undefined ? {} : { cache: opts.cache }),
      ...(opts.rng === undefined ? {} : { rng: opts.rng }),
      ...(opts.observe === undefined ? {} : { observe: opts.observe }),
      layerDrop: opts.layerDrop ?? null,
      onLayer: (layer, h) => {
        if (want.has(layer)) exits.set(layer, h);
      },
    });
    return { logits: opts.logits === false ? null : this.exitLogits(hidden), hidden, exits };
  }
}

export { KVCache };
