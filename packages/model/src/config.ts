// The BitSkip model configuration (SPEC §3–5): one typed vocabulary for every shape (`dim`, `ffnDim`, …), named
// presets (paper, study, quick, tiny), validated overrides, and the parameter and FLOP counts, computed from the
// config alone (no weights allocated).

export type Variant = 'baseline' | 'v1' | 'v2' | 'v3';
export const VARIANTS: readonly Variant[] = ['baseline', 'v1', 'v2', 'v3'];

/** Where the Hadamard variants (v2, v3) rotate activations: every projection (the authors' code) or o and down only (BitNet v2). */
export type HadamardPlacement = 'all' | 'bitnet-v2';
export const HADAMARD_PLACEMENTS: readonly HadamardPlacement[] = ['all', 'bitnet-v2'];

/** The 4-bit activation quantizer of v2: absmax (±7) or BitNet v2's absmean INT4 ([−8, 7]); SPEC §4. */
export type LowBitScheme = 'absmax' | 'absmean';
export const LOW_BIT_SCHEMES: readonly LowBitScheme[] = ['absmax', 'absmean'];

export interface ModelConfig {
  /** baseline (fp32), v1 (ternary W, 8-bit A), v2 (ternary W, 4-bit A, Hadamard), v3 (ternary W, 8-bit A, Hadamard). */
  variant: Variant;
  vocabSize: number;
  /** Width of the residual stream (HF `hidden_size`). */
  dim: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention): numHeads must be a multiple. */
  numKvHeads: number;
  headDim: number;
  /** SwiGLU intermediate width (HF `intermediate_size`). */
  ffnDim: number;
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
  /** v2/v3: which projections get H-BitLinear. Default 'all' (the study: the authors' code, SPEC §5). */
  hadamardPlacement: HadamardPlacement;
  /** v2/v3: power-of-two block of a block-diagonal Hadamard, or null for the whole input width. */
  hadamardBlock: number | null;
  /** v2's 4-bit activation quantizer. */
  lowBitScheme: LowBitScheme;
  /** Residual dropout after the attention and FFN projections while training (regularisation); 0 = off. */
  dropout: number;
  /** Std of the normal init of embeddings and projections; the residual outputs (o, down) get std/√(2L) (GPT-2). */
  initStd: number;
  /** Paper-compatibility fault (SPEC §2): attention without a causal mask. Off by default. */
  paperNoCausalMask: boolean;
  /** Paper-compatibility fault (SPEC §2): early-exit losses against unshifted targets. Off by default. */
  paperUnshiftedExitTargets: boolean;
  /** Paper-compatibility fault (SPEC §2): the authors' unnormalised Hadamard before and after the matmul. Off by default. */
  paperHadamard: boolean;
}

/** The paper-compatibility switches: each reproduces one fault of the authors' code (SPEC §2). */
export const PAPER_COMPAT_KEYS = ['paperNoCausalMask', 'paperUnshiftedExitTargets', 'paperHadamard'] as const;
export type PaperCompatKey = (typeof PAPER_COMPAT_KEYS)[number];

const DEFAULTS: Readonly<ModelConfig> = Object.freeze({
  variant: 'v1',
  vocabSize: 50257,
  dim: 2048,
  numLayers: 24,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  ffnDim: 4096,
  maxSeqLen: 512,
  ropeTheta: 10000,
  normEps: 1e-6,
  hadamardPlacement: 'all',
  hadamardBlock: null,
  lowBitScheme: 'absmax',
  dropout: 0,
  initStd: 0.02,
  paperNoCausalMask: false,
  paperUnshiftedExitTargets: false,
  paperHadamard: false,
});

export type PresetName = 'paper' | 'study' | 'quick' | 'tiny';
export const PRESET_NAMES: readonly PresetName[] = ['paper', 'study', 'quick', 'tiny'];

