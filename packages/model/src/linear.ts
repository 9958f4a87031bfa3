// The linear layer of each variant (SPEC §1, §4, §5): baseline fp32 Linear; v1 BitLinear (ternary absmean weights,
// 8-bit absmax activations per token); v2 H-BitLinear with 4-bit activations; v3 H-BitLinear with 8-bit activations.
// The study puts Hadamard on every projection (the authors' code); 'bitnet-v2' placement only on o and down. The
// embedding and the LM head stay fp32 in every variant, as in BitNet.
import { Linear, matmul, noGrad, randn, reshape } from '@bitskip/tensor-core';
import type { Module, Parameter, Rng, Tensor } from '@bitskip/tensor-core';
import { fwht } from '@bitskip/hadamard';
import { BitLinear, bitLinearFor, quantizeActivations, quantizeWeights } from '@bitskip/quant';
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

/**
 * Several projections of the same input (q, k, v; gate, up): y_i = P_i(x). For BitLinear / H-BitLinear layers that
 * quantize their input the same way (same Hadamard, bits and scheme; no inner norm; not the paper's transform), the
 * input is rotated and quantized once and shared — the activation quantizer is per token, so Q_a(x) is the same for
 * every projection — and each projection keeps its own per-tensor weight scale. Otherwise each layer runs alone.
 * The result equals running each layer's own forward.
 */
export function projectShared(layers: readonly Projector[], x: Tensor): Tensor[] {
  const first = layers[0];
  const shareable =
    first instanceof BitLinear &&
    layers.every(
      (l) =>
        l instanceof BitLinear &&
        !l.frozen &&
        l.norm === null &&
        l.bias === null &&
        !l.config.paperCompat &&
        l.hadamard === first.hadamard &&
        l.inFeatures === first.inFeatures &&
        l.config.activationBits === first.config.activationBits &&
        l.config.activationScheme === first.config.activationScheme &&
        l.config.ste === first.config.ste &&
        l.config.hadamardBlock === first.config.hadamardBlock,
    );
  if (!shareable || layers.length === 1) return layers.map((l) => l.forward(x));
  const c = first.config;
  const n = first.inFeatures;
  let h = reshape(x, [-1, n]); // (..., in) -> (N, in)
  if (first.hadamard) h = fwht(h, { block: c.hadamardBlock ?? n });
  const hq = quantizeActivations(h, { bits: c.activationBits, scheme: c.activationScheme }, c.ste);
  return layers.map((l) => {
    const b = l as BitLinear;
    const y = matmul(hq, quantizeWeights(b.weight, b.config.weightScheme, b.config.ste), { transB: true }); // (N, in) x (out, in)ᵀ
    return reshape(y, [...x.shape.slice(0, -1), b.outFeatures]); // (N, out) -> (..., out)
  });
}
