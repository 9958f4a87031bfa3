// Early-exit decoding (@bitskip/layerskip decode.ts; LayerSkip, CALM, speculative sampling) on the real BitSkip model,
// against references written here without a KV cache: a fixed exit equals step-by-step argmax (or draws) of the
// no-cache forward (E = L: full greedy decoding); the cached dynamic exit equals a no-cache confidence-exit decoder;
// greedy self-speculative decoding equals full greedy decoding token for token (every variant, cpu exactly, wasm);
// speculative sampling keeps the full model's distribution (chi-square); eval's exit speed on the tiny model.
// The models have seeded random weights (tiny preset, initStd 0.1): their early exits agree with the last one often
// enough that drafts are partly accepted (greedy acceptance 0.07–0.6 over the variants, E and k; printed by the
// tests), so no training is needed.
import { describe, expect, it } from 'vitest';
import { Rng, getBackend, noGrad, tensor, tidy } from '@bitskip/tensor-core';
import { dynamicExitDecode, greedyDecode, sampleDecode, selfSpeculativeDecode } from '@bitskip/layerskip';
import type { Sampling } from '@bitskip/layerskip';
import { exitDecodingSpeed } from '@bitskip/eval';
import { BitSkipModel, KVCache, VARIANTS } from '../src/index.js';
import type { Variant } from '../src/index.js';
import { useWasmBackend, on, tinyConfig } from './helpers.js';

useWasmBackend();

function model(variant: Variant, extra: Record<string, unknown> = {}, seed = 1): { m: BitSkipModel; newCache: () => KVCache } {
  const m = new BitSkipModel(tinyConfig(variant, extra), new Rng(seed)).eval();
  return { m, newCache: () => new KVCache(m.numLayers) };
}

/** `count` prompts of 1..6 random tokens. */
function prompts(seed: number, count: number, vocab: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Array.from({ length: 1 + rng.int(6) }, () => rng.int(vocab)));
}

// ---------------------------------------------------------------- references without a cache

/** Logits after the first E layers at the last position of seq: model.forward on the whole sequence, no cache. */
function lastLogits(m: BitSkipModel, seq: readonly number[], E: number): number[] {
  return noGrad(() => tidy(() => Array.from(m.forward(tensor(seq, [1, seq.length], 'int32'), { exitLayer: E }).logits!.dataSync()).slice(-m.config.vocabSize)));
}

function argmaxRef(x: readonly number[]): number {
  return x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);
}

/** softmax(x / temperature) in float64 over the top k (0 = all; ties: lower id first), unnormalised weights. */
function weights(x: readonly number[], temperature: number, topK = 0): number[] {
  const order = x.map((_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b);
  const kept = new Set(topK > 0 ? order.slice(0, topK) : order);
  const mx = x[order[0]!]!;
  return x.map((v, i) => (kept.has(i) ? Math.exp((v - mx) / temperature) : 0));
}

function softmax(x: readonly number[]): number[] {
  const w = weights(x, 1);
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / s);
}

/** Inverse-CDF draw with one rng.next(), as a sampler would. */
function draw(w: readonly number[], rng: Rng): number {
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  let last = 0;
  for (let i = 0; i < w.length; i++) {
    if (w[i]! <= 0) continue;
    last = i;
    u -= w[i]!;
    if (u < 0) return i;
  }
  return last;
}

/** Step-by-step argmax (or draw) of the no-cache forward at exit E; stops before `stop`. */
function refDecode(m: BitSkipModel, prompt: readonly number[], n: number, E: number, sampling?: { rng: Rng; temperature: number; topK: number }, stop?: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  while (out.length < n) {
    const l = lastLogits(m, seq, E);
    const t = sampling === undefined ? argmaxRef(l) : draw(weights(l, sampling.temperature, sampling.topK), sampling.rng);
    if (t === stop) break;
    out.push(t);
    seq.push(t);
  }
  return out;
}

const PROMPTS = prompts(10, 20, 96); // 20 prompts for the tiny preset's vocabulary
const fullRefs = new Map<string, number[][]>();

/** Full greedy decoding (no cache) of PROMPTS, once per backend and variant (the models are seeded: same weights). */
function fullGreedyRefs(backend: string, variant: Variant, m: BitSkipModel, n: number): number[][] {
  const key = `${backend} ${variant} ${n}`;
  if (!fullRefs.has(key)) fullRefs.set(key, PROMPTS.map((p) => refDecode(m, p, n, m.numLayers)));
  return fullRefs.get(key)!;
}

