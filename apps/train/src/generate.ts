// Text from a trained model through @bitskip/layerskip's decoders (one decoding loop in the project): the prompt
// after an end-of-text token (stories start there in training), then a fixed exit (greedy at temperature 0, else
// temperature + top-k sampling from a seeded Rng), a confidence-threshold dynamic exit, or self-speculative decoding
// (draft with E layers, verify k tokens with the rest); stops at end-of-text or the model's maxSeqLen.
import { Rng } from '@bitskip/tensor-core';
import { dynamicExitDecode, greedyDecode, sampleDecode, selfSpeculativeDecode } from '@bitskip/layerskip';
import type { DecodeResult, Sampling } from '@bitskip/layerskip';
import type { BitSkipModel } from '@bitskip/model';
import type { Tokenizer } from '@bitskip/data-tinystories';

/** How to decode: a fixed exit (default the full model), a dynamic exit, or self-speculative decoding. */
export type DecodeMode = { kind: 'exit'; exitLayer: number } | { kind: 'dynamic'; threshold: number } | { kind: 'speculative'; exitLayer: number; draftTokens: number };

export interface SampleOptions {
  prompt: string;
  /** Tokens to generate at most. */
  tokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = all tokens. */
  topK: number;
  seed: number;
  /** A fixed early exit (1..L); default L. Ignored when `mode` is given. */
  exitLayer?: number;
  mode?: DecodeMode;
}

export interface GenerateOutput {
  /** The prompt and the generated text. */
  text: string;
  /** The generated ids (the prompt and the end-of-text excluded). */
  ids: number[];
  /** Generated tokens per second of decoding (the prompt's prefill excluded; layerskip's timing). */
  tokensPerSecond: number;
  decodeMs: number;
  /** Dynamic exit: the mean exit layer. */
  meanExitLayer?: number;
  /** Self-speculative: accepted / drafted. */
  acceptanceRate?: number;
}

/** A prompt the model cannot take (too long for its context). */
export class PromptError extends Error {
  override name = 'PromptError';
}

/** The prompt as the model saw stories in training: end-of-text, then the text's tokens. */
export function promptIds(tok: Tokenizer, prompt: string): number[] {
  return [tok.eotId, ...tok.encode(prompt)];
}

export function generate(model: BitSkipModel, tok: Tokenizer, o: SampleOptions): GenerateOutput {
  const wasTraining = model.training;
  model.eval();
  const prompt = promptIds(tok, o.prompt);
  const max = model.config.maxSeqLen;
  if (prompt.length > max) throw new PromptError(`the prompt is ${prompt.length} tokens (end-of-text included), more than the model's maxSeqLen ${max}`);
  const common = { maxNewTokens: Math.max(0, Math.min(o.tokens, max - prompt.length + 1)), stopToken: tok.eotId, maxLength: max };
  const sampling: Sampling | undefined = o.temperature > 0 ? { rng: new Rng(o.seed), temperature: o.temperature, topK: o.topK } : undefined;
  const mode: DecodeMode = o.mode ?? { kind: 'exit', exitLayer: o.exitLayer ?? model.numLayers };
  let r: DecodeResult;
  const extra: Partial<GenerateOutput> = {};
  try {
    if (mode.kind === 'exit') {
      r = sampling === undefined ? greedyDecode(model, prompt, { ...common, exitLayer: mode.exitLayer }) : sampleDecode(model, prompt, { ...common, exitLayer: mode.exitLayer, sampling });
    } else if (mode.kind === 'dynamic') {
      const d = dynamicExitDecode(model, prompt, { ...common, threshold: mode.threshold, ...(sampling === undefined ? {} : { sampling }) });
      extra.meanExitLayer = d.meanExitLayer;
      r = d;
    } else {
      const s = selfSpeculativeDecode(model, prompt, { ...common, exitLayer: mode.exitLayer, draftTokens: mode.draftTokens, ...(sampling === undefined ? {} : { sampling }) });
      extra.acceptanceRate = s.stats.acceptanceRate;
      r = s;
    }
  } finally {
    model.train(wasTraining);
  }
  const ms = r.timing.decodeMs;
  return { text: o.prompt + tok.decode(r.tokens), ids: r.tokens, tokensPerSecond: ms > 0 ? (r.tokens.length * 1000) / ms : 0, decodeMs: ms, ...extra };
}
