// Perplexity and bits per byte per exit layer over a token stream (SPEC §8), streamed in batches of
// non-overlapping windows so memory stays bounded whatever the split's size; deterministic (windows in order).
// Bits per byte = total nats / (ln 2 · bytes), bytes counted on the scored targets' text (the tokenizer's decoding of
// each window's targets, the end-of-text separator counted as one byte), so it does not depend on the tokenizer.
import { noGrad, reshape, tensor, tidy, linearCrossEntropy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { bitsPerByte, perplexity } from './metrics.js';

/** What evaluation needs of a model: hidden states at chosen layers, the shared final norm and head weight. */
export interface ExitEvalModel {
  readonly numLayers: number;
  forward(ids: Tensor, opts: { collect: readonly number[]; logits: false; exitLayer?: number }): { hidden: Tensor; exits: Map<number, Tensor> };
  normalize(h: Tensor): Tensor;
  readonly headWeight: Tensor;
}

export interface ExitScore {
  /** Layers run (1..L). */
  layer: number;
  /** Mean cross-entropy in nats per token. */
  loss: number;
  perplexity: number;
  bitsPerByte: number;
  tokens: number;
  bytes: number;
}

export interface EvaluateExitsOptions {
  /** Exits to score (layer counts 1..L); the last one is the deepest run. */
  exits: readonly number[];
  seqLen: number;
  batchSize: number;
  /** Score at most this many windows (default: the whole stream). */
  maxWindows?: number;
  /**
   * With maxWindows below the windows the stream holds: take them spread evenly over the stream (window i of n
   * starts at window ⌊i · available / n⌋) instead of the first n. A split's first windows are one stretch of text,
   * which need not be typical of the whole (on the TinyStories sample the first 32 windows score ~0.1 bits per byte
   * below the whole validation split).
   */
  spread?: boolean;
  /** UTF-8 bytes of the text of a run of target tokens (the tokenizer's decoding). */
  bytesOf: (ids: Int32Array) => number;
  /** Called after each batch with windows done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Score every exit on consecutive windows of `tokens` (targets = next token), or on windows spread over them. */
export function evaluateExits(model: ExitEvalModel, tokens: ArrayLike<number>, opts: EvaluateExitsOptions): ExitScore[] {
  const exits = [...new Set(opts.exits)].sort((a, b) => a - b);
  if (exits.length === 0) throw new Error('evaluateExits: no exits given');
  for (const e of exits) if (!Number.isInteger(e) || e < 1 || e > model.numLayers) throw new Error(`evaluateExits: exit ${e} is outside 1..${model.numLayers}`);
  const T = opts.seqLen;
  const B = opts.batchSize;
  const available = Math.floor((tokens.length - 1) / T);
  const windows = Math.min(available, opts.maxWindows ?? Infinity);
  if (windows < 1) throw new Error(`evaluateExits: ${tokens.length} tokens are too few for one window of ${T + 1}`);
  const spread = opts.spread === true && windows < available;
  const windowStart = (w: number): number => (spread ? Math.floor((w * available) / windows) : w) * T;
  const deepest = exits[exits.length - 1]!;
  const nats = new Float64Array(exits.length);
  let count = 0;
  let bytes = 0;
  for (let w0 = 0; w0 < windows; w0 += B) {
    const rows = Math.min(B, windows - w0);
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    for (let r = 0; r < rows; r++) {
      const s = windowStart(w0 + r);
      for (let t = 0; t < T; t++) {
        inputs[r * T + t] = tokens[s + t]!;
        targets[r * T + t] = tokens[s + t + 1]!;
      }
      bytes += opts.bytesOf(targets.subarray(r * T, (r + 1) * T));
    }
    count += rows * T;
    noGrad(() =>
      tidy(() => {
        const ids = tensor(inputs, [rows, T], 'int32');
        const tg = tensor(targets, [rows * T], 'int32');
        const out = model.forward(ids, { collect: exits.filter((e) => e < deepest), logits: false, exitLayer: deepest });
        exits.forEach((e, i) => {
          const h = e === deepest ? out.hidden : out.exits.get(e)!;
          const D = h.shape[h.rank - 1]!;
          const ce = linearCrossEntropy(reshape(model.normalize(h), [-1, D]), model.headWeight, tg);
          nats[i]! += ce.itemSync() * rows * T;
        });
      }),
    );
    opts.onProgress?.(Math.min(windows, w0 + rows), windows);
  }
  return exits.map((layer, i) => {
    const loss = nats[i]! / count;
    return { layer, loss, perplexity: perplexity(loss), bitsPerByte: bitsPerByte(nats[i]!, bytes), tokens: count, bytes };
  });
}
