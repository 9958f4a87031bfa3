// The checkpoint format: safetensors weights under Hugging Face Llama tensor names, and a config.json with HF Llama
// keys where they exist (hidden_size, num_hidden_layers, …) and ours beside them under "bitskip" (variant, quant
// config, paper-compat flags, tokenizer). A HF Llama loader reads the weights of the baseline as they are; the
// quantized variants keep their fp32 latent weights (quantization is applied in the forward pass, see quant).
// Pure functions here (no file system); ./node.ts reads and writes directories.
import { noGrad, tensor } from '@bitskip/tensor-core';
import type { Backend, SafetensorsTensor, SafetensorsTensorInput, Tensor } from '@bitskip/tensor-core';
import type { ModelConfig } from './config.js';
import { ModelConfigError, PRESETS, numParams, paperCompatFlags, resolveModelConfig } from './config.js';
import { quantConfigFor } from './linear.js';
import type { BitSkipModel } from './model.js';

export const CHECKPOINT_FORMAT = 'bitskip-checkpoint';
export const CHECKPOINT_VERSION = 1;

const PROJ: Record<string, string> = { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj', gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };

/** Our parameter name (namedParameters) -> the HF Llama tensor name. */
export function hfTensorName(name: string): string {
  if (name === 'embed.weight') return 'model.embed_tokens.weight';
  if (name === 'norm.weight') return 'model.norm.weight';
  if (name === 'head.weight') return 'lm_head.weight';
  const m = /^layers\.(\d+)\.(attnNorm|mlpNorm|attn\.(q|k|v|o)|mlp\.(gate|up|down))\.weight$/.exec(name);
  if (m === null) throw new Error(`checkpoint: no Hugging Face name for parameter "${name}"`);
  const [, n, part, a, f] = m;
  if (part === 'attnNorm') return `model.layers.${n}.input_layernorm.weight`;
  if (part === 'mlpNorm') return `model.layers.${n}.post_attention_layernorm.weight`;
  if (a !== undefined) return `model.layers.${n}.self_attn.${PROJ[a]}.weight`;
  return `model.layers.${n}.mlp.${PROJ[f!]}.weight`;
}

/** Tokenizer identity stored with a checkpoint (the data package's tokenizer hash and kind). */
export interface TokenizerInfo {
  readonly kind: string;
  readonly hash: string;
  readonly vocabSize: number;
}

/** The config.json document of a checkpoint. */
export interface CheckpointConfigJson {
  architectures: string[];
  model_type: 'llama';
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  hidden_act: 'silu';
  tie_word_embeddings: false;
  attention_bias: false;
  mlp_bias: false;
  torch_dtype: 'float32';
  bitskip: {
    format: typeof CHECKPOINT_FORMAT;
    version: number;
    variant: ModelConfig['variant'];
    config: ModelConfig;
    quant: Record<string, unknown> | null;
    paper_compat: string[];
    num_params: number;
    tokenizer: TokenizerInfo | null;
  };
}

export function checkpointConfigJson(c: ModelConfig, tokenizer: TokenizerInfo | null = null): CheckpointConfigJson {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.ffnDim,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    bitskip: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      variant: c.variant,
      config: { ...c },
      quant: quantConfigFor(c),
      paper_compat: paperCompatFlags(c),
      num_params: numParams(c),
      tokenizer,
    },
  };
}

