// The decode sweeps' bookkeeping against a fake decoder whose times and counts are set by hand (tokens/s, speed gain,
// acceptance = accepted / drafted, greedyExact), the FLOP ideal against hand-computed values, and the dynamic-exit
// perplexity against a brute-force per-position reference on a hand-made model. (The sweeps on the real model, with
// greedyExact on every variant, are in apps/bench/test/decode-sweeps.test.ts.)
import { describe, expect, it } from 'vitest';
import { tensor } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { dynamicExitPerplexity, dynamicExitSweep, fixedExitSweep, flopIdealGain, speculativeSweep } from '../src/index.js';
import type { ExitEvalModel, SweepDecoder } from '../src/index.js';

const L = 4;
const prompts = [[1, 2], [3], [4, 5, 6]];
const N = 3; // new tokens

/** The "full model's" greedy continuation of a prompt. */
const full = (p: readonly number[]): number[] => Array.from({ length: N }, (_, i) => (p[0]! * 10 + i) % 97);

/**
 * A decoder with set costs: greedy at exit E takes E ms per run (whatever the prompt), the dynamic exit at threshold
 * t exits at layer round(1 + 3t) and takes that many ms, speculative (E, k) takes (E + k) / 10 ms, drafts 2k tokens
 * and accepts min(2k, E) of them; cell (E 3, k 2) returns a wrong token for prompt 1 on its fifth call only (the first timed run).
 */
function fakeDecoder(): SweepDecoder & { calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const count = (key: string): number => {
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    return n;
  };
  return {
    numLayers: L,
    calls,
    greedy(p, E, n) {
      count(`g${E}`);
      return { tokens: (E === L ? full(p) : full(p).map((t) => t + E)).slice(0, Math.max(n, N)), ms: E };
    },
    dynamic(p, t, n) {
      count(`d${t}`);
      const e = Math.round(1 + 3 * t);
      return { tokens: full(p), ms: e, exitLayers: Array.from({ length: n }, () => e) };
    },
    speculative(p, E, k, n) {
      const c = count(`s${E}x${k}`);
      const tokens = full(p).slice(0, n);
      if (E === 3 && k === 2 && c === 5 && p === prompts[1]) tokens[1]! += 1;
      return { tokens, ms: (E + k) / 10, drafted: 2 * k, accepted: Math.min(2 * k, E) };
    },
  };
}

describe('flopIdealGain', () => {
  it('is (L·c_layer + c_head)/(E·c_layer + c_head) − 1, by hand', () => {
    // 24 layers of 100, a head of 60: exit 18 -> 2460 / 1860 − 1 = 0.32258…; exit 6 -> 2460 / 660 − 1.
    expect(flopIdealGain(24, 18, { layer: 100, head: 60 })).toBeCloseTo(2460 / 1860 - 1, 14);
    expect(flopIdealGain(24, 6, { layer: 100, head: 60 })).toBeCloseTo(2460 / 660 - 1, 14);
    expect(flopIdealGain(24, 24, { layer: 100, head: 60 })).toBe(0);
    // Without a head it is the layers-only ideal L/E − 1 (the paper's +33.3% at 18 of 24).
    expect(flopIdealGain(24, 18, { layer: 7, head: 0 })).toBeCloseTo(1 / 3, 14);
    expect(() => flopIdealGain(24, 25, { layer: 1, head: 1 })).toThrow(/exitLayer must be an integer in 1..24/);
    expect(() => flopIdealGain(24, 3, { layer: 0, head: 1 })).toThrow(/layer FLOPs > 0/);
  });
});