/** The confidence exit without a cache: for each token, the first checked exit whose max softmax probability >= threshold. */
function refDynamic(m: BitSkipModel, prompt: readonly number[], n: number, threshold: number, checks: readonly number[], rng?: Rng): { tokens: number[]; exits: number[] } {
  const L = m.numLayers;
  const seq = [...prompt];
  const tokens: number[] = [];
  const exits: number[] = [];
  const order = [...new Set([...checks, L])].sort((a, b) => a - b);
  while (tokens.length < n) {
    for (const e of order) {
      const l = lastLogits(m, seq, e);
      if (e === L || Math.max(...softmax(l)) >= threshold) {
        const t = rng === undefined ? argmaxRef(l) : draw(weights(l, 1), rng);
        tokens.push(t);
        exits.push(e);
        seq.push(t);
        break;
      }
    }
  }
  return { tokens, exits };
}

// ---------------------------------------------------------------- fixed exit

const N = 10; // new tokens per prompt

describe('fixed exit', () => {
  it('every variant (cpu): E = L equals full greedy decoding (argmax of the no-cache forward) on 20 prompts; every E < L on 3', () => {
    for (const variant of VARIANTS) {
      const { m, newCache } = model(variant);
      const live = getBackend().numLiveBuffers();
      const refs = fullGreedyRefs('cpu', variant, m, N);
      for (const [i, prompt] of PROMPTS.entries()) {
        for (let E = 1; E <= m.numLayers; E++) {
          if (E < m.numLayers && i >= 3) continue;
          const got = greedyDecode(m, prompt, { maxNewTokens: N, newCache, ...(E === m.numLayers ? {} : { exitLayer: E }) });
          expect(got.tokens, `${variant} exit ${E} prompt ${JSON.stringify(prompt)}`).toEqual(E === m.numLayers ? refs[i] : refDecode(m, prompt, N, E));
          expect(got.stopped).toBe(false);
        }
      }
      expect(getBackend().numLiveBuffers()).toBe(live); // the cache and every step's tensors are freed
      m.dispose();
    }
  });

  it('sampleDecode draws what a no-cache sampler draws with the same seed (temperature, top-k)', () => {
    const { m, newCache } = model('v1');
    for (const [i, prompt] of prompts(11, 6, m.config.vocabSize).entries()) {
      const E = 1 + (i % m.numLayers);
      const temperature = [0.7, 1, 1.5][i % 3]!;
      const topK = [0, 5][i % 2]!;
      const sampling: Sampling = { rng: new Rng(100 + i), temperature, topK };
      const got = sampleDecode(m, prompt, { maxNewTokens: N, exitLayer: E, newCache, sampling });
      expect(got.tokens, `exit ${E} T ${temperature} top-k ${topK}`).toEqual(refDecode(m, prompt, N, E, { rng: new Rng(100 + i), temperature, topK }));
    }
    m.dispose();
  });

  it('wasm, every variant: E = L equals the no-cache greedy decoding on 20 prompts', () => {
    on('wasm', () => {
      for (const variant of VARIANTS) {
        const { m, newCache } = model(variant);
        const refs = fullGreedyRefs('wasm', variant, m, N);
        PROMPTS.forEach((prompt, i) => {
          expect(greedyDecode(m, prompt, { maxNewTokens: N, newCache }).tokens, `wasm ${variant} ${JSON.stringify(prompt)}`).toEqual(refs[i]);
        });
        m.dispose();
      }
    });
  });

  it('a stop token ends decoding (not returned); maxNewTokens 0; errors name the problem', () => {
    const { m, newCache } = model('baseline');
    const prompt = [5, 6, 7];
    const ref = refDecode(m, prompt, 12, m.numLayers);
    const stop = ref[6]!;
    const cut = ref.indexOf(stop);
    const got = greedyDecode(m, prompt, { maxNewTokens: 12, stopToken: stop, newCache });
    expect(got).toMatchObject({ tokens: ref.slice(0, cut), stopped: true });
    expect(greedyDecode(m, prompt, { maxNewTokens: 0, newCache }).tokens).toEqual([]);
    // BitSkipModel has newCache(): options.newCache is optional; a model without one must be given it.
    expect(greedyDecode(m, prompt, { maxNewTokens: 4 }).tokens).toEqual(ref.slice(0, 4));
    const bare = { numLayers: m.numLayers, embedTokens: m.embedTokens.bind(m), runLayers: m.runLayers.bind(m), exitLogits: m.exitLogits.bind(m) };
    expect(() => greedyDecode(bare, prompt, { maxNewTokens: 2 })).toThrow(/no newCache\(\); pass options.newCache/);
    expect(() => greedyDecode(m, [], { maxNewTokens: 2, newCache })).toThrow(/at least one token/);
    expect(() => greedyDecode(m, prompt, { maxNewTokens: 2, exitLayer: 5, newCache })).toThrow(/exitLayer must be an integer in 1..4, got 5/);
    expect(() => greedyDecode(m, prompt, { maxNewTokens: 63, maxLength: 64, newCache })).toThrow(/need 65 positions, more than maxLength 64/);
    expect(() => sampleDecode(m, prompt, { maxNewTokens: 2, newCache, sampling: { rng: new Rng(1), temperature: 0 } })).toThrow(/temperature must be a finite number > 0/);
    m.dispose();
  });
});

