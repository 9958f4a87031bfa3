// Early-exit decoding with a KV cache (LayerSkip, Elhoushi et al. 2024; SPEC §6): a fixed exit E, a confidence
// (dynamic) exit as in CALM (Schuster et al. 2022), and self-speculative decoding (LayerSkip §5) with greedy or
// speculative-sampling acceptance (Leviathan et al. 2023; Chen et al. 2023). Batch 1, against DecodingModel below.
import { concat, keep, noGrad, slice, tensor, tidy } from '@bitskip/tensor-core';
import type { Rng, Tensor } from '@bitskip/tensor-core';

// ---------------------------------------------------------------- the model interface

/** What decoding needs of a KV cache: per-layer cached lengths, truncation (reject drafts), release. */
export interface DecodeCache {
  /** Positions cached at layer l (0-based). */
  length(layer: number): number;
  /** Keep only the first n positions of every layer (shorter layers are left as they are). */
  truncate(n: number): void;
  dispose(): void;
}

/**
 * What decoding needs of a model (BitSkipModel from @bitskip/model satisfies it; pass `newCache` in the options while
 * it has no `newCache()` method). Layers are 0-based here ([from, to)); an exit E is "after the first E layers".
 * The model must be in evaluation mode (no dropout); reads are synchronous (`dataSync`), so the backend needs readSync.
 */
export interface DecodingModel<C extends DecodeCache = DecodeCache> {
  readonly numLayers: number;
  /** int32 ids (1, T) -> hidden states (1, T, D). */
  embedTokens(ids: Tensor): Tensor;
  /**
   * Layers [from, to) on h (1, T, D), the positions after what those layers have cached; appends them to the cache.
   * (The decoders always pass a cache; it is optional here so that a model whose own option is optional matches.)
   */
  runLayers(h: Tensor, from: number, to: number, opts: { cache?: C }): Tensor;
  /** Shared final norm + LM head of every exit: (1, T, D) -> (1, T, V). */
  exitLogits(h: Tensor): Tensor;
  /** An empty cache for this model (optional; else pass options.newCache). */
  newCache?(): C;
}

// ---------------------------------------------------------------- options and results

/** Sampling from the exit's distribution: softmax(logits / temperature), restricted to the top k (0 = all). */
export interface Sampling {
  rng: Rng;
  /** > 0; default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (ties: lower id first); 0 or absent = all. */
  topK?: number;
}

export interface DecodeOptions<C extends DecodeCache = DecodeCache> {
  /** Tokens to generate (the stop token, if produced, ends decoding early and is not returned). */
  maxNewTokens: number;
  stopToken?: number;
  /** Make an empty cache (default: model.newCache()). */
  newCache?: () => C;
  /** Refuse a decode that would feed more positions than this (the model's maxSeqLen): prompt + maxNewTokens − 1. */
  maxLength?: number;
  /**
   * Called once per generated token, in order, as soon as it is final (a stop token is not reported), with the exit
   * layer (1..L) whose logits chose it: E for a fixed exit, the exit taken for the dynamic exit; for self-speculative
   * decoding E for an accepted draft and L for the full model's correction or bonus token. For streaming output; it
   * must not touch the model or the cache.
   */
  onToken?: (token: number, exitLayer: number) => void;
}

export interface FixedExitOptions<C extends DecodeCache = DecodeCache> extends DecodeOptions<C> {
  /** Layers run per token (1..L); default L (full decoding). */
  exitLayer?: number;
}

/**
 * Wall time of a decode. Every decoder prefills the prompt but its last token, then spends `decodeMs` producing the
 * generated tokens (the last prompt token is the first position decoded), so tokens.length / decodeMs is the decoding
 * speed, comparable across the decoders.
 */
export interface DecodeTiming {
  /** The prompt but its last token into the cache, ms. */
  prefillMs: number;
  /** Producing the generated tokens, ms. */
  decodeMs: number;
}

