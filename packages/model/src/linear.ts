// The linear layer of each variant (SPEC §1, §4, §5): baseline fp32 Linear; v1 BitLinear (ternary absmean weights,
// 8-bit absmax activations per token); v2 H-BitLinear with 4-bit activations; v3 H-BitLinear with 8-bit activations.
// The study puts Hadamard on every projection (the authors' code); 'bitnet-v2' placement only on o and down. The
// embedding and the LM head stay fp32 in every variant, as in BitNet.
import { Linear, noGrad, randn } from '@bitskip/tensor-core';
import type { Module, Parameter, Rng, Tensor } from '@bitskip/tensor-core';
import { bitLinearFor } from '@bitskip/quant';
import type { Projection, QuantConfig } from '@bitskip/quant';
import type { ModelConfig } from './config.js';

/** What the model needs of a projection. */
export interface Projector extends Module {
  readonly weight: Parameter;
  forward(x: Tensor): Tensor;
}

/** The quant config of a variant, or null for the fp32 baseline. */
export function quantConfigFor(c: ModelConfig): Partial<QuantConfig> | null {
  const hadamardProjections = c.hadamardPlacement === 'all' ? ('all' as const) : (['o', 'down'] as Projection[]);
  switch (c.variant) {
    case 'baseline':
      return null;
    case 'v1':
      return { weightScheme: 'ternary', activationBits: 8, activationScheme: 'absmax', hadamard: false };
    case 'v2':
      return {
        weightScheme: 'ternary',
        activationBits: 4,
        activationScheme: c.lowBitScheme,
        hadamard: true,
        hadamardProjections,
        hadamardBlock: c.hadamardBlock,
        paperCompat: c.paperHadamard,
      };
    case 'v3':
      return {
        weightScheme: 'ternary',
        activationBits: 8,
        activationScheme: 'absmax',
        hadamard: true,
        hadamardProjections,
        hadamardBlock: c.hadamardBlock,
        paperCompat: c.paperHadamard,
      };
  }
}

/** Overwrite a parameter with N(0, std²) draws from rng (the same draws for every variant). */
export function initNormal(p: Parameter, rng: Rng, std: number): void {
  noGrad(() => {
    const t = randn(p.shape, rng, std, 0, p.backend);
    t.ref.refs++;
    p.assignRef(t.ref);
    t.dispose();
  });
}

/** Projection `p` (in -> out, no bias) of the variant in `c`, its weights N(0, std²). */
export function makeProjection(c: ModelConfig, p: Projection, inFeatures: number, outFeatures: number, rng: Rng, std: number): Projector {
  const q = quantConfigFor(c);
  const layer: Projector = q === null ? new Linear(inFeatures, outFeatures, rng) : bitLinearFor(p, inFeatures, outFeatures, rng, q);
  initNormal(layer.weight, rng, std);
  return layer;
}