// ---------------------------------------------------------------- dynamic exit

describe('dynamic (confidence) exit', () => {

  it('every variant (cpu): the cached decoder equals the no-cache reference token for token and exit for exit; the catch-up runs exactly the layers later tokens need', () => {
    const seen = new Map<number, number>(); // exit layer -> tokens
    for (const variant of VARIANTS) {
      const { m, newCache } = model(variant);
      const L = m.numLayers;
      const live = getBackend().numLiveBuffers();
      for (const [i, prompt] of prompts(20, 10, m.config.vocabSize).entries()) {
        // Thresholds near the tiny models' max probabilities (0.03–0.07 over 96 tokens), so exits vary.
        const threshold = [0.035, 0.04, 0.045][i % 3]!;
        const checks = i % 4 === 3 ? [2] : [1, 2, 3];
        const got = dynamicExitDecode(m, prompt, { maxNewTokens: N, threshold, newCache, ...(i % 4 === 3 ? { exits: checks } : {}) });
        const ref = refDynamic(m, prompt, N, threshold, checks);
        expect(got.tokens, `${variant} prompt ${i}`).toEqual(ref.tokens);
        expect(got.exitLayers, `${variant} prompt ${i}`).toEqual(ref.exits);
        for (const e of got.exitLayers) seen.set(e, (seen.get(e) ?? 0) + 1);
        // Lazy catch-up: position j is run through max(e_j, e_{j+1}, …) layers, never more.
        const needed = got.exitLayers.reduce((s, _, j) => s + Math.max(...got.exitLayers.slice(j)), 0);
        expect(got.layerRuns, `${variant} prompt ${i} exits ${got.exitLayers.join(',')}`).toBe(needed);
        expect(got.fullLayerRuns).toBe(N * L);
        expect(got.meanExitLayer).toBeCloseTo(got.exitLayers.reduce((a, b) => a + b, 0) / N, 12);
      }
      expect(getBackend().numLiveBuffers()).toBe(live); // pending hidden states and the cache are freed
      m.dispose();
    }
    // Not vacuous: tokens left at every layer, so exited tokens' skipped layers were filled for later tokens.
    console.log(`dynamic exit: tokens per exit layer ${JSON.stringify(Object.fromEntries([...seen].sort((a, b) => a[0] - b[0])))}`);
    for (const e of [1, 2, 3, 4]) expect(seen.get(e) ?? 0, `tokens exiting at layer ${e}`).toBeGreaterThan(5);
  });

  it('threshold 0 exits every token at the first checked layer, threshold 1 runs the full model; sampling draws as the reference', () => {
    const { m, newCache } = model('v2');
    const prompt = [9, 8, 7, 6];
    const first = dynamicExitDecode(m, prompt, { maxNewTokens: N, threshold: 0, exits: [2, 3], newCache });
    expect(first.tokens).toEqual(refDecode(m, prompt, N, 2));
    expect(first.exitLayers).toEqual(new Array<number>(N).fill(2));
    const full = dynamicExitDecode(m, prompt, { maxNewTokens: N, threshold: 1, newCache });
    expect(full.tokens).toEqual(refDecode(m, prompt, N, m.numLayers));
    expect(full.layerRuns).toBe(full.fullLayerRuns);
    const sampled = dynamicExitDecode(m, prompt, { maxNewTokens: N, threshold: 0.04, newCache, sampling: { rng: new Rng(5) } });
    const ref = refDynamic(m, prompt, N, 0.04, [1, 2, 3], new Rng(5));
    expect(sampled.tokens).toEqual(ref.tokens);
    expect(sampled.exitLayers).toEqual(ref.exits);
    expect(() => dynamicExitDecode(m, prompt, { maxNewTokens: 2, threshold: 2, newCache })).toThrow(/threshold must be in \[0, 1\]/);
    m.dispose();
  });
});

