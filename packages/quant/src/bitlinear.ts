// BitLinear (BitNet b1.58; SPEC §4) and H-BitLinear (BitNet v2; SPEC §5): latent fp32 weights, fake-quantized
// forward with straight-through gradients, no bias by default, optional RMSNorm inside. freeze() packs the
// ternary weights (2 bits each) on the layer's backend for integer inference (the ternaryMatmul op).
//   BitLinear:     y = Q_a(norm(x)) · Q_w(W)ᵀ
//   H-BitLinear:   y = Q_a(H·norm(x)) · Q_w(W)ᵀ                    H orthonormal (÷√n), BitNet v2 placement
//   paperCompat:   y = H_u( H_u(Q_a(norm(x))) · Q_w(W)ᵀ )          H_u = √n·H unnormalised, the authors' code (SPEC §2)
import { fwht } from '@bitskip/hadamard';
import { Module, Parameter, RMSNorm, add, matmul, mul, noGrad, reshape, uniform } from '@bitskip/tensor-core';
import type { Rng, Tensor } from '@bitskip/tensor-core';
import type { Projection, QuantConfig } from './config.js';
import { resolveQuantConfig, usesHadamard } from './config.js';
import { quantizeActivations, quantizeWeights } from './fake.js';
import { quantizeTernaryAbsmean } from './quantizers.js';
import { PackedTernaryMatrix } from './packed/ternary.js';
import type { TernaryKernelKind } from './packed/ternary.js';

export interface BitLinearOptions {
  /** Quantization config (overrides of DEFAULT_QUANT_CONFIG, validated). */
  config?: Partial<QuantConfig>;
  /** Add a bias (not quantized). Default false. */
  bias?: boolean;
}

