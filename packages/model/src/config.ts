// The BitSkip model configuration (SPEC §3): typed defaults, validated overrides, parameter count.

export type Variant = 'baseline' | 'v1' | 'v2' | 'v3';
export const VARIANTS: readonly Variant[] = ['baseline', 'v1', 'v2', 'v3'];

export interface ModelConfig {
  variant: Variant;
  vocabSize: number;
  numLayers: number;
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  ffnHidden: number;
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
  tieEmbeddings: boolean;
}

/** The released configuration of the TinyStories runs (~1.06 B parameters). */
export const PAPER_CONFIG: Readonly<ModelConfig> = Object.freeze({
  variant: 'v1',
  vocabSize: 50257,
  numLayers: 24,
  hidden: 2048,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 64,
  ffnHidden: 4096,
  maxSeqLen: 512,
  ropeTheta: 10000,
  normEps: 1e-6,
  tieEmbeddings: false,
});

const POSITIVE_INTS = ['vocabSize', 'numLayers', 'hidden', 'numHeads', 'numKvHeads', 'headDim', 'ffnHidden', 'maxSeqLen'] as const;

/** Merge overrides into the defaults; an unknown key, a wrong type or an inconsistent shape is an error naming the key. */
export function resolveModelConfig(overrides: Record<string, unknown> = {}, base: Readonly<ModelConfig> = PAPER_CONFIG): ModelConfig {
  const out: ModelConfig = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) {
      throw new Error(`model config: unknown key "${key}"; allowed keys: ${Object.keys(base).join(', ')}`);
    }
    const expected = typeof base[key as keyof ModelConfig];
    if (typeof value !== expected) {
      throw new Error(`model config: "${key}" must be a ${expected}, got ${JSON.stringify(value)}`);
    }
    (out as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of POSITIVE_INTS) {
    if (!Number.isInteger(out[key]) || out[key] < 1) {
      throw new Error(`model config: "${key}" must be a positive integer, got ${out[key]}`);
    }
  }
  if (!VARIANTS.includes(out.variant)) {
    throw new Error(`model config: "variant" must be one of ${VARIANTS.join(', ')}, got "${out.variant}"`);
  }
  if (out.numHeads % out.numKvHeads !== 0) {
    throw new Error(`model config: "numHeads" (${out.numHeads}) must be a multiple of "numKvHeads" (${out.numKvHeads})`);
  }
  return out;
}

/** Number of trainable parameters: embeddings, head, attention, SwiGLU FFN and RMSNorm gains. */
export function numParams(c: ModelConfig): number {
  const attn = c.hidden * c.numHeads * c.headDim * 2 + c.hidden * c.numKvHeads * c.headDim * 2;
  const ffn = 3 * c.hidden * c.ffnHidden;
  const norms = 2 * c.hidden;
  const perLayer = attn + ffn + norms;
  const embed = c.vocabSize * c.hidden;
  const head = c.tieEmbeddings ? 0 : c.vocabSize * c.hidden;
  return c.numLayers * perLayer + embed + head + c.hidden; // + final norm
}
