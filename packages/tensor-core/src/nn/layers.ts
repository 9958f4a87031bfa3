// Basic layers: Linear (PyTorch layout and init), Embedding, RMSNorm. Init draws from a seeded Rng.
import { rmsNorm } from '../ops/norm.js';
import { randn, ones, uniform } from '../ops/create.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/gather.js';
import { reshape } from '../ops/layout.js';
import { matmul } from '../ops/matmul.js';
import type { Rng } from '../rng.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { Module, Parameter } from './module.js';

export interface LinearOptions {
  bias?: boolean;
}

/** y = x Wᵀ + b, W of shape (out, in); init U(-1/√in, 1/√in) as in PyTorch. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: LinearOptions = {},
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniform([outFeatures, inFeatures], rng, -bound, bound));
    this.bias = opts.bias === true ? new Parameter(uniform([outFeatures], rng, -bound, bound)) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`Linear: input ${fmtShape(x.shape)} must end in ${this.inFeatures}`);
    }
    // (..., in) -> (N, in) -> (N, out) -> (..., out)
    const x2 = reshape(x, [-1, this.inFeatures]);
    let y = matmul(x2, this.weight, { transB: true });
    if (this.bias !== null) y = add(y, this.bias);
    return reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
  }
}

/** Token embedding table (V, D), init N(0, std²) (PyTorch: std 1). */
export class Embedding extends Module {
  readonly weight: Parameter;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    rng: Rng,
    std = 1,
  ) {
    super();
    this.weight = new Parameter(randn([numEmbeddings, dim], rng, std));
  }

  /** int32 ids (...) -> (..., D). */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** RMSNorm over the last axis with a learned gain initialised to ones. */
export class RMSNorm extends Module {
  readonly weight: Parameter;

  constructor(
    readonly dim: number,
    readonly eps = 1e-6,
  ) {
    super();
    this.weight = new Parameter(ones([dim]));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}