describe('fixedExitSweep', () => {
  it('tokens/s, speed gain and fraction of the FLOP ideal from set times; L added; perplexity -> quality loss', () => {
    const d = fakeDecoder();
    const rows = fixedExitSweep(d, { prompts, newTokens: N, exits: [2, 1], flops: { layer: 10, head: 5 }, warmup: 1, reps: 5, perplexities: new Map([[1, 30], [4, 20]]) });
    expect(rows.map((r) => r.exitLayer)).toEqual([1, 2, 4]);
    // A run decodes 3 prompts × 3 tokens in 3·E ms: 3000 / E tokens/s, every rep.
    for (const r of rows) expect(r.tokensPerSecond).toEqual({ n: 5, median: 3000 / r.exitLayer, min: 3000 / r.exitLayer, max: 3000 / r.exitLayer });
    const [e1, e2, e4] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    expect(e1.speedGain).toBeCloseTo(4 / 1 - 1, 12);
    expect(e2.speedGain).toBeCloseTo(4 / 2 - 1, 12);
    expect(e1.flopIdealGain).toBeCloseTo(45 / 15 - 1, 12);
    expect(e2.flopIdealGain).toBeCloseTo(45 / 25 - 1, 12);
    expect(e1.fractionOfIdeal).toBeCloseTo(3 / 2, 12);
    expect(e2.fractionOfIdeal).toBeCloseTo(1 / 0.8, 12);
    expect(e4).toMatchObject({ speedGain: 0, flopIdealGain: 0, fractionOfIdeal: null, perplexity: 20, qualityLoss: 0 });
    expect(e1.qualityLoss).toBeCloseTo(0.5, 12);
    expect(e2).toMatchObject({ perplexity: null, qualityLoss: null });
    // 1 warm-up + 5 timed runs of 3 prompts per exit.
    expect([...d.calls]).toEqual(expect.arrayContaining([['g1', 18], ['g2', 18], ['g4', 18]]));
  });

  it('rejects bad options with the option named', () => {
    const d = fakeDecoder();
    expect(() => fixedExitSweep(d, { prompts, newTokens: N, exits: [5], flops: { layer: 1, head: 1 } })).toThrow(/exit 5 is outside 1..4/);
    expect(() => fixedExitSweep(d, { prompts, newTokens: N, exits: [1], flops: { layer: 1, head: 1 }, reps: 4 })).toThrow(/reps must be an integer >= 5/);
    expect(() => fixedExitSweep(d, { prompts: [], newTokens: N, exits: [1], flops: { layer: 1, head: 1 } })).toThrow(/no prompts/);
    expect(() => fixedExitSweep(d, { prompts, newTokens: 2, exits: [1], flops: { layer: 1, head: 1 } })).toThrow(/generated 3 tokens, expected 2/);
  });
});

describe('dynamicExitSweep', () => {
  it('mean exit layer of the generated tokens and tokens/s per threshold; perplexity where given', () => {
    const rows = dynamicExitSweep(fakeDecoder(), { prompts, newTokens: N, thresholds: [1, 0, 0.5], perplexities: new Map([[0.5, 12]]) });
    expect(rows.map((r) => [r.threshold, r.meanExitLayer, r.tokensPerSecond.median, r.perplexity])).toEqual([
      [0, 1, 3000 / 1, null],
      [0.5, 3, 3000 / 3, 12], // round(2.5) = 3
      [1, 4, 3000 / 4, null],
    ]);
    expect(() => dynamicExitSweep(fakeDecoder(), { prompts, newTokens: N, thresholds: [1.5] })).toThrow(/threshold 1.5 is outside \[0, 1\]/);
  });
});

describe('speculativeSweep', () => {
  it('acceptance = accepted / drafted, speed-up over full greedy timed alongside, greedyExact from every run', () => {
    const d = fakeDecoder();
    const s = speculativeSweep(d, { prompts, newTokens: N, exitLayers: [1, 3], draftTokens: [2, 4], warmup: 1, reps: 5 });
    expect(s.fullGreedy.tokensPerSecond.median).toBe(3000 / 4); // greedy at L = 4: 4 ms a prompt
    expect(s.cells.map((c) => [c.exitLayer, c.k])).toEqual([[1, 2], [1, 4], [3, 2], [3, 4]]);
    for (const c of s.cells) {
      // drafted 2k, accepted min(2k, E) every call.
      expect(c.acceptanceRate).toBeCloseTo(Math.min(2 * c.k, c.exitLayer) / (2 * c.k), 14);
      const tps = 9000 / (3 * (c.exitLayer + c.k) / 10); // 9 tokens in 3 · (E + k) / 10 ms
      expect(c.tokensPerSecond.median).toBeCloseTo(tps, 6);
      expect(c.speedup).toBeCloseTo(tps / (3000 / 4), 10);
      // The wrong token in (3, 2)'s first timed run clears its greedyExact; the others stay exact.
      expect(c.greedyExact).toBe(!(c.exitLayer === 3 && c.k === 2));
    }
    // Calls: the reference once per prompt, then (1 + 5) runs of every cell over 3 prompts.
    expect(d.calls.get('g4')).toBe(3 + 18);
    expect(d.calls.get('s1x2')).toBe(18);
  });

  it('counts from decoders that accept a varying number: the ratio of the sums, not the mean of ratios', () => {
    let call = 0;
    const d: SweepDecoder = {
      numLayers: 2,
      greedy: (p) => ({ tokens: full(p), ms: 1 }),
      dynamic: () => {
        throw new Error('unused');
      },
      // drafted 4 then 1, 4, 1, …; accepted 1 then 1, …: Σaccepted / Σdrafted, not mean(accepted / drafted).
      speculative: (p) => ({ tokens: full(p), ms: 1, ...(call++ % 2 === 0 ? { drafted: 4, accepted: 1 } : { drafted: 1, accepted: 1 }) }),
    };
    const s = speculativeSweep(d, { prompts: [[1], [2]], newTokens: N, exitLayers: [1], draftTokens: [3], warmup: 0, reps: 5 });
    expect(s.cells[0]!.acceptanceRate).toBeCloseTo(10 / 25, 14);
    expect(s.cells[0]!.greedyExact).toBe(true);
  });
});