/**
 * Named shapes. `paper`: the released TinyStories configuration (24 × 2048, 32/8 heads, SwiGLU 4096, GPT-2 vocab,
 * ~1.06 B parameters). `study`: 24 layers so exits 6/12/18/24 mirror the paper, narrow enough that the two-phase study
 * fits an hour on 2 cores; every projection's input width is a power of two (Hadamard everywhere). `quick`: the
 * default training run (10 minutes on 2 cores). `tiny`: tests.
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<ModelConfig>>> = Object.freeze({
  paper: DEFAULTS,
  study: Object.freeze({ ...DEFAULTS, vocabSize: 1024, dim: 64, numLayers: 24, numHeads: 4, numKvHeads: 2, headDim: 16, ffnDim: 128, maxSeqLen: 256 }),
  quick: Object.freeze({ ...DEFAULTS, vocabSize: 1024, dim: 128, numLayers: 8, numHeads: 4, numKvHeads: 2, headDim: 32, ffnDim: 256, maxSeqLen: 256 }),
  tiny: Object.freeze({ ...DEFAULTS, vocabSize: 96, dim: 32, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 8, ffnDim: 64, maxSeqLen: 64 }),
});

/** @deprecated the released configuration; use PRESETS.paper. */
export const PAPER_CONFIG: Readonly<ModelConfig> = PRESETS.paper;

const POSITIVE_INTS = ['vocabSize', 'dim', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'ffnDim', 'maxSeqLen'] as const;
const ENUMS: Partial<Record<keyof ModelConfig, readonly string[]>> = {
  variant: VARIANTS,
  hadamardPlacement: HADAMARD_PLACEMENTS,
  lowBitScheme: LOW_BIT_SCHEMES,
};

/** A config error: the message names the key and the allowed values. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

function fail(msg: string): never {
  throw new ModelConfigError(`model config: ${msg}`);
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Merge overrides into a preset (default `paper`); an unknown key, a wrong type, an out-of-range value or an
 * inconsistent shape is a ModelConfigError naming the key and what is allowed.
 */