/** A checkpoint problem: names the file and what is wrong. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Read a config.json document back into a validated ModelConfig; `where` names the file in errors. */
export function parseCheckpointConfig(doc: unknown, where = 'config.json'): { config: ModelConfig; tokenizer: TokenizerInfo | null } {
  const d = doc as Partial<CheckpointConfigJson>;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw new CheckpointError(`${where}: expected a JSON object`);
  const b = d.bitskip;
  if (b === undefined || b === null || typeof b !== 'object') throw new CheckpointError(`${where}: no "bitskip" section; not a BitSkip checkpoint`);
  if (b.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${where}: bitskip.format is ${JSON.stringify(b.format)}, expected "bitskip-checkpoint"`);
  if (b.version !== CHECKPOINT_VERSION) throw new CheckpointError(`${where}: bitskip.version ${JSON.stringify(b.version)} is not supported (this build reads ${String(CHECKPOINT_VERSION)})`);
  let config: ModelConfig;
  try {
    config = resolveModelConfig(b.config as unknown as Record<string, unknown>, PRESETS.paper);
  } catch (err) {
    if (err instanceof ModelConfigError) throw new CheckpointError(`${where}: bitskip.config: ${err.message}`);
    throw err;
  }
  // The HF keys must agree with ours (someone editing one and not the other).
  const pairs: [keyof CheckpointConfigJson, number][] = [
    ['hidden_size', config.dim],
    ['intermediate_size', config.ffnDim],
    ['num_hidden_layers', config.numLayers],
    ['num_attention_heads', config.numHeads],
    ['num_key_value_heads', config.numKvHeads],
    ['head_dim', config.headDim],
    ['vocab_size', config.vocabSize],
    ['max_position_embeddings', config.maxSeqLen],
    ['rms_norm_eps', config.normEps],
    ['rope_theta', config.ropeTheta],
  ];
  for (const [k, v] of pairs) {
    if (d[k] !== v) throw new CheckpointError(`${where}: ${k} is ${JSON.stringify(d[k])} but bitskip.config says ${v}`);
  }
  // The architecture's fixed keys: a loader reading only the HF keys must build this model, not another.
  const fixed: [keyof CheckpointConfigJson, unknown][] = [
    ['model_type', 'llama'],
    ['hidden_act', 'silu'],
    ['tie_word_embeddings', false],
    ['attention_bias', false],
    ['mlp_bias', false],
  ];
  for (const [k, v] of fixed) {
    if (d[k] !== v) throw new CheckpointError(`${where}: ${k} is ${JSON.stringify(d[k])}; a BitSkip checkpoint has ${JSON.stringify(v)}`);
  }
  const t = b.tokenizer ?? null;
  if (t !== null && (typeof t.hash !== 'string' || typeof t.kind !== 'string' || typeof t.vocabSize !== 'number')) {
    throw new CheckpointError(`${where}: bitskip.tokenizer must be null or {kind, hash, vocabSize}`);
  }
  if (t !== null && t.vocabSize > config.vocabSize) {
    throw new CheckpointError(`${where}: the tokenizer has ${t.vocabSize} tokens, more than the model's vocab_size ${config.vocabSize}`);
  }
  return { config, tokenizer: t };
}

/** The model's weights as safetensors F32 tensors under HF names (read from the backend). */
export function modelTensors(model: BitSkipModel): Record<string, SafetensorsTensorInput> {
  const out: Record<string, SafetensorsTensorInput> = {};
  for (const [name, p] of model.namedParameters()) {
    out[hfTensorName(name)] = { dtype: 'F32', shape: [...p.shape], data: Float32Array.from(p.dataSync()) };
  }
  return out;
}

/**
 * Copy weights into a model (names, shapes and dtypes checked; every parameter must be present, nothing extra).
 * F32, F64, F16 and BF16 are accepted and stored as the backend's float32.
 */
export function loadModelTensors(model: BitSkipModel, tensors: Readonly<Record<string, SafetensorsTensor>>, where = 'model.safetensors', backend?: Backend): void {
  const params = model.namedParameters();
  const expected = new Map(params.map(([n, p]) => [hfTensorName(n), p] as const));
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name)) throw new CheckpointError(`${where}: unexpected tensor "${name}" (not a parameter of this ${model.config.numLayers}-layer model)`);
  }
  for (const [name, p] of expected) {
    const t = tensors[name];
    if (t === undefined) throw new CheckpointError(`${where}: missing tensor "${name}"`);
    if (t.dtype !== 'F32' && t.dtype !== 'F64' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new CheckpointError(`${where}: tensor "${name}" has dtype ${t.dtype}; allowed: F32, F64, F16, BF16`);
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new CheckpointError(`${where}: tensor "${name}" has shape ${JSON.stringify(t.shape)}, the model needs ${JSON.stringify(p.shape)}`);
    }
  }
  noGrad(() => {
    for (const [name, p] of expected) {
      const t = tensors[name]!;
      const data = t.data as ArrayLike<number>;
      for (let i = 0; i < data.length; i++) {
        const x = data[i]!;
        if (!Number.isFinite(x)) throw new CheckpointError(`${where}: tensor "${name}" holds a non-finite value (${x})`);
      }
      const v: Tensor = tensor(t.data as ArrayLike<number>, p.shape, 'float32', backend ?? p.backend);
      v.ref.refs++;
      p.assignRef(v.ref);
      v.dispose();
    }
  });
}
