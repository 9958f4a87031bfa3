// The playground engine in Node: a checkpoint's three files are validated and each mistake is one sentence naming the
// file (invalid JSON, not a BitSkip config, a tokenizer that is not the model's, a damaged or mismatched weights file,
// an out-of-range setting); a valid one generates what layerskip's decoders give on the model built the same way,
// and its streamed tokens equal the returned ones.
import { describe, expect, it } from 'vitest';
import { Rng, serializeSafetensors } from '@bitskip/tensor-core';
import { BitSkipModel, KVCache, checkpointConfigJson, modelTensors, resolveModelConfig } from '@bitskip/model';
import { greedyDecode } from '@bitskip/layerskip';
import { trainBpe } from '@bitskip/data-tinystories';
import { PlaygroundError, buildModel, checkRequest, generate, parseCheckpoint } from '../src/engine.js';
import type { CheckpointBytes, GenerateRequest } from '../src/engine.js';

const STORIES = ['Once upon a time there was a little dog named Max.', 'Max liked to run in the park with his friend Lily.', 'One day the sun was warm and the birds sang.'];

function files(seed = 1, layers?: number): CheckpointBytes {
  const tok = trainBpe(STORIES, { vocabSize: 300 });
  const config = resolveModelConfig({ vocabSize: tok.vocabSize, initStd: 0.1, ...(layers === undefined ? {} : { numLayers: layers }) }, 'tiny');
  const model = new BitSkipModel(config, new Rng(seed));
  const out = {
    config: JSON.stringify(checkpointConfigJson(config, { kind: 'bpe', hash: tok.hash, vocabSize: tok.vocabSize })),
    weights: serializeSafetensors(modelTensors(model)),
    tokenizer: JSON.stringify(tok.toJSON()),
  };
  model.dispose();
  return out;
}

function problem(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PlaygroundError);
    return (e as Error).message;
  }
  throw new Error('expected a PlaygroundError');
}

describe('checkpoint validation', () => {
  const good = files();

  it('says what is wrong with each file, naming it', () => {
    expect(problem(() => parseCheckpoint({ ...good, config: '{"a":' }))).toMatch(/^config\.json is not valid JSON/);
    expect(problem(() => parseCheckpoint({ ...good, config: '{"model_type":"llama"}' }))).toBe('config.json: no "bitskip" section; not a BitSkip checkpoint.');
    const otherTok = trainBpe(['Completely different text, with other words entirely.'], { vocabSize: 300 });
    expect(problem(() => parseCheckpoint({ ...good, tokenizer: JSON.stringify(otherTok.toJSON()) }))).toMatch(/^tokenizer\.json is not the tokenizer this model was trained with/);
    expect(problem(() => parseCheckpoint({ ...good, tokenizer: '{"format":"something"}' }))).toMatch(/^tokenizer\.json: format is "something", expected "bitskip-bpe"/);
    expect(problem(() => parseCheckpoint({ ...good, weights: good.weights.subarray(0, 100) }))).toMatch(/^model\.safetensors is not a readable safetensors file/);
    // Weights of a 2-layer model under a 4-layer config: the config parses, the model build names the tensor.
    const other = files(1, 2);
    const ck = parseCheckpoint({ ...good, weights: other.weights });
    expect(problem(() => buildModel(ck))).toMatch(/^model\.safetensors: missing tensor "model\.layers\.2\./);
  });

  it('refuses settings outside the model, naming the allowed range', () => {
    const ck = parseCheckpoint(good);
    const model = buildModel(ck);
    const r: GenerateRequest = { prompt: 'Once', maxNewTokens: 5, mode: { kind: 'exit', exitLayer: 4 }, temperature: 0, topK: 0, seed: 1 };
    expect(() => checkRequest(model, ck.tokenizer, r)).not.toThrow();
    expect(problem(() => checkRequest(model, ck.tokenizer, { ...r, mode: { kind: 'exit', exitLayer: 5 } }))).toBe("The exit layer must be a whole number from 1 to 4 (this model's layers), got 5.");
    expect(problem(() => checkRequest(model, ck.tokenizer, { ...r, mode: { kind: 'dynamic', threshold: 1.5 } }))).toBe('The confidence threshold must be between 0 and 1, got 1.5.');
    expect(problem(() => checkRequest(model, ck.tokenizer, { ...r, prompt: 'Max '.repeat(80) }))).toMatch(/^The prompt is \d+ tokens long; this model reads at most 64\.$/);
    model.dispose();
  });
});

describe('generation', () => {
  it('a fixed exit equals layerskip greedyDecode on the same model; streamed tokens equal the returned ones', () => {
    const ck = parseCheckpoint(files(3));
    const model = buildModel(ck);
    for (const E of [1, 2, 4]) {
      const streamed: [number, number][] = [];
      const out = generate(model, ck.tokenizer, { prompt: 'Once upon a time', maxNewTokens: 12, mode: { kind: 'exit', exitLayer: E }, temperature: 0, topK: 0, seed: 1 }, (t, e) => streamed.push([t, e]));
      const prompt = [ck.tokenizer.eotId, ...ck.tokenizer.encode('Once upon a time')];
      expect(out.promptIds).toEqual(prompt);
      const ref = greedyDecode(model, prompt, { maxNewTokens: 12, exitLayer: E, stopToken: ck.tokenizer.eotId, newCache: () => new KVCache(4) });
      expect(out.ids).toEqual(ref.tokens);
      expect(streamed).toEqual(out.ids.map((t) => [t, E]));
      expect(out.exitLayers).toEqual(out.ids.map(() => E));
    }
    model.dispose();
  });
});