// ---------------------------------------------------------------- self-speculative decoding

describe('self-speculative decoding', () => {

  function checkGreedy(backend: string, combos: readonly (readonly [number, number])[], count: number): void {
    on(backend, () => {
      const rates: string[] = [];
      for (const variant of VARIANTS) {
        const { m, newCache } = model(variant);
        const live = getBackend().numLiveBuffers();
        const ps = PROMPTS.slice(0, count);
        const refs = fullGreedyRefs(backend, variant, m, N);
        for (const [E, k] of combos) {
          let drafted = 0;
          let accepted = 0;
          let passes = 0;
          ps.forEach((prompt, i) => {
            const r = selfSpeculativeDecode(m, prompt, { maxNewTokens: N, exitLayer: E, draftTokens: k, newCache });
            expect(r.tokens, `${backend} ${variant} E ${E} k ${k} prompt ${JSON.stringify(prompt)}`).toEqual(refs[i]);
            // Each verification pass emits its accepted drafts and one token of the full model.
            expect(r.stats.accepted + r.stats.fullModelPasses).toBe(N);
            expect(r.stats.accepted).toBeLessThanOrEqual(r.stats.drafted);
            drafted += r.stats.drafted;
            accepted += r.stats.accepted;
            passes += r.stats.fullModelPasses;
          });
          const rate = accepted / drafted;
          rates.push(`${variant} E${E} k${k}: ${rate.toFixed(2)} (${((count * N) / passes).toFixed(2)} tokens/pass)`);
          // Partly accepted: both the correction path and (k = 1: every accepted round) the bonus path run.
          expect(rate, `${variant} E ${E} k ${k}`).toBeGreaterThan(0.05);
          expect(rate, `${variant} E ${E} k ${k}`).toBeLessThan(0.95);
        }
        expect(getBackend().numLiveBuffers()).toBe(live);
        m.dispose();
      }
      console.log(`${backend} greedy self-speculative acceptance: ${rates.join('; ')}`);
    });
  }

  it('greedy output equals full greedy decoding token for token: every variant, 20 prompts, E × k (cpu, exact)', () => {
    checkGreedy('cpu', [[1, 1], [2, 4], [3, 2]], 20);
  });

  it('greedy output equals full greedy decoding token for token: every variant, 20 prompts (wasm)', () => {
    checkGreedy('wasm', [[1, 3], [2, 2], [3, 4]], 20);
  });

  it('a stop token inside an accepted run ends decoding there; errors name the problem', () => {
    const { m, newCache } = model('v1');
    const prompt = [1, 2, 3];
    const ref = refDecode(m, prompt, N, m.numLayers);
    const stop = ref[5]!;
    const r = selfSpeculativeDecode(m, prompt, { maxNewTokens: N, exitLayer: 2, draftTokens: 4, stopToken: stop, newCache });
    expect(r).toMatchObject({ tokens: ref.slice(0, ref.indexOf(stop)), stopped: true });
    expect(selfSpeculativeDecode(m, [4], { maxNewTokens: 1, exitLayer: 1, draftTokens: 3, newCache }).tokens).toEqual(refDecode(m, [4], 1, m.numLayers)); // k capped at 0: one full pass
    // E = L: the draft is the full model, every draft is accepted, k + 1 tokens per pass.
    const all = selfSpeculativeDecode(m, prompt, { maxNewTokens: 9, exitLayer: m.numLayers, draftTokens: 2, newCache });
    expect(all.tokens).toEqual(ref.slice(0, 9));
    expect(all.stats).toEqual({ drafted: 6, accepted: 6, acceptanceRate: 1, fullModelPasses: 3, tokensPerPass: 3 });
    expect(() => selfSpeculativeDecode(m, prompt, { maxNewTokens: 2, exitLayer: 0, draftTokens: 2, newCache })).toThrow(/exitLayer must be an integer in 1..4, got 0/);
    expect(() => selfSpeculativeDecode(m, prompt, { maxNewTokens: 2, exitLayer: 2, draftTokens: 0, newCache })).toThrow(/draftTokens must be an integer >= 1/);
    m.dispose();
  });

  /**
   * Pearson's chi-square of counts against probabilities (cells with expected count < 5 pooled into one bin), and the
   * critical value at significance 0.001 (Wilson–Hilferty: df·(1 − 2/(9df) + z·√(2/(9df)))³, z = 3.0902).
   */
  function chiSquare(counts: readonly number[], probs: readonly number[], n: number): { stat: number; df: number; critical: number } {
    let stat = 0;
    let bins = 0;
    let pooledO = 0;
    let pooledE = 0;
    counts.forEach((o, i) => {
      const e = n * probs[i]!;
      if (e < 5) {
        pooledO += o;
        pooledE += e;
      } else {
        stat += (o - e) ** 2 / e;
        bins++;
      }
    });
    if (pooledE > 0) {
      stat += (pooledO - pooledE) ** 2 / pooledE;
      bins++;
    }
    const df = bins - 1;
    const a = 2 / (9 * df);
    return { stat, df, critical: df * (1 - a + 3.0902 * Math.sqrt(a)) ** 3 };
  }

  it('speculative sampling keeps the full model\u2019s distribution: chi-square on the first two tokens (vocab 8, top 6, 1000 draws); the draft\u2019s own distribution fails the same test', () => {
    // A smaller model (2 layers × 16, vocab 8, initStd 0.3 so that exit 1 differs from exit 2 by a total variation of
    // 0.1–0.3) on the wasm backend keeps the 2000 decodes quick; the acceptance rule depends on neither.
    on('wasm', () => {
      const { m, newCache } = model('v1', { vocabSize: 8, numLayers: 2, dim: 16, numHeads: 2, numKvHeads: 1, ffnDim: 32, initStd: 0.3 });
      const V = 8;
      const L = m.numLayers;
      const E = 1;
      const prompt = [3, 1, 4];
      // Temperature 0.9, top 6 of 8: the target is the full model's distribution under the same transform.
      const sampling = { temperature: 0.9, topK: 6 };
      const dist = (l: readonly number[]): number[] => {
        const w = weights(l, sampling.temperature, sampling.topK);
        const s = w.reduce((x, y) => x + y, 0);
        return w.map((v) => v / s);
      };
      // The full model's joint distribution of the first two tokens, from the no-cache forward.
      const p1 = dist(lastLogits(m, prompt, L));
      const joint = p1.flatMap((pa, a) => (pa === 0 ? new Array<number>(V).fill(0) : dist(lastLogits(m, [...prompt, a], L)).map((pb) => pa * pb))); // [a·V + b]
      const n = 1000;
      const rng = new Rng(2024);
      const counts = new Array<number>(V * V).fill(0);
      let drafted = 0;
      let accepted = 0;
      for (let i = 0; i < n; i++) {
        // maxNewTokens 3 so that the first round drafts 2 tokens: rejections at the first and the second draft, the
        // residual draw, the bonus token and a second round all occur among the draws.
        const r = selfSpeculativeDecode(m, prompt, { maxNewTokens: 3, exitLayer: E, draftTokens: 2, newCache, sampling: { rng, ...sampling } });
        counts[r.tokens[0]! * V + r.tokens[1]!]!++;
        drafted += r.stats.drafted;
        accepted += r.stats.accepted;
      }
      const spec = chiSquare(counts, joint, n);
      // Power: the exit-E draft distribution q (what a wrong acceptance rule would leak through) is rejected.
      const draftCounts = new Array<number>(V * V).fill(0);
      const rngQ = new Rng(2025);
      for (let i = 0; i < n; i++) {
        const r = sampleDecode(m, prompt, { maxNewTokens: 2, exitLayer: E, newCache, sampling: { rng: rngQ, ...sampling } });
        draftCounts[r.tokens[0]! * V + r.tokens[1]!]!++;
      }
      const draft = chiSquare(draftCounts, joint, n);
      console.log(
        `speculative sampling: chi-square ${spec.stat.toFixed(1)} (df ${spec.df}, critical ${spec.critical.toFixed(1)} at 0.001), acceptance ${(accepted / drafted).toFixed(2)}; ` +
          `draft alone: ${draft.stat.toFixed(1)} (df ${draft.df})`,
      );
      expect(spec.stat).toBeLessThan(spec.critical);
      expect(draft.stat).toBeGreaterThan(draft.critical);
      expect(accepted / drafted).toBeGreaterThan(0.2);
      expect(accepted / drafted).toBeLessThan(0.95);
      m.dispose();
    });
  });
});