export interface DecodeResult {
  /** The generated tokens (the prompt and a produced stop token excluded). */
  tokens: number[];
  /** True when the stop token ended decoding. */
  stopped: boolean;
  timing: DecodeTiming;
}

export interface DynamicExitOptions<C extends DecodeCache = DecodeCache> extends DecodeOptions<C> {
  /** A token exits at the first checked layer whose max softmax probability (temperature 1) is >= threshold. */
  threshold: number;
  /** Exits (layer counts 1..L−1) checked, ascending; default every layer. Layer L is always the last resort. */
  exits?: readonly number[];
  /** Sample from the exit's distribution instead of taking its argmax. */
  sampling?: Sampling;
}

export interface DynamicExitResult extends DecodeResult {
  /** The exit layer (1..L) each generated token was predicted at. */
  exitLayers: number[];
  /** Mean of exitLayers (NaN when nothing was generated). */
  meanExitLayer: number;
  /** (position, layer) evaluations after the prompt's prefill, catch-up of skipped layers included. */
  layerRuns: number;
  /** (position, layer) evaluations full decoding would have made for the same tokens (positions × L). */
  fullLayerRuns: number;
  /** Exit-head evaluations (one per checked layer per token). */
  headRuns: number;
}

export interface SpeculativeOptions<C extends DecodeCache = DecodeCache> extends DecodeOptions<C> {
  /** Draft with the first E layers (1..L). */
  exitLayer: number;
  /** Tokens drafted per round (>= 1); fewer near maxNewTokens. */
  draftTokens: number;
  /** Speculative-sampling acceptance (the full model's distribution); absent = greedy acceptance. */
  sampling?: Sampling;
}

export interface SpeculativeStats {
  /** Draft tokens proposed. */
  drafted: number;
  /** Draft tokens accepted. */
  accepted: number;
  /** accepted / drafted (0 when nothing was drafted). */
  acceptanceRate: number;
  /** Verification passes of layers E..L (one per round): what full decoding spends one of per token. */
  fullModelPasses: number;
  /** Generated tokens per verification pass. */
  tokensPerPass: number;
}

export interface SpeculativeResult extends DecodeResult {
  stats: SpeculativeStats;
}

// ---------------------------------------------------------------- host-side helpers

const clock: () => number = (() => {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf === undefined ? () => Date.now() : () => perf.now();
})();

