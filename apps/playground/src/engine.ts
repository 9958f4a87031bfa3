// The playground's engine, free of DOM and Node APIs (it runs in the page's Web Worker and in Node tests): a
// checkpoint (config.json + model.safetensors + tokenizer.json) parsed and validated with the packages' own checks,
// each problem said in one plain sentence naming the file; the model built on the current backend; and text generated
// through @bitskip/layerskip's decoders (fixed exit, confidence exit, self-speculative), streamed token by token.
import { Rng, parseSafetensors } from '@bitskip/tensor-core';
import type { SafetensorsFile } from '@bitskip/tensor-core';
import { BitSkipModel, CheckpointError, KVCache, PackedModelError, freezeModel, loadModelTensors, parseCheckpointConfig } from '@bitskip/model';
import type { ModelConfig, TokenizerInfo } from '@bitskip/model';
import { dynamicExitDecode, greedyDecode, sampleDecode, selfSpeculativeDecode } from '@bitskip/layerskip';
import type { DecodeResult, Sampling } from '@bitskip/layerskip';
import { BpeTokenizer, DataError } from '@bitskip/data-tinystories/browser';

/** The three files of a playground checkpoint. */
export const CHECKPOINT_FILES = { config: 'config.json', weights: 'model.safetensors', tokenizer: 'tokenizer.json' } as const;

/** A problem with what the user gave (files, URL, settings): one sentence, shown as it is. */
export class PlaygroundError extends Error {
  override name = 'PlaygroundError';
}

export interface CheckpointBytes {
  config: string;
  weights: Uint8Array;
  tokenizer: string;
}

export interface Checkpoint {
  config: ModelConfig;
  tokenizerInfo: TokenizerInfo | null;
  tokenizer: BpeTokenizer;
  weights: SafetensorsFile;
  /** What the page shows about it. */
  summary: CheckpointSummary;
}

export interface CheckpointSummary {
  variant: string;
  layers: number;
  dim: number;
  vocabSize: number;
  maxSeqLen: number;
  params: number;
  weightBytes: number;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new PlaygroundError(`${file} is not valid JSON (${(e as Error).message}).`);
  }
}

/** Parse and validate a checkpoint's three files; every error is a PlaygroundError naming the file. */
export function parseCheckpoint(files: CheckpointBytes): Checkpoint {
  let config: ModelConfig;
  let tokenizerInfo: TokenizerInfo | null;
  try {
    ({ config, tokenizer: tokenizerInfo } = parseCheckpointConfig(parseJson(files.config, CHECKPOINT_FILES.config), CHECKPOINT_FILES.config));
  } catch (e) {
    if (e instanceof CheckpointError) throw new PlaygroundError(`${e.message}.`);
    throw e;
  }
  let tokenizer: BpeTokenizer;
  const tokDoc = parseJson(files.tokenizer, CHECKPOINT_FILES.tokenizer);
  const kind = (tokDoc as { format?: unknown } | null)?.format;
  if (tokenizerInfo?.kind === 'gpt2') {
    throw new PlaygroundError(`${CHECKPOINT_FILES.config} says the model uses the GPT-2 tokenizer; the playground reads only this project's BPE tokenizers (tokenizer.json with "format": "bitskip-bpe").`);
  }
  try {
    tokenizer = BpeTokenizer.fromJSON(tokDoc, CHECKPOINT_FILES.tokenizer);
  } catch (e) {
    if (e instanceof DataError) throw new PlaygroundError(`${e.message}${kind === undefined ? ' (is this a bitskip-bpe tokenizer file?)' : ''}.`);
    throw e;
  }
  if (tokenizerInfo !== null && tokenizerInfo.hash !== tokenizer.hash) {
    throw new PlaygroundError(
      `${CHECKPOINT_FILES.tokenizer} is not the tokenizer this model was trained with (${CHECKPOINT_FILES.config} names hash ${tokenizerInfo.hash.slice(0, 12)}…, the file has ${tokenizer.hash.slice(0, 12)}…).`,
    );
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new PlaygroundError(`${CHECKPOINT_FILES.tokenizer} has ${tokenizer.vocabSize} tokens, more than the model's vocabulary of ${config.vocabSize}.`);
  }
  let weights: SafetensorsFile;
  try {
    weights = parseSafetensors(files.weights);
  } catch (e) {
    throw new PlaygroundError(`${CHECKPOINT_FILES.weights} is not a readable safetensors file (${(e as Error).message}).`);
  }
  const params = Object.values(weights.tensors).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return {
    config,
    tokenizerInfo,
    tokenizer,
    weights,
    summary: { variant: config.variant, layers: config.numLayers, dim: config.dim, vocabSize: config.vocabSize, maxSeqLen: config.maxSeqLen, params, weightBytes: files.weights.byteLength },
  };
}

/** The model on the current backend (setBackend first), weights checked against the config; in evaluation mode. */
export function buildModel(ckpt: Checkpoint): BitSkipModel {
  const model = new BitSkipModel(ckpt.config, new Rng(0));
  try {
    loadModelTensors(model, ckpt.weights.tensors, CHECKPOINT_FILES.weights);
  } catch (e) {
    model.dispose();
    if (e instanceof CheckpointError) throw new PlaygroundError(`${e.message}.`);
    throw e;
  }
  return model.eval();
}

/**
 * Pack a ternary model's projections (2-bit codes + γ: @bitskip/model's freezeModel, the packed ternary × int8
 * kernels of the cpu and wasm backends); returns a line for the page. A baseline model or a backend without the
 * kernels is a PlaygroundError saying so.
 */