// ---------------------------------------------------------------- exit speed (eval)

describe('exit decoding speed (eval)', () => {
  it('times every exit with warm-up and 5 repetitions; its numbers agree with each other (no timing assertions)', () => {
    const { m, newCache } = model('v1');
    const L = m.numLayers;
    const calls = new Map<number, number>();
    const report = exitDecodingSpeed(
      (E) => {
        calls.set(E, (calls.get(E) ?? 0) + 1);
        const r = greedyDecode(m, [1, 2, 3], { maxNewTokens: 8, exitLayer: E, newCache });
        return { tokens: r.tokens.length, ms: r.timing.decodeMs };
      },
      { exits: [1, 2, 3], fullExit: L, perplexities: new Map([[1, 9], [2, 6], [4, 5]]) },
    );
    expect(report.exits.map((e) => e.exit)).toEqual([1, 2, 3, 4]);
    expect([...calls.values()]).toEqual([6, 6, 6, 6]); // 1 warm-up + 5 timed, each exit
    const full = report.exits[3]!;
    for (const e of report.exits) {
      expect(e.tokens).toBe(8);
      const { tokensPerSecond: tps, ms } = e;
      expect(tps.n).toBe(5);
      expect(tps.min).toBeLessThanOrEqual(tps.median);
      expect(tps.median).toBeLessThanOrEqual(tps.max);
      // tokens/s of a run is tokens / its time: the median run is the median of both, the fastest the shortest.
      expect(tps.median).toBeCloseTo((8 * 1000) / ms.median, 6);
      expect(tps.max).toBeCloseTo((8 * 1000) / ms.min, 6);
      expect(e.speedGain).toBeCloseTo(tps.median / full.tokensPerSecond.median - 1, 12);
    }
    expect(full.speedGain).toBe(0);
    expect(report.exits.map((e) => e.qualityLoss)).toEqual([9 / 5 - 1, 6 / 5 - 1, null, 0]);
    m.dispose();
  });
});