describe('dynamicExitPerplexity', () => {
  // A hand-made 3-layer model on vocab 2: the hidden state after e layers at position t is [a, 0] with a = h[e][t],
  // normalize is the identity and the head the identity, so the exit's logits are [a, 0].
  const h: Record<number, number[]> = { 1: [0.1, 3, -2, 0.5], 2: [1, -0.2, 2.5, 4], 3: [-1, 1, 0, 2] };
  const model: ExitEvalModel = {
    numLayers: 3,
    forward(ids: Tensor, o: { collect: readonly number[] }) {
      const T = ids.shape[1]!;
      const at = (e: number): Tensor => tensor(Array.from({ length: T }, (_, t) => [h[e]![t]!, 0]).flat(), [1, T, 2]);
      return { hidden: at(3), exits: new Map(o.collect.map((e) => [e, at(e)])) };
    },
    normalize: (x) => x,
    headWeight: tensor([1, 0, 0, 1], [2, 2]),
  };
  const tokens = [0, 1, 0, 0, 1];
  const p0 = (a: number): number => 1 / (1 + Math.exp(-a)); // softmax([a, 0])[0]

  it('exits each position at the first exit whose max probability reaches the threshold; scores the target there', () => {
    for (const th of [0, 0.7, 0.9, 0.99, 1]) {
      const [s] = dynamicExitPerplexity(model, tokens, { thresholds: [th], seqLen: 4, keepExitLayers: true });
      // Brute force: per position, every exit's distribution, the first confident one.
      let nats = 0;
      const exits: number[] = [];
      for (let t = 0; t < 4; t++) {
        let e = 1;
        while (e < 3 && Math.max(p0(h[e]![t]!), 1 - p0(h[e]![t]!)) < th) e++;
        const p = p0(h[e]![t]!);
        nats -= Math.log(tokens[t + 1] === 0 ? p : 1 - p);
        exits.push(e);
      }
      expect([...s!.exitLayers!]).toEqual(exits);
      expect(s!.loss).toBeCloseTo(nats / 4, 6);
      expect(s!.perplexity).toBeCloseTo(Math.exp(nats / 4), 5);
      expect(s!.meanExitLayer).toBeCloseTo(exits.reduce((a, b) => a + b, 0) / 4, 12);
    }
  });

  it('checks only the exits given (L always), and validates its options', () => {
    const [s] = dynamicExitPerplexity(model, tokens, { thresholds: [0], exits: [2], seqLen: 4, keepExitLayers: true });
    expect([...s!.exitLayers!]).toEqual([2, 2, 2, 2]);
    expect(() => dynamicExitPerplexity(model, tokens, { thresholds: [0], seqLen: 5 })).toThrow(/too few for one window of 6/);
    expect(() => dynamicExitPerplexity(model, tokens, { thresholds: [2], seqLen: 4 })).toThrow(/threshold 2 is outside/);
    expect(() => dynamicExitPerplexity(model, tokens, { thresholds: [0], exits: [4], seqLen: 4 })).toThrow(/exit 4 is outside 1..3/);
  });
});
