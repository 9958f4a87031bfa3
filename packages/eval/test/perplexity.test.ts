// evaluateExits against a brute-force per-position reference on a hand-made model: which windows are scored (the
// first ones, or spread evenly over the stream), the nats per exit, and bits per byte over the scored targets' bytes.
import { describe, expect, it } from 'vitest';
import { tensor } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { evaluateExits } from '../src/index.js';
import type { ExitEvalModel } from '../src/index.js';

// Vocabulary {0, 1}; at exit e the hidden state of an input token x is [a, 0] with a = (x + 1) · e / 4 − 0.3, the head
// the identity, so the logits are [a, 0] and p(target 0) = σ(a): a position's loss depends on its input token and the exit.
const L = 3;
const act = (x: number, e: number): number => ((x + 1) * e) / 4 - 0.3;
const model: ExitEvalModel = {
  numLayers: L,
  forward(ids: Tensor, o: { collect: readonly number[] }) {
    const [rows, T] = ids.shape as [number, number];
    const x = ids.dataSync();
    const at = (e: number): Tensor => tensor(Array.from(x, (v) => [act(v, e), 0]).flat(), [rows, T, 2]);
    return { hidden: at(L), exits: new Map(o.collect.map((e) => [e, at(e)])) };
  },
  normalize: (h) => h,
  headWeight: tensor([1, 0, 0, 1], [2, 2]),
};

/** Σ −log p(target) at exit e over the windows starting at `starts` (T inputs each, targets the next tokens). */
function referenceNats(tokens: number[], starts: number[], T: number, e: number): number {
  let nats = 0;
  for (const s of starts) {
    for (let t = 0; t < T; t++) {
      const p0 = 1 / (1 + Math.exp(-act(tokens[s + t]!, e)));
      nats -= Math.log(tokens[s + t + 1] === 0 ? p0 : 1 - p0);
    }
  }
  return nats;
}

// 53 tokens: 13 windows of 4 (the last token only a target); a fixed pattern, not periodic in 4.
const tokens: number[] = Array.from({ length: 53 }, (_, i) => ((i * 7 + (i >> 2)) % 5 < 2 ? 1 : 0));
const T = 4;
const bytesOf = (ids: Int32Array): number => ids.reduce((n, id) => n + 1 + id, 0); // token 0: 1 byte, 1: 2 bytes

function check(maxWindows: number | undefined, spread: boolean, starts: number[]): void {
  const scores = evaluateExits(model, tokens, { exits: [1, 2, 3], seqLen: T, batchSize: 2, bytesOf, spread, ...(maxWindows === undefined ? {} : { maxWindows }) });
  const count = starts.length * T;
  const bytes = starts.reduce((n, s) => n + tokens.slice(s + 1, s + T + 1).reduce((m, id) => m + 1 + id, 0), 0);
  scores.forEach((sc, i) => {
    const nats = referenceNats(tokens, starts, T, i + 1);
    expect(sc.layer).toBe(i + 1);
    expect(sc.tokens).toBe(count);
    expect(sc.bytes).toBe(bytes);
    expect(sc.loss).toBeCloseTo(nats / count, 5);
    expect(sc.bitsPerByte).toBeCloseTo(nats / (Math.LN2 * bytes), 5);
  });
}

describe('evaluateExits', () => {
  it('scores every window of the stream by default (spread or not)', () => {
    const all = Array.from({ length: 13 }, (_, w) => w * T);
    check(undefined, false, all);
    check(undefined, true, all);
    check(13, true, all); // as many windows as there are: the same
  });
  it('maxWindows takes the first windows', () => {
    check(5, false, [0, 4, 8, 12, 16]);
  });
  it('maxWindows with spread takes windows ⌊i · 13 / n⌋ of the 13', () => {
    check(5, true, [0, 2, 5, 7, 10].map((w) => w * T)); // ⌊0⌋, ⌊2.6⌋, ⌊5.2⌋, ⌊7.8⌋, ⌊10.4⌋
    check(1, true, [0]);
    check(12, true, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((w) => Math.floor((w * 13) / 12) * T));
  });
  it('the first windows and the spread ones score differently here (the choice is visible)', () => {
    const first = evaluateExits(model, tokens, { exits: [3], seqLen: T, batchSize: 2, bytesOf, maxWindows: 5 });
    const spread = evaluateExits(model, tokens, { exits: [3], seqLen: T, batchSize: 2, bytesOf, maxWindows: 5, spread: true });
    expect(first[0]!.loss).not.toBeCloseTo(spread[0]!.loss, 5);
  });
});
