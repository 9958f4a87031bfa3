// Packed ternary inference of a BitSkip model (BitNet b1.58's deployment form, SPEC §4): freezeModel packs every
// BitLinear / H-BitLinear of a ternary variant (v1, v2, v3) into 2-bit codes + γ (quant's PackedTernaryMatrix, the
// wasm backend's ternary × int8 kernels) and releases the latent fp32 weights; buildPackedModel draws a packed model
// from a config and an Rng block by block (each block frozen before the next is drawn, the embedding and head drawn
// in place), so that the 1.06 B `paper` preset never holds its 3.4 GB of fp32 projections. The embedding, the norms
// and the LM head stay fp32 (as in BitNet).
import { BitLinear } from '@bitskip/quant';
import type { TernaryKernelKind } from '@bitskip/quant';
import type { Rng } from '@bitskip/tensor-core';
import type { ModelConfig } from './config.js';
import { resolveModelConfig } from './config.js';
import type { Projector } from './linear.js';
import { BitSkipModel } from './model.js';
import type { Block } from './model.js';

/** A model or config that cannot be packed: the message names the variant or switch and what is allowed. */
export class PackedModelError extends Error {
  override name = 'PackedModelError';
}

export interface FreezeModelOptions {
  /** Ternary kernel to pack for (default: relaxed SIMD where the backend runs it, else plain). */
  kernel?: TernaryKernelKind;
  /** Pack projections whose weights are still their constructor's draw (BitLinear.freeze's guard). Default false. */
  allowUntrained?: boolean;
}

/** Bytes of a model's weights as stored. */
export interface WeightBytes {
  /** The projections (q, k, v, o, gate, up, down of every layer) as stored now: packed codes + γ, or fp32. */
  projections: number;
  /** The same projections in fp32 (4 bytes a weight). */
  projectionsFp32: number;
  /** Embedding, norms and LM head (fp32 in every variant). */
  other: number;
  /** projections + other. */
  total: number;
}

/** The seven projections of a block, in checkpoint order. */
export function blockProjections(b: Block): Projector[] {
  return [b.attn.q, b.attn.k, b.attn.v, b.attn.o, b.mlp.gate, b.mlp.up, b.mlp.down];
}

/** Throws a PackedModelError unless the config's projections have a packed integer form. */
export function checkPackable(c: ModelConfig, what = 'freezeModel'): void {
  if (c.variant === 'baseline') {
    throw new PackedModelError(`${what}: variant 'baseline' has fp32 projections, nothing to pack; packed decoding needs a ternary variant (allowed: v1, v2, v3)`);
  }
  if (c.paperHadamard) {
    throw new PackedModelError(`${what}: paperHadamard (the authors' unnormalised transform after quantization, SPEC §2) has no packed integer form; allowed: paperHadamard false`);
  }
}

function freezeBlock(b: Block, layer: number, opts: FreezeModelOptions): void {
  for (const p of blockProjections(b)) {
    if (!(p instanceof BitLinear)) throw new PackedModelError(`freezeModel: layer ${layer} has an fp32 projection; packed decoding needs a ternary variant (allowed: v1, v2, v3)`);
    if (p.frozen) throw new PackedModelError(`freezeModel: layer ${layer} is already frozen`);
    p.freeze({ ...(opts.kernel === undefined ? {} : { kernel: opts.kernel }), allowUntrained: opts.allowUntrained === true });
  }
}

/**
 * Pack every projection of a ternary model (v1, v2, v3) in place and put it in evaluation mode; its forward then runs
 * the packed kernels (inference only). Returns the weight bytes after packing.
 */
export function freezeModel(model: BitSkipModel, opts: FreezeModelOptions = {}): WeightBytes {
  checkPackable(model.config);
  model.layers.forEach((b, l) => freezeBlock(b, l, opts));
  model.eval();
  return modelWeightBytes(model);
}

/**
 * A packed model drawn from `config` and `rng` without ever holding all fp32 weights: each block is drawn and frozen
 * before the next (BitSkipModelOptions.onBlock), the embedding and head are drawn in place (boundedInit). Its
 * weights are exactly those of freezeModel(new BitSkipModel(config, rng)); the projections count as trained (random
 * weights are fine for measuring speed).
 */
export function buildPackedModel(config: ModelConfig | Record<string, unknown>, rng: Rng, opts: Omit<FreezeModelOptions, 'allowUntrained'> = {}): BitSkipModel {
  const c = resolveModelConfig(config as Record<string, unknown>, 'paper');
  checkPackable(c, 'buildPackedModel');
  const model = new BitSkipModel(c, rng, { boundedInit: true, onBlock: (b, l) => freezeBlock(b, l, { ...opts, allowUntrained: true }) });
  return model.eval();
}

/** Bytes of the model's weights as stored now (packed projections count their codes and γ). */
export function modelWeightBytes(model: BitSkipModel): WeightBytes {
  let projections = 0;
  let projectionsFp32 = 0;
  for (const b of model.layers) {
    for (const p of blockProjections(b)) {
      const [out, inF] = p instanceof BitLinear ? [p.outFeatures, p.inFeatures] : [p.weight.shape[0]!, p.weight.shape[1]!];
      projectionsFp32 += out * inF * 4;
      projections += p instanceof BitLinear ? p.weightBytes() : out * inF * 4;
    }
  }
  const c = model.config;
  const other = 4 * (2 * c.vocabSize * c.dim + (2 * c.numLayers + 1) * c.dim); // embedding + head, norm gains
  return { projections, projectionsFp32, other, total: projections + other };
}
