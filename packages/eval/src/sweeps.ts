// The decode sweeps of the bench `decode` suite (SPEC §1, §8; LayerSkip §5): fixed-exit speed against the FLOP ideal
// (L·c_layer + c_head)/(E·c_layer + c_head) − 1, the dynamic (confidence) exit over thresholds, and self-speculative
// decoding over an E × k grid with acceptance rate, speed-up and a token-for-token check against full greedy decoding.
// The decoders are callbacks (SweepDecoder), as in speed.ts, so this package needs no model; timing interleaves the
// cells round by round (a drifting machine slows all cells alike). dynamicExitPerplexity scores validation text with
// the per-token confidence exit (teacher forcing), the same decision dynamicExitDecode makes.
import { matmul, noGrad, reshape, tensor, tidy } from '@bitskip/tensor-core';
import { perplexity as pplOf, qualityLoss, speedGain } from './metrics.js';
import type { ExitEvalModel } from './perplexity.js';
import { stats } from './result.js';
import type { Stats } from './result.js';

// ---------------------------------------------------------------- the decoder interface

/** One decode of a prompt: the generated tokens and the milliseconds spent generating them (prefill excluded). */
export interface SweepRun {
  tokens: readonly number[];
  ms: number;
}

/**
 * What the sweeps need: greedy decoding at a fixed exit, the confidence exit and greedy self-speculative decoding,
 * each generating exactly `newTokens` tokens (no stop token). @bitskip/layerskip's greedyDecode, dynamicExitDecode and
 * selfSpeculativeDecode fit in a line each ({ tokens, ms: timing.decodeMs, … }).
 */
export interface SweepDecoder {
  readonly numLayers: number;
  greedy(prompt: readonly number[], exitLayer: number, newTokens: number): SweepRun;
  dynamic(prompt: readonly number[], threshold: number, newTokens: number): SweepRun & { exitLayers: readonly number[] };
  speculative(prompt: readonly number[], exitLayer: number, draftTokens: number, newTokens: number): SweepRun & { drafted: number; accepted: number };
}

export interface SweepTimingOptions {
  /** The prompts decoded in every run (a run = every prompt once). */
  prompts: readonly (readonly number[])[];
  /** Tokens generated per prompt (>= 1). */
  newTokens: number;
  /** Untimed runs of every cell first (default 1). */
  warmup?: number;
  /** Timed runs of every cell (default 5, at least 5). */
  reps?: number;
}

// ---------------------------------------------------------------- rows (docs/results.md, bench / decode)

export interface FixedExitRow {
  exitLayer: number;
  tokensPerSecond: Stats;
  /** tps(E) / tps(L) − 1 (medians). */
  speedGain: number;
  /** (L·c_layer + c_head) / (E·c_layer + c_head) − 1. */
  flopIdealGain: number;
  /** speedGain / flopIdealGain; null at E = L (0 / 0). */
  fractionOfIdeal: number | null;
  perplexity: number | null;
  /** ppl(E) / ppl(L) − 1, when both perplexities are known. */
  qualityLoss: number | null;
}

export interface DynamicExitRow {
  threshold: number;
  /** Mean exit layer of the generated tokens (all prompts). */
  meanExitLayer: number;
  tokensPerSecond: Stats;
  /** Validation perplexity with the per-token confidence exit at this threshold, or null when not scored. */
  perplexity: number | null;
}

export interface SpeculativeRow {
  exitLayer: number;
  k: number;
  /** accepted / drafted over every prompt of every timed run. */
  acceptanceRate: number;
  tokensPerSecond: Stats;
  /** median tps / median tps of full greedy decoding (timed in the same rounds). */
  speedup: number;
  /** Every run's tokens equal full greedy decoding's, token for token, for every prompt. */
  greedyExact: boolean;
}

export interface SpeculativeSweep {
  /** Full greedy decoding (exit L), the speed-up's baseline. */
  fullGreedy: { tokensPerSecond: Stats };
  cells: SpeculativeRow[];
}

// ---------------------------------------------------------------- FLOPs

/** Per-token FLOPs of one layer and of the head (final norm + LM head), e.g. from @bitskip/model's flopsPerToken. */
export interface ExitFlops {
  layer: number;
  head: number;
}

/** The FLOP-ideal speed gain of exit E of L: (L·c_layer + c_head)/(E·c_layer + c_head) − 1. */
export function flopIdealGain(numLayers: number, exitLayer: number, flops: ExitFlops): number {
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new Error(`flopIdealGain: numLayers must be an integer >= 1, got ${numLayers}`);
  if (!Number.isInteger(exitLayer) || exitLayer < 1 || exitLayer > numLayers) throw new Error(`flopIdealGain: exitLayer must be an integer in 1..${numLayers}, got ${exitLayer}`);
  if (!(flops.layer > 0) || !(flops.head >= 0)) throw new Error(`flopIdealGain: need layer FLOPs > 0 and head FLOPs >= 0, got ${flops.layer}, ${flops.head}`);
  return (numLayers * flops.layer + flops.head) / (exitLayer * flops.layer + flops.head) - 1;
}

