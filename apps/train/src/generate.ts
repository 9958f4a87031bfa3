// Sampling a story from a trained model: the prompt after an end-of-text token (stories start there in training),
// then one token at a time through the KV cache, temperature and top-k, drawn from a seeded Rng; stops at
// end-of-text. Optionally with an early exit (exitLayer).
import { Rng, noGrad, tensor, tidy } from '@bitskip/tensor-core';
import { KVCache } from '@bitskip/model';
import type { BitSkipModel } from '@bitskip/model';
import type { Tokenizer } from '@bitskip/data-tinystories';

export interface SampleOptions {
  prompt: string;
  tokens: number;
  temperature: number;
  topK: number;
  seed: number;
  exitLayer?: number;
}

/** Draw from logits with temperature (0 = greedy) and top-k (0 = all). */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) idx = idx.sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, topK);
  const mx = Math.max(...idx.map((i) => logits[i]!));
  const w = idx.map((i) => Math.exp((logits[i]! - mx) / temperature));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < idx.length; j++) {
    u -= w[j]!;
    if (u <= 0) return idx[j]!;
  }
  return idx[idx.length - 1]!;
}

export function generate(model: BitSkipModel, tok: Tokenizer, o: SampleOptions): { text: string; ids: number[] } {
  const rng = new Rng(o.seed);
  const wasTraining = model.training;
  model.eval();
  const cache = new KVCache(model.numLayers);
  const prompt = [tok.eotId, ...tok.encode(o.prompt)];
  const out: number[] = [];
  try {
    noGrad(() => {
      let input = prompt;
      const max = model.config.maxSeqLen;
      for (let i = 0; i < o.tokens && prompt.length + out.length < max; i++) {
        const next = tidy(() => {
          const r = model.forward(tensor(input, [1, input.length], 'int32'), { cache, ...(o.exitLayer === undefined ? {} : { exitLayer: o.exitLayer }) });
          const logits = r.logits!.dataSync();
          const V = model.config.vocabSize;
          return sampleToken(logits.subarray(logits.length - V), o.temperature, o.topK, rng);
        });
        if (next === tok.eotId) break;
        out.push(next);
        input = [next];
      }
    });
  } finally {
    cache.dispose();
    model.train(wasTraining);
  }
  return { text: o.prompt + tok.decode(out), ids: out };
}