export function packModel(model: BitSkipModel, backendName: string): string {
  if (backendName !== 'cpu' && backendName !== 'wasm') throw new PlaygroundError(`Packed weights run on the cpu and wasm backends only (the packed kernels); ${backendName} runs the fake-quantized model.`);
  try {
    const bytes = freezeModel(model);
    return `packed: projections ${(bytes.projections / 1024).toFixed(0)} KiB (fp32 ${(bytes.projectionsFp32 / 1024).toFixed(0)} KiB)`;
  } catch (e) {
    if (e instanceof PackedModelError) throw new PlaygroundError(`${e.message}.`);
    throw e;
  }
}

/** How to decode. */
export type DecodeMode = { kind: 'exit'; exitLayer: number } | { kind: 'dynamic'; threshold: number } | { kind: 'speculative'; exitLayer: number; draftTokens: number };

export interface GenerateRequest {
  prompt: string;
  maxNewTokens: number;
  mode: DecodeMode;
  /** 0: greedy; else temperature sampling from a seeded Rng. */
  temperature: number;
  topK: number;
  seed: number;
}

export interface GenerateSummary {
  ids: number[];
  exitLayers: number[];
  promptIds: number[];
  stopped: boolean;
  tokensPerSecond: number;
  decodeMs: number;
  prefillMs: number;
  meanExitLayer: number;
  acceptanceRate: number | null;
}

/** The prompt as stories began in training: end-of-text, then the text's tokens. */
export function promptIds(tok: BpeTokenizer, prompt: string): number[] {
  return [tok.eotId, ...tok.encode(prompt)];
}

/** Check a request against the model; a PlaygroundError says which setting is wrong and what is allowed. */
export function checkRequest(model: BitSkipModel, tok: BpeTokenizer, r: GenerateRequest): number[] {
  const L = model.numLayers;
  const ids = promptIds(tok, r.prompt);
  const max = model.config.maxSeqLen;
  if (ids.length > max) throw new PlaygroundError(`The prompt is ${ids.length} tokens long; this model reads at most ${max}.`);
  if (!Number.isInteger(r.maxNewTokens) || r.maxNewTokens < 1) throw new PlaygroundError(`Tokens to generate must be a whole number of at least 1, got ${r.maxNewTokens}.`);
  const m = r.mode;
  if (m.kind !== 'dynamic' && (!Number.isInteger(m.exitLayer) || m.exitLayer < 1 || m.exitLayer > L)) {
    throw new PlaygroundError(`The exit layer must be a whole number from 1 to ${L} (this model's layers), got ${m.exitLayer}.`);
  }
  if (m.kind === 'dynamic' && !(m.threshold >= 0 && m.threshold <= 1)) throw new PlaygroundError(`The confidence threshold must be between 0 and 1, got ${m.threshold}.`);
  if (m.kind === 'speculative' && (!Number.isInteger(m.draftTokens) || m.draftTokens < 1)) throw new PlaygroundError(`Draft tokens must be a whole number of at least 1, got ${m.draftTokens}.`);
  if (!(r.temperature >= 0) || !Number.isFinite(r.temperature)) throw new PlaygroundError(`The temperature must be 0 (greedy) or more, got ${r.temperature}.`);
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new PlaygroundError(`Top-k must be a whole number, 0 for all tokens, got ${r.topK}.`);
  return ids;
}

/**
 * Generate with layerskip's decoders (stop at end-of-text or the model's context), calling onToken(id, exitLayer)
 * for each token as it is final.
 */
export function generate(model: BitSkipModel, tok: BpeTokenizer, r: GenerateRequest, onToken?: (id: number, exitLayer: number) => void): GenerateSummary {
  const prompt = checkRequest(model, tok, r);
  const max = model.config.maxSeqLen;
  const exitLayers: number[] = [];
  const common = {
    maxNewTokens: Math.min(r.maxNewTokens, max - prompt.length + 1),
    stopToken: tok.eotId,
    maxLength: max,
    newCache: () => new KVCache(model.numLayers),
    onToken: (t: number, e: number) => {
      exitLayers.push(e);
      onToken?.(t, e);
    },
  };
  const sampling: Sampling | undefined = r.temperature > 0 ? { rng: new Rng(r.seed), temperature: r.temperature, topK: r.topK } : undefined;
  const m = r.mode;
  let res: DecodeResult;
  let acceptanceRate: number | null = null;
  if (m.kind === 'exit') {
    res = sampling === undefined ? greedyDecode(model, prompt, { ...common, exitLayer: m.exitLayer }) : sampleDecode(model, prompt, { ...common, exitLayer: m.exitLayer, sampling });
  } else if (m.kind === 'dynamic') {
    res = dynamicExitDecode(model, prompt, { ...common, threshold: m.threshold, ...(sampling === undefined ? {} : { sampling }) });
  } else {
    const s = selfSpeculativeDecode(model, prompt, { ...common, exitLayer: m.exitLayer, draftTokens: m.draftTokens, ...(sampling === undefined ? {} : { sampling }) });
    acceptanceRate = s.stats.acceptanceRate;
    res = s;
  }
  const ms = res.timing.decodeMs;
  return {
    ids: res.tokens,
    exitLayers,
    promptIds: prompt,
    stopped: res.stopped,
    tokensPerSecond: ms > 0 ? (res.tokens.length * 1000) / ms : 0,
    decodeMs: ms,
    prefillMs: res.timing.prefillMs,
    meanExitLayer: exitLayers.length === 0 ? Number.NaN : exitLayers.reduce((a, b) => a + b, 0) / exitLayers.length,
    acceptanceRate,
  };
}