/** Index of the largest value (the lowest index among equal maxima). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** softmax(logits / temperature) over the top k (0 = all), in float64; zero outside the top k. */
export function tokenDistribution(logits: ArrayLike<number>, temperature = 1, topK = 0): Float64Array {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`layerskip decode: temperature must be a finite number > 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`layerskip decode: topK must be an integer >= 0, got ${topK}`);
  const V = logits.length;
  let idx = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) idx = idx.sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, topK);
  let mx = -Infinity;
  for (const i of idx) mx = Math.max(mx, logits[i]!);
  const p = new Float64Array(V);
  let s = 0;
  for (const i of idx) s += p[i] = Math.exp((logits[i]! - mx) / temperature);
  for (const i of idx) p[i]! /= s;
  return p;
}

/** Draw an index with probability p[i] / Σp (one rng.next()). */
export function sampleFrom(p: ArrayLike<number>, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i]!;
  if (!(total > 0)) throw new Error('layerskip decode: cannot sample from an all-zero distribution');
  let u = rng.next() * total;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i]! <= 0) continue;
    last = i;
    u -= p[i]!;
    if (u < 0) return i;
  }
  return last; // rounding: u landed on the total
}

/** Max softmax probability of logits (temperature 1): CALM's softmax-response confidence. */
export function maxProbability(logits: ArrayLike<number>): number {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i]!);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i]! - mx);
  return 1 / s; // exp(mx − mx) / Σ exp(l − mx)
}

function choose(logits: ArrayLike<number>, sampling: Sampling | null | undefined): number {
  if (sampling === null || sampling === undefined) return argmax(logits);
  return sampleFrom(tokenDistribution(logits, sampling.temperature ?? 1, sampling.topK ?? 0), sampling.rng);
}

function checkCommon<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], o: DecodeOptions<C>, what: string): () => C {
  if (prompt.length === 0) throw new Error(`${what}: the prompt must hold at least one token`);
  for (const t of prompt) if (!Number.isInteger(t) || t < 0) throw new Error(`${what}: prompt tokens must be integers >= 0, got ${t}`);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`${what}: maxNewTokens must be an integer >= 0, got ${o.maxNewTokens}`);
  // Positions fed: the prompt and every generated token but the last (drafts never reach past that).
  if (o.maxLength !== undefined && prompt.length + o.maxNewTokens - 1 > o.maxLength) {
    throw new Error(`${what}: ${prompt.length} prompt + ${o.maxNewTokens} new tokens need ${prompt.length + o.maxNewTokens - 1} positions, more than maxLength ${o.maxLength}`);
  }
  const make = o.newCache ?? (model.newCache === undefined ? undefined : () => model.newCache!());
  if (make === undefined) throw new Error(`${what}: the model has no newCache(); pass options.newCache (e.g. () => new KVCache(model.numLayers))`);
  return make;
}

function checkExit(E: number, L: number, what: string): void {
  if (!Number.isInteger(E) || E < 1 || E > L) throw new Error(`${what}: exitLayer must be an integer in 1..${L}, got ${E}`);
}

/** int32 ids (1, T). */
function ids(tokens: readonly number[]): Tensor {
  return tensor(tokens, [1, tokens.length], 'int32');
}

/** Exit logits of the last position of h (1, T, D) as a host array (V). */
function lastLogits(model: DecodingModel<DecodeCache>, h: Tensor): ArrayLike<number> {
  const T = h.shape[1]!;
  return model.exitLogits(slice(h, [0, T - 1, 0], [1, T])).dataSync(); // (1, T, D) -> (1, 1, D) -> (1, 1, V)
}

/** tokens (all at once) through layers [0, to) into the cache; nothing else is kept. */
function prefill<C extends DecodeCache>(model: DecodingModel<C>, tokens: readonly number[], to: number, cache: C): void {
  if (tokens.length === 0) return;
  tidy(() => {
    model.runLayers(model.embedTokens(ids(tokens)), 0, to, { cache });
  });
}

// ---------------------------------------------------------------- fixed exit

function fixedExit<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], o: FixedExitOptions<C>, sampling: Sampling | null, what: string): DecodeResult {
  const make = checkCommon(model, prompt, o, what);
  const L = model.numLayers;
  const E = o.exitLayer ?? L;
  checkExit(E, L, what);
  const cache = make();
  const tokens: number[] = [];
  let stopped = false;
  const t0 = clock();
  let t1 = t0;
  try {
    noGrad(() => {
      // Prefill: the prompt but its last token through layers 1..E; layers above E are never run (their cache stays
      // empty). Then one position per generated token, the last prompt token first.
      const P = prompt.length;
      prefill(model, prompt.slice(0, -1), E, cache);
      t1 = clock();
      let x = prompt[P - 1]!;
      while (tokens.length < o.maxNewTokens) {
        const logits = tidy(() => lastLogits(model, model.runLayers(model.embedTokens(ids([x])), 0, E, { cache })));
        x = choose(logits, sampling);
        if (x === o.stopToken) {
          stopped = true;
          break;
        }
        tokens.push(x);
        o.onToken?.(x, E);
      }
    });
  } finally {
    cache.dispose();
  }
  return { tokens, stopped, timing: { prefillMs: t1 - t0, decodeMs: clock() - t1 } };
}

/** Greedy decoding through the first `exitLayer` layers (default all: full decoding), with a KV cache. */
export function greedyDecode<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], opts: FixedExitOptions<C>): DecodeResult {
  return fixedExit(model, prompt, opts, null, 'greedyDecode');
}

/** Sampled decoding through the first `exitLayer` layers (temperature, top-k, seeded rng), with a KV cache. */
export function sampleDecode<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], opts: FixedExitOptions<C> & { sampling: Sampling }): DecodeResult {
  return fixedExit(model, prompt, opts, opts.sampling, 'sampleDecode');
}

// ---------------------------------------------------------------- dynamic (confidence) exit

/**
 * Confidence-based early exit (CALM's softmax response): each token runs layer by layer and stops at the first
 * checked layer whose exit's max softmax probability is >= threshold (layer L at the latest); its next token comes
 * from that exit's logits (argmax, or a draw with `sampling`).
 *
 * Filling the skipped layers' K/V: LAZY EXACT RECOMPUTATION, not CALM's state copying. A token that exits at layer e
 * keeps its hidden state after e layers; when a later token needs layer l >= e, the pending positions are first run
 * through layer l in the same pass as that token (they are consecutive and all exactly l layers deep, so one
 * runLayers call on (1, m + 1, D) extends the cache in order). Every cache entry is therefore the full model's own
 * K/V, so the decision for each token depends only on the tokens so far, exactly as a no-cache run of the full model
 * that reads each exit would decide. CALM instead copies the exited hidden state upward and runs only the deeper
 * layers' K/V projections on it, which changes later tokens' attention; through this interface (whole layers only)
 * that costs as many layer passes as the exact catch-up, so the exact method is the better choice here. The price:
 * compute is saved only for layers no later token reaches (`layerRuns` against `fullLayerRuns` shows how much).
 */
export function dynamicExitDecode<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], o: DynamicExitOptions<C>): DynamicExitResult {
  const what = 'dynamicExitDecode';
  const make = checkCommon(model, prompt, o, what);
  const L = model.numLayers;
  if (!(o.threshold >= 0 && o.threshold <= 1)) throw new Error(`${what}: threshold must be in [0, 1], got ${o.threshold}`);
  const checks = new Set<number>(o.exits ?? Array.from({ length: L - 1 }, (_, i) => i + 1));
  for (const e of checks) if (!Number.isInteger(e) || e < 1 || e > L) throw new Error(`${what}: exit ${e} is outside 1..${L}`);
  checks.add(L);

  const cache = make();
  const P = prompt.length;
  // Positions >= P − 1 that are not yet L layers deep: depth[j − base] layers run, hidden[j − base] after them (kept).
  const base = P - 1;
  const depth: number[] = [];
  const hidden: (Tensor | null)[] = [];
  const tokens: number[] = [];
  const exitLayers: number[] = [];
  let layerRuns = 0;
  let headRuns = 0;
  let stopped = false;
  const t0 = clock();
  let t1 = t0;

  /** Run position p (token x) layer by layer, catching up the pending positions; returns (logits, exit layer). */
  const step = (x: number, p: number): { logits: ArrayLike<number>; exit: number } =>
    tidy(() => {
      let h = model.embedTokens(ids([x])); // (1, 1, D)
      for (let l = 0; l < L; l++) {
        const lo = cache.length(l); // positions lo..p−1 are pending at layer l: exactly l layers deep
        const rows: Tensor[] = [];
        for (let j = lo; j < p; j++) {
          const hj = hidden[j - base];
          if (depth[j - base] !== l || hj === null || hj === undefined) {
            throw new Error(`${what}: internal: position ${j} is ${depth[j - base]} layers deep, layer ${l} needs it at ${l}`);
          }
          rows.push(hj);
        }
        const y = model.runLayers(rows.length === 0 ? h : concat([...rows, h], 1), l, l + 1, { cache }); // (1, m + 1, D)
        layerRuns += rows.length + 1;
        rows.forEach((_, r) => {
          const i = lo + r - base;
          hidden[i]!.dispose();
          depth[i] = l + 1;
          hidden[i] = depth[i] === L ? null : keep(slice(y, [0, r, 0], [1, r + 1])); // (1, m + 1, D) -> (1, 1, D)
        });
        h = rows.length === 0 ? y : slice(y, [0, rows.length, 0], [1, rows.length + 1]); // the current position
        if (!checks.has(l + 1)) continue;
        const logits = lastLogits(model, h);
        headRuns++;
        if (l + 1 === L || maxProbability(logits) >= o.threshold) {
          depth[p - base] = l + 1;
          hidden[p - base] = l + 1 === L ? null : keep(h);
          return { logits, exit: l + 1 };
        }
      }
      throw new Error(`${what}: internal: no exit taken`);
    });

  try {
    noGrad(() => {
      // Prefill: every prompt position but the last through all L layers (the full model's cache).
      prefill(model, prompt.slice(0, -1), L, cache);
      t1 = clock();
      let x = prompt[P - 1]!;
      for (let p = base; tokens.length < o.maxNewTokens; p++) {
        const { logits, exit } = step(x, p);
        const next = choose(logits, o.sampling);
        if (next === o.stopToken) {
          stopped = true;
          break;
        }
        tokens.push(next);
        exitLayers.push(exit);
        o.onToken?.(next, exit);
        x = next;
      }
    });
  } finally {
    for (const h of hidden) h?.dispose();
    cache.dispose();
  }
  const meanExitLayer = exitLayers.length === 0 ? Number.NaN : exitLayers.reduce((a, b) => a + b, 0) / exitLayers.length;
  return {
    tokens,
    stopped,
    timing: { prefillMs: t1 - t0, decodeMs: clock() - t1 },
    exitLayers,
    meanExitLayer,
    layerRuns,
    fullLayerRuns: (exitLayers.length + (stopped ? 1 : 0)) * L,
    headRuns,
  };
}

// ---------------------------------------------------------------- self-speculative decoding

/**
 * LayerSkip's self-speculative decoding. Invariant between rounds: the n tokens so far are all cached at every layer
 * except the last one, x. A round:
 *  1. draft: k tokens d1..dk through layers 1..E only (feeding x, d1, …, d(k−1); the early layers' cache grows);
 *  2. verify: dk through layers 1..E too, then ONE pass of layers E+1..L over the k + 1 positions (x, d1..dk), their
 *     layer-E hidden states taken from the draft (the early layers' cache is reused, never recomputed); this gives the
 *     full model's logits for d1..dk and one more token;
 *  3. accept: greedy — the longest prefix with di = argmax of the full logits, then the full model's token at the first
 *     mismatch (or the bonus token after dk); sampling — di is kept with probability min(1, p(di)/q(di)), the first
 *     rejected one is replaced by a draw from max(0, p − q) normalised (Leviathan et al. 2023), else a bonus draw from
 *     p: every token is distributed exactly as the full model's p (q: the exit's distribution, same temperature/top-k);
 *  4. truncate every layer's cache to the accepted positions.
 * Greedy output equals full greedy decoding token for token (up to the backend's rounding of a k + 1-position pass
 * against a one-position pass: bitwise on the cpu reference).
 */
export function selfSpeculativeDecode<C extends DecodeCache>(model: DecodingModel<C>, prompt: readonly number[], o: SpeculativeOptions<C>): SpeculativeResult {
  const what = 'selfSpeculativeDecode';
  const make = checkCommon(model, prompt, o, what);
  const L = model.numLayers;
  const E = o.exitLayer;
  checkExit(E, L, what);
  if (!Number.isInteger(o.draftTokens) || o.draftTokens < 1) throw new Error(`${what}: draftTokens must be an integer >= 1, got ${o.draftTokens}`);
  const sampling = o.sampling ?? null;
  const dist = (logits: ArrayLike<number>): Float64Array => tokenDistribution(logits, sampling!.temperature ?? 1, sampling!.topK ?? 0);

  const cache = make();
  const seq = [...prompt];
  const tokens: number[] = [];
  let stopped = false;
  let drafted = 0;
  let accepted = 0;
  let passes = 0;
  const t0 = clock();
  let t1 = t0;
  try {
    noGrad(() => {
      prefill(model, seq.slice(0, -1), L, cache);
      t1 = clock();
      while (tokens.length < o.maxNewTokens && !stopped) {
        const start = seq.length - 1; // position of x; the cache holds 0..start−1 at every layer
        const k = Math.min(o.draftTokens, o.maxNewTokens - tokens.length - 1);
        const round = tidy(() => {
          const hs: Tensor[] = []; // layer-E hidden states (1, 1, D) of positions start..start+k
          const drafts: number[] = [];
          const qs: Float64Array[] = [];
          let x = seq[start]!;
          for (let i = 0; i < k; i++) {
            const h = model.runLayers(model.embedTokens(ids([x])), 0, E, { cache });
            hs.push(h);
            const logits = lastLogits(model, h);
            if (sampling === null) {
              x = argmax(logits);
            } else {
              const q = dist(logits);
              qs.push(q);
              x = sampleFrom(q, sampling.rng);
            }
            drafts.push(x);
          }
          hs.push(model.runLayers(model.embedTokens(ids([x])), 0, E, { cache }));
          // One pass of the layers above E over the k + 1 positions; their layer-E states come from the draft.
          const h = hs.length === 1 ? hs[0]! : concat(hs, 1); // k + 1 × (1, 1, D) -> (1, k + 1, D)
          const full = model.exitLogits(model.runLayers(h, E, L, { cache })).dataSync(); // (1, k + 1, V), row i at i·V
          const V = full.length / (k + 1);
          const row = (i: number): ArrayLike<number> => full.subarray(i * V, (i + 1) * V);
          const out: number[] = [];
          let a = 0;
          for (; a < k; a++) {
            const d = drafts[a]!;
            if (sampling === null) {
              const best = argmax(row(a));
              if (best !== d) {
                out.push(best);
                break;
              }
            } else {
              const p = dist(row(a));
              const q = qs[a]!;
              if (!(sampling.rng.next() * q[d]! < p[d]!)) {
                // Rejected: draw from the residual max(0, p − q) (normalised in sampleFrom).
                const r = new Float64Array(V);
                let s = 0;
                for (let j = 0; j < V; j++) s += r[j] = Math.max(0, p[j]! - q[j]!);
                out.push(s > 0 ? sampleFrom(r, sampling.rng) : sampleFrom(p, sampling.rng));
                break;
              }
            }
            out.push(d);
          }
          if (a === k) out.push(sampling === null ? argmax(row(k)) : sampleFrom(dist(row(k)), sampling.rng)); // bonus
          return { out, accepted: a };
        });
        passes++;
        drafted += k;
        accepted += round.accepted;
        // Keep x and the accepted drafts (positions start..start+a); drop the rest.
        cache.truncate(start + round.accepted + 1);
        for (const [i, t] of round.out.entries()) {
          if (t === o.stopToken) {
            stopped = true;
            break;
          }
          tokens.push(t);
          seq.push(t);
          o.onToken?.(t, i < round.accepted ? E : L); // accepted drafts came from exit E, the last one from the full model
        }
      }
    });
  } finally {
    cache.dispose();
  }
  return {
    tokens,
    stopped,
    timing: { prefillMs: t1 - t0, decodeMs: clock() - t1 },
    stats: {
      drafted,
      accepted,
      acceptanceRate: drafted === 0 ? 0 : accepted / drafted,
      fullModelPasses: passes,
      tokensPerPass: passes === 0 ? 0 : tokens.length / passes,
    },
  };
}