export interface FreezeOptions {
  /** Pack even when the weights are still their initial values. Default false (an error). */
  allowUntrained?: boolean;
  /** Kernel to pack for; default relaxed SIMD where the layer's backend runs it, else plain. */
  kernel?: TernaryKernelKind;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** A linear layer with BitNet fake quantization. `hadamard` is fixed by the class (HBitLinear sets it). */
export class BitLinear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly norm: RMSNorm | null;
  readonly config: QuantConfig;
  private readonly initRef: unknown;
  private packedWeights: PackedTernaryMatrix | null = null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: BitLinearOptions = {},
    /** Rotate activations by an orthonormal Hadamard before quantization (H-BitLinear). */
    readonly hadamard = false,
  ) {
    super();
    this.config = resolveQuantConfig(opts.config ?? {});
    const name = hadamard ? 'HBitLinear' : 'BitLinear';
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures < 1 || outFeatures < 1) {
      throw new Error(`${name}: inFeatures and outFeatures must be positive integers, got ${inFeatures}, ${outFeatures}`);
    }
    if (hadamard) {
      const block = this.config.hadamardBlock ?? inFeatures;
      if (!isPow2(inFeatures) && this.config.hadamardBlock === null) {
        throw new Error(`HBitLinear: inFeatures ${inFeatures} is not a power of two; set hadamardBlock to a power of two dividing it`);
      }
      if (inFeatures % block !== 0) throw new Error(`HBitLinear: hadamardBlock ${block} does not divide inFeatures ${inFeatures}`);
      if (this.config.paperCompat && outFeatures % block !== 0 && this.config.hadamardBlock !== null) {
        throw new Error(`HBitLinear (paperCompat): hadamardBlock ${block} does not divide outFeatures ${outFeatures}`);
      }
      if (this.config.paperCompat && this.config.hadamardBlock === null && !isPow2(outFeatures)) {
        throw new Error(`HBitLinear (paperCompat): the output transform needs outFeatures a power of two, got ${outFeatures}; set hadamardBlock`);
      }
    }
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniform([outFeatures, inFeatures], rng, -bound, bound));
    this.bias = opts.bias === true ? new Parameter(uniform([outFeatures], rng, -bound, bound)) : null;
    this.norm = this.config.innerNorm ? new RMSNorm(inFeatures) : null;
    this.initRef = this.weight.ref;
  }

  /** Whether freeze() has packed this layer (then forward is inference-only). */
  get frozen(): boolean {
    return this.packedWeights !== null;
  }

  /** The packed weights of a frozen layer. */
  get packed(): PackedTernaryMatrix | null {
    return this.packedWeights;
  }

  private get name(): string {
    return this.hadamard ? 'HBitLinear' : 'BitLinear';
  }

  private blockOf(n: number): number {
    return this.config.hadamardBlock ?? n;
  }

  /** Input side before activation quantization: RMSNorm (optional), then H (BitNet v2 placement). */
  private prepare(x2: Tensor): Tensor {
    let h = this.norm !== null ? this.norm.forward(x2) : x2;
    if (this.hadamard && !this.config.paperCompat) h = fwht(h, { block: this.blockOf(this.inFeatures) });
    return h;
  }

  /** (..., in) -> (..., out). */
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`${this.name}: input ${JSON.stringify(x.shape)} must end in ${this.inFeatures}`);
    }
    const x2 = reshape(x, [-1, this.inFeatures]); // (..., in) -> (N, in)
    const y2 = this.packedWeights !== null ? this.forwardPacked(x2, this.packedWeights) : this.forwardFake(x2);
    return reshape(y2, [...x.shape.slice(0, -1), this.outFeatures]); // (N, out) -> (..., out)
  }

  private forwardFake(x2: Tensor): Tensor {
    const c = this.config;
    let hq = quantizeActivations(this.prepare(x2), { bits: c.activationBits, scheme: c.activationScheme }, c.ste);
    const paper = this.hadamard && c.paperCompat;
    if (paper) {
      const b = this.blockOf(this.inFeatures);
      hq = mul(fwht(hq, { block: b }), Math.sqrt(b)); // unnormalised H after quantization
    }
    const wq = quantizeWeights(this.weight, c.weightScheme, c.ste);
    let y = matmul(hq, wq, { transB: true }); // (N, in) x (out, in)ᵀ -> (N, out)
    if (paper) {
      const b = this.blockOf(this.outFeatures);
      y = mul(fwht(y, { block: b }), Math.sqrt(b)); // unnormalised H on the output too
    }
    if (this.bias !== null) y = add(y, this.bias);
    return y;
  }

  /** The frozen forward: a tensor op on the input's backend (the packed weights' kernel), no read-back. */
  private forwardPacked(x2: Tensor, packed: PackedTernaryMatrix): Tensor {
    return noGrad(() => {
      const c = this.config;
      const y = packed.forward(this.prepare(x2), { bits: c.activationBits, scheme: c.activationScheme }); // (N, in) -> (N, out)
      return this.bias !== null ? add(y, this.bias) : y;
    });
  }

  /**
   * Pack the ternary weights (2 bits each, plus γ) on the weights' backend for integer inference and release the
   * latent fp32 weights.
   * Errors: already frozen; untrained (weights still at their initial values, unless allowUntrained);
   * weightScheme not 'ternary'; paperCompat (its transform after quantization has no integer form).
   */
  freeze(opts: FreezeOptions = {}): this {
    if (this.packedWeights !== null) throw new Error(`${this.name}.freeze: the layer is already frozen`);
    if (this.config.weightScheme !== 'ternary') {
      throw new Error(`${this.name}.freeze: packed inference needs weightScheme 'ternary'; this layer has '${this.config.weightScheme}' (allowed: 'ternary')`);
    }
    if (this.hadamard && this.config.paperCompat) {
      throw new Error(`${this.name}.freeze: paperCompat (quantize, then an unnormalised transform) has no packed integer form; allowed: paperCompat false`);
    }
    if (opts.allowUntrained !== true && this.weight.ref === this.initRef) {
      throw new Error(`${this.name}.freeze: the weights are still their initial values (untrained); train or load them first, or pass { allowUntrained: true }`);
    }
    const { codes, scale } = quantizeTernaryAbsmean(this.weight.dataSync());
    this.packedWeights = PackedTernaryMatrix.pack(codes, this.outFeatures, this.inFeatures, scale, opts.kernel, this.weight.backend);
    this.weight.dispose();
    return this;
  }

  /** Trainable parameters (the latent weight is gone once frozen). */
  override namedParameters(prefix = ''): [string, Parameter][] {
    return super.namedParameters(prefix).filter(([, p]) => !p.isDisposed);
  }

  /** Bytes of the linear weights as stored now: packed codes + γ when frozen, else fp32. */
  weightBytes(): number {
    return this.packedWeights !== null ? this.packedWeights.bytes + 8 : this.inFeatures * this.outFeatures * 4;
  }

  override dispose(): void {
    super.dispose();
    this.packedWeights?.dispose();
  }
}

/** H-BitLinear: orthonormal Hadamard on the input before activation quantization (BitNet v2). */
export class HBitLinear extends BitLinear {
  constructor(inFeatures: number, outFeatures: number, rng: Rng, opts: BitLinearOptions = {}) {
    super(inFeatures, outFeatures, rng, opts, true);
  }
}

/** The layer a model should use for projection `p` under `config`: HBitLinear where usesHadamard, else BitLinear. */
export function bitLinearFor(p: Projection, inFeatures: number, outFeatures: number, rng: Rng, config: Partial<QuantConfig> = {}, bias = false): BitLinear {
  const c = resolveQuantConfig(config);
  return usesHadamard(c, p) ? new HBitLinear(inFeatures, outFeatures, rng, { config: c, bias }) : new BitLinear(inFeatures, outFeatures, rng, { config: c, bias });
}