// ---------------------------------------------------------------- timing

interface Cell<R extends SweepRun> {
  key: string;
  run: (prompt: readonly number[]) => R;
  /** Called with every run's per-prompt results (warm-up included). */
  check?: (runs: readonly R[], timed: boolean) => void;
}

function checkTiming(o: SweepTimingOptions, what: string): { warmup: number; reps: number } {
  const warmup = o.warmup ?? 1;
  const reps = o.reps ?? 5;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`${what}: warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(reps) || reps < 5) throw new Error(`${what}: reps must be an integer >= 5, got ${reps}`);
  if (o.prompts.length === 0) throw new Error(`${what}: no prompts`);
  if (!Number.isInteger(o.newTokens) || o.newTokens < 1) throw new Error(`${what}: newTokens must be an integer >= 1, got ${o.newTokens}`);
  return { warmup, reps };
}

/**
 * tokens/s of every cell: `warmup` untimed rounds, then `reps` timed rounds; round r runs the cells in an order
 * rotated by r. A run decodes every prompt; its tokens/s = Σ tokens / Σ ms.
 */
function timeCells<R extends SweepRun>(cells: readonly Cell<R>[], o: SweepTimingOptions, what: string): Map<string, Stats> {
  const { warmup, reps } = checkTiming(o, what);
  const samples = new Map<string, number[]>(cells.map((c) => [c.key, []]));
  for (let r = 0; r < warmup + reps; r++) {
    for (let i = 0; i < cells.length; i++) {
      const c = cells[(i + r) % cells.length]!;
      const runs = o.prompts.map((p) => c.run(p));
      let tokens = 0;
      let ms = 0;
      for (const x of runs) {
        if (x.tokens.length !== o.newTokens) throw new Error(`${what} (${c.key}): a decode generated ${x.tokens.length} tokens, expected ${o.newTokens}`);
        tokens += x.tokens.length;
        ms += x.ms;
      }
      if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`${what} (${c.key}): a run took ${ms} ms; need a finite time > 0`);
      c.check?.(runs, r >= warmup);
      if (r >= warmup) samples.get(c.key)!.push((tokens * 1000) / ms);
    }
  }
  return new Map([...samples].map(([k, s]) => [k, stats(s)]));
}

function checkExits(exits: readonly number[], L: number, what: string, name = 'exit'): number[] {
  const out = [...new Set(exits)].sort((a, b) => a - b);
  for (const e of out) if (!Number.isInteger(e) || e < 1 || e > L) throw new Error(`${what}: ${name} ${e} is outside 1..${L}`);
  return out;
}

// ---------------------------------------------------------------- fixed exit

export interface FixedExitSweepOptions extends SweepTimingOptions {
  /** Exits to time (layer counts); L is added if missing. */
  exits: readonly number[];
  flops: ExitFlops;
  /** Perplexity per exit (e.g. evaluateExits' scores), for the quality loss. */
  perplexities?: ReadonlyMap<number, number>;
}

/** Greedy decoding at each fixed exit: tokens/s, speed gain over exit L, the FLOP-ideal gain and the fraction of it. */
export function fixedExitSweep(decoder: SweepDecoder, o: FixedExitSweepOptions): FixedExitRow[] {
  const what = 'fixedExitSweep';
  const L = decoder.numLayers;
  const exits = checkExits([...o.exits, L], L, what);
  const tps = timeCells(
    exits.map((E) => ({ key: String(E), run: (p: readonly number[]) => decoder.greedy(p, E, o.newTokens) })),
    o,
    what,
  );
  const full = tps.get(String(L))!.median;
  const fullPpl = o.perplexities?.get(L);
  return exits.map((E) => {
    const t = tps.get(String(E))!;
    const gain = speedGain(t.median, full);
    const ideal = flopIdealGain(L, E, o.flops);
    const ppl = o.perplexities?.get(E) ?? null;
    return {
      exitLayer: E,
      tokensPerSecond: t,
      speedGain: gain,
      flopIdealGain: ideal,
      fractionOfIdeal: E === L ? null : gain / ideal,
      perplexity: ppl,
      qualityLoss: ppl === null || fullPpl === undefined ? null : qualityLoss(ppl, fullPpl),
    };
  });
}

// ---------------------------------------------------------------- dynamic exit

export interface DynamicExitSweepOptions extends SweepTimingOptions {
  /** Confidence thresholds in [0, 1]. */
  thresholds: readonly number[];
  /** Validation perplexity per threshold (dynamicExitPerplexity), when scored. */
  perplexities?: ReadonlyMap<number, number>;
}

/** The confidence exit at each threshold: mean exit layer of the generated tokens and tokens/s. */
export function dynamicExitSweep(decoder: SweepDecoder, o: DynamicExitSweepOptions): DynamicExitRow[] {
  const what = 'dynamicExitSweep';
  const thresholds = [...new Set(o.thresholds)].sort((a, b) => a - b);
  if (thresholds.length === 0) throw new Error(`${what}: no thresholds`);
  for (const t of thresholds) if (!(t >= 0 && t <= 1)) throw new Error(`${what}: threshold ${t} is outside [0, 1]`);
  const exitSum = new Map<number, { sum: number; n: number }>(thresholds.map((t) => [t, { sum: 0, n: 0 }]));
  const tps = timeCells(
    thresholds.map((t) => ({
      key: String(t),
      run: (p: readonly number[]) => decoder.dynamic(p, t, o.newTokens),
      check: (runs: readonly (SweepRun & { exitLayers: readonly number[] })[], timed: boolean) => {
        if (!timed) return;
        const acc = exitSum.get(t)!;
        for (const r of runs) {
          for (const e of r.exitLayers) {
            acc.sum += e;
            acc.n++;
          }
        }
      },
    })),
    o,
    what,
  );
  return thresholds.map((t) => {
    const acc = exitSum.get(t)!;
    return { threshold: t, meanExitLayer: acc.sum / acc.n, tokensPerSecond: tps.get(String(t))!, perplexity: o.perplexities?.get(t) ?? null };
  });
}

// ---------------------------------------------------------------- self-speculative

export interface SpeculativeSweepOptions extends SweepTimingOptions {
  /** Draft exits E (1..L). */
  exitLayers: readonly number[];
  /** Draft lengths k (>= 1). */
  draftTokens: readonly number[];
}

/**
 * Greedy self-speculative decoding over E × k against full greedy decoding (timed in the same rounds): acceptance
 * rate, tokens/s, speed-up, and whether every run's output equals full greedy decoding's token for token.
 */
export function speculativeSweep(decoder: SweepDecoder, o: SpeculativeSweepOptions): SpeculativeSweep {
  const what = 'speculativeSweep';
  const L = decoder.numLayers;
  const Es = checkExits(o.exitLayers, L, what, 'exitLayer');
  const ks = [...new Set(o.draftTokens)].sort((a, b) => a - b);
  if (Es.length === 0 || ks.length === 0) throw new Error(`${what}: need at least one exitLayer and one draftTokens value`);
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: draftTokens ${k} must be an integer >= 1`);
  // The reference: full greedy output of every prompt, decoded once up front (greedy decoding is deterministic).
  const reference = o.prompts.map((p) => [...decoder.greedy(p, L, o.newTokens).tokens]);
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((t, i) => t === b[i]);
  const book = new Map<string, { drafted: number; accepted: number; exact: boolean }>();
  const cells: Cell<SweepRun & { drafted?: number; accepted?: number }>[] = [
    {
      key: 'full',
      run: (p) => decoder.greedy(p, L, o.newTokens),
      check: (runs) => {
        runs.forEach((r, i) => {
          if (!same(r.tokens, reference[i]!)) throw new Error(`${what}: full greedy decoding is not deterministic (prompt ${i} gave different tokens in two runs)`);
        });
      },
    },
  ];
  for (const E of Es) {
    for (const k of ks) {
      const key = `${E}x${k}`;
      const acc = { drafted: 0, accepted: 0, exact: true };
      book.set(key, acc);
      cells.push({
        key,
        run: (p) => decoder.speculative(p, E, k, o.newTokens),
        check: (runs, timed) => {
          runs.forEach((r, i) => {
            if (!same(r.tokens, reference[i]!)) acc.exact = false;
            if (timed) {
              acc.drafted += r.drafted!;
              acc.accepted += r.accepted!;
            }
          });
        },
      });
    }
  }
  const tps = timeCells(cells, o, what);
  const full = tps.get('full')!;
  return {
    fullGreedy: { tokensPerSecond: full },
    cells: Es.flatMap((E) =>
      ks.map((k) => {
        const key = `${E}x${k}`;
        const acc = book.get(key)!;
        const t = tps.get(key)!;
        return { exitLayer: E, k, acceptanceRate: acc.drafted === 0 ? 0 : acc.accepted / acc.drafted, tokensPerSecond: t, speedup: t.median / full.median, greedyExact: acc.exact };
      }),
    ),
  };
}