export function resolveModelConfig(overrides: Record<string, unknown> = {}, base: Readonly<ModelConfig> | PresetName = 'paper'): ModelConfig {
  const b = typeof base === 'string' ? PRESETS[base] : base;
  if (b === undefined) fail(`unknown preset "${typeof base === 'string' ? base : 'object'}"; allowed: ${PRESET_NAMES.join(', ')}`);
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) fail(`expected an object, got ${JSON.stringify(overrides)}`);
  const out: ModelConfig = { ...b };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULTS)) fail(`unknown key "${key}"; allowed keys: ${Object.keys(DEFAULTS).join(', ')}`);
    const k = key as keyof ModelConfig;
    if (k === 'hadamardBlock') {
      if (value !== null && typeof value !== 'number') fail(`"hadamardBlock" must be null or a number, got ${JSON.stringify(value)}`);
    } else if (typeof value !== typeof DEFAULTS[k]) {
      fail(`"${key}" must be a ${typeof DEFAULTS[k]}, got ${JSON.stringify(value)}`);
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of POSITIVE_INTS) {
    if (!Number.isInteger(out[key]) || out[key] < 1) fail(`"${key}" must be a positive integer, got ${out[key]}`);
  }
  for (const [key, allowed] of Object.entries(ENUMS)) {
    const v = out[key as keyof ModelConfig];
    if (!allowed.includes(v as string)) fail(`"${key}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }
  if (out.numHeads % out.numKvHeads !== 0) fail(`"numHeads" (${out.numHeads}) must be a multiple of "numKvHeads" (${out.numKvHeads})`);
  if (out.headDim % 2 !== 0) fail(`"headDim" must be even (RoPE rotates pairs), got ${out.headDim}`);
  if (!(out.ropeTheta > 0) || !Number.isFinite(out.ropeTheta)) fail(`"ropeTheta" must be a finite number > 0, got ${out.ropeTheta}`);
  if (!(out.normEps > 0 && out.normEps < 1)) fail(`"normEps" must be in (0, 1), got ${out.normEps}`);
  if (!(out.dropout >= 0 && out.dropout < 1)) fail(`"dropout" must be in [0, 1), got ${out.dropout}`);
  if (!(out.initStd > 0) || !Number.isFinite(out.initStd)) fail(`"initStd" must be a finite number > 0, got ${out.initStd}`);
  if (out.hadamardBlock !== null && !isPow2(out.hadamardBlock)) fail(`"hadamardBlock" must be null or a power of two, got ${out.hadamardBlock}`);
  if (out.lowBitScheme === 'absmean' && out.variant !== 'v2') fail(`"lowBitScheme" 'absmean' applies to variant v2 only (4-bit activations), got variant ${out.variant}`);
  if (out.paperHadamard && out.variant !== 'v2' && out.variant !== 'v3') fail(`"paperHadamard" applies to the Hadamard variants v2 and v3 only, got variant ${out.variant}`);
  if (out.variant === 'v2' || out.variant === 'v3') {
    // Every Hadamard projection's input (and, for paperHadamard, output) width must take the transform.
    const HD = out.numHeads * out.headDim;
    const KD = out.numKvHeads * out.headDim;
    // Every Hadamard projection's input (and, for paperHadamard, output) width must take the transform.
    const widths: [string, number][] = [['o input (numHeads*headDim)', HD], ['down input (ffnDim)', out.ffnDim]];
    if (out.hadamardPlacement === 'all') widths.push(['q/k/v/gate/up input (dim)', out.dim]);
    if (out.paperHadamard) {
      widths.push(['o/down output (dim)', out.dim]);
      if (out.hadamardPlacement === 'all') widths.push(['q output', HD], ['k/v output', KD], ['gate/up output (ffnDim)', out.ffnDim]);
    }
    for (const [what, n] of widths) {
      const ok = out.hadamardBlock === null ? isPow2(n) : n % out.hadamardBlock === 0;
      if (!ok) {
        fail(
          out.hadamardBlock === null
            ? `variant ${out.variant} puts a Hadamard on ${what} = ${n}, which is not a power of two; set "hadamardBlock" to a power of two dividing it`
            : `"hadamardBlock" ${out.hadamardBlock} does not divide ${what} = ${n}`,
        );
      }
    }
  }
  return out;
}

/** The paper-compatibility switches that are on (empty for the correct system). */
export function paperCompatFlags(c: ModelConfig): PaperCompatKey[] {
  return PAPER_COMPAT_KEYS.filter((k) => c[k]);
}

/** Number of trainable parameters: embeddings, head, attention, SwiGLU FFN and RMSNorm gains (no allocation). */
export function numParams(c: ModelConfig): number {
  const attn = c.dim * c.numHeads * c.headDim * 2 + c.dim * c.numKvHeads * c.headDim * 2;
  const ffn = 3 * c.dim * c.ffnDim;
  const norms = 2 * c.dim;
  const perLayer = attn + ffn + norms;
  return c.numLayers * perLayer + 2 * c.vocabSize * c.dim + c.dim; // untied embedding and head, final norm
}

/**
 * Forward FLOPs per token at context length `seq` (default maxSeqLen), running `layers` layers (default all) and one
 * head: 2 per multiply-add of every projection and the head, plus attention scores and values (2·2·T_avg·H·D per
 * layer with the causal average context (T+1)/2). Training ≈ 3× this (forward + backward).
 */
export function flopsPerToken(c: ModelConfig, opts: { seq?: number; layers?: number } = {}): number {
  const seq = opts.seq ?? c.maxSeqLen;
  const layers = opts.layers ?? c.numLayers;
  const proj = c.dim * (2 * c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim) + 3 * c.dim * c.ffnDim;
  const attn = 2 * c.numHeads * c.headDim * ((seq + 1) / 2);
  return layers * 2 * (proj + attn) + 2 * c.dim * c.vocabSize;
}