describe('onToken (streaming)', () => {
  it('reports every generated token in order with the exit that chose it: fixed E, the dynamic exit taken, E for accepted drafts and L for the rest', () => {
    on('cpu', () => {
      const { m, newCache } = model('v1');
      const L = m.numLayers;
      const prompt = [3, 1, 4, 1, 5];
      const seen: [number, number][] = [];
      const onToken = (t: number, e: number): void => {
        seen.push([t, e]);
      };
      const fixed = greedyDecode(m, prompt, { maxNewTokens: 12, exitLayer: 2, newCache, onToken });
      expect(seen).toEqual(fixed.tokens.map((t) => [t, 2]));

      seen.length = 0;
      const dyn = dynamicExitDecode(m, prompt, { maxNewTokens: 12, threshold: 0.2, newCache, onToken });
      expect(seen).toEqual(dyn.tokens.map((t, i) => [t, dyn.exitLayers[i]]));

      for (const [E, k] of [[1, 3], [2, 2], [3, 4]] as const) {
        seen.length = 0;
        const spec = selfSpeculativeDecode(m, prompt, { maxNewTokens: 12, exitLayer: E, draftTokens: k, newCache, onToken });
        expect(seen.map(([t]) => t)).toEqual(spec.tokens);
        // Each round reports its accepted drafts at E, then one token of the full model at L.
        expect(seen.filter(([, e]) => e === E).length).toBe(spec.stats.accepted);
        expect(seen.filter(([, e]) => e === L).length).toBe(spec.stats.fullModelPasses);
        expect(seen.every(([, e]) => e === E || e === L)).toBe(true);
      }

      // A stop token is not reported.
      const stopAt = fixed.tokens[3]!;
      seen.length = 0;
      const stopped = greedyDecode(m, prompt, { maxNewTokens: 12, exitLayer: 2, newCache, onToken, stopToken: stopAt });
      expect(stopped.stopped).toBe(true);
      expect(seen.map(([t]) => t)).toEqual(stopped.tokens);
      expect(seen.some(([t]) => t === stopAt)).toBe(false);
      m.dispose();
    });
  });
});