// ---------------------------------------------------------------- dynamic-exit perplexity

export interface DynamicExitPerplexityOptions {
  thresholds: readonly number[];
  /** Exits checked (layer counts 1..L−1), as dynamicExitDecode's `exits`; default every layer. L is the last resort. */
  exits?: readonly number[];
  seqLen: number;
  /** Score at most this many windows (default: the whole stream). */
  maxWindows?: number;
  /** Keep every scored position's exit layer per threshold (for tests). */
  keepExitLayers?: boolean;
}

export interface DynamicExitScore {
  threshold: number;
  /** Mean cross-entropy in nats of the next token at each position's exit. */
  loss: number;
  perplexity: number;
  /** Mean exit layer over the scored positions. */
  meanExitLayer: number;
  tokens: number;
  /** The exit layer of every scored position (window by window), when keepExitLayers. */
  exitLayers?: Int32Array;
}

/**
 * Validation perplexity of the confidence exit, teacher-forced: position t exits at the first checked layer whose
 * exit's max softmax probability (temperature 1) is >= the threshold (layer L at the latest), and the next token is
 * scored with that exit's logits. This is sound for dynamicExitDecode's cache policy (lazy exact recomputation: every
 * cached K/V is the full model's own), under which the hidden state of position t after l layers is exactly the
 * no-cache forward's; so one forward of each window, reading every checked exit, gives each position's decision and
 * its loss. (Under CALM's state copying, the deeper layers would see copied states and this would not hold.)
 * Windows are consecutive, non-overlapping, seqLen tokens each (as evaluateExits).
 */
export function dynamicExitPerplexity(model: ExitEvalModel, tokens: ArrayLike<number>, o: DynamicExitPerplexityOptions): DynamicExitScore[] {
  const what = 'dynamicExitPerplexity';
  const L = model.numLayers;
  const thresholds = [...new Set(o.thresholds)].sort((a, b) => a - b);
  if (thresholds.length === 0) throw new Error(`${what}: no thresholds`);
  for (const t of thresholds) if (!(t >= 0 && t <= 1)) throw new Error(`${what}: threshold ${t} is outside [0, 1]`);
  const checks = checkExits([...(o.exits ?? Array.from({ length: L - 1 }, (_, i) => i + 1)), L], L, what);
  const T = o.seqLen;
  if (!Number.isInteger(T) || T < 1) throw new Error(`${what}: seqLen must be an integer >= 1, got ${T}`);
  const windows = Math.min(Math.floor((tokens.length - 1) / T), o.maxWindows ?? Infinity);
  if (windows < 1) throw new Error(`${what}: ${tokens.length} tokens are too few for one window of ${T + 1}`);
  const nats = new Float64Array(thresholds.length);
  const exitSum = new Float64Array(thresholds.length);
  const kept = o.keepExitLayers === true ? thresholds.map(() => new Int32Array(windows * T)) : null;
  // Per window: conf[c·T + t] and logp[c·T + t] (max probability, log-probability of the target) at check c.
  const conf = new Float64Array(checks.length * T);
  const logp = new Float64Array(checks.length * T);
  for (let w = 0; w < windows; w++) {
    const inputs = new Int32Array(T);
    const targets = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      inputs[t] = tokens[w * T + t]!;
      targets[t] = tokens[w * T + t + 1]!;
    }
    noGrad(() =>
      tidy(() => {
        const out = model.forward(tensor(inputs, [1, T], 'int32'), { collect: checks.filter((e) => e < L), logits: false });
        checks.forEach((e, c) => {
          tidy(() => {
            const h = e === L ? out.hidden : out.exits.get(e)!;
            const D = h.shape[h.rank - 1]!;
            const logits = matmul(reshape(model.normalize(h), [-1, D]), model.headWeight, { transB: true }).dataSync(); // (T, D) x (V, D)ᵀ -> (T, V)
            const V = logits.length / T;
            for (let t = 0; t < T; t++) {
              let mx = -Infinity;
              for (let v = 0; v < V; v++) mx = Math.max(mx, logits[t * V + v]!);
              let s = 0;
              for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v]! - mx);
              conf[c * T + t] = 1 / s;
              logp[c * T + t] = logits[t * V + targets[t]!]! - mx - Math.log(s);
            }
          });
        });
      }),
    );
    thresholds.forEach((th, i) => {
      for (let t = 0; t < T; t++) {
        let c = 0;
        while (c < checks.length - 1 && !(conf[c * T + t]! >= th)) c++;
        nats[i]! -= logp[c * T + t]!;
        exitSum[i]! += checks[c]!;
        if (kept !== null) kept[i]![w * T + t] = checks[c]!;
      }
    });
  }
  const n = windows * T;
  return thresholds.map((threshold, i) => ({
    threshold,
    loss: nats[i]! / n,
    perplexity: pplOf(nats[i]! / n),
    meanExitLayer: exitSum[i]! / n,
    tokens: n,
    ...(kept === null ? {} : { exitLayers: kept[i]! }),
  }));
}
