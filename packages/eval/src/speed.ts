// Decoding speed per exit layer (SPEC §1, §8): tokens/s with warm-up runs and >= 5 timed repetitions (median, min,
// max), the paper's speed gain tps(E)/tps(L) − 1 and quality loss ppl(E)/ppl(L) − 1 (metrics.ts). The decoder is a
// callback, so any decoding (fixed exit, dynamic exit, self-speculative; @bitskip/layerskip) can be timed alike.
import { qualityLoss, speedGain } from './metrics.js';
import { stats } from './result.js';
import type { Stats } from './result.js';

/**
 * One decode: the tokens it generated and, when the decoder times itself, the milliseconds to count (e.g.
 * layerskip's `{ tokens: r.tokens.length, ms: r.timing.decodeMs }`: generation without the prompt's prefill). A bare
 * number is a token count, timed as the whole call.
 */
export type DecodeRun = number | { tokens: number; ms: number };

export interface SpeedOptions {
  /** Untimed runs first (default 1): JIT, caches, buffer pools. */
  warmup?: number;
  /** Timed runs (default 5, at least 5). */
  repeats?: number;
  /** Clock in ms (default performance.now). */
  now?: () => number;
}

export interface SpeedMeasurement {
  /** Tokens per timed run (they must agree: the same decode each time). */
  tokens: number;
  /** tokens / seconds of each timed run. */
  tokensPerSecond: Stats;
  /** Milliseconds of each timed run. */
  ms: Stats;
}

export interface ExitSpeed extends SpeedMeasurement {
  exit: number;
  /** median tokens/s at this exit / median at the full exit − 1 (0 for the full exit). */
  speedGain: number;
  /** Perplexity at this exit, when given. */
  perplexity: number | null;
  /** perplexity(exit) / perplexity(full) − 1, when both are given. */
  qualityLoss: number | null;
}

export interface ExitSpeedOptions extends SpeedOptions {
  /** Exits to time (layer counts); the full exit is added if missing. */
  exits: readonly number[];
  /** The full model's exit (L): the baseline of the speed gain and quality loss. */
  fullExit: number;
  /** Perplexity per exit (e.g. evaluateExits' scores), for the quality loss. */
  perplexities?: ReadonlyMap<number, number> | readonly { layer: number; perplexity: number }[];
}

export interface ExitSpeedReport {
  fullExit: number;
  /** Every exit timed, ascending (the full exit included). */
  exits: ExitSpeed[];
}

const defaultNow: () => number = (() => {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf === undefined ? () => Date.now() : () => perf.now();
})();

function checkOptions(o: SpeedOptions, what: string): { warmup: number; repeats: number; now: () => number } {
  const warmup = o.warmup ?? 1;
  const repeats = o.repeats ?? 5;
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`${what}: warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(repeats) || repeats < 5) throw new Error(`${what}: repeats must be an integer >= 5, got ${repeats}`);
  return { warmup, repeats, now: o.now ?? defaultNow };
}

/** Time one run: its tokens and milliseconds. */
function timed(run: () => DecodeRun, now: () => number, what: string): { tokens: number; ms: number } {
  const t0 = now();
  const r = run();
  const wall = now() - t0;
  const out = typeof r === 'number' ? { tokens: r, ms: wall } : r;
  if (!Number.isInteger(out.tokens) || out.tokens < 1) throw new Error(`${what}: a run must generate at least one token, got ${out.tokens}`);
  if (!(out.ms > 0) || !Number.isFinite(out.ms)) throw new Error(`${what}: a run took ${out.ms} ms; need a finite time > 0 (a coarser clock needs longer runs)`);
  return out;
}

function summarise(runs: readonly { tokens: number; ms: number }[], what: string): SpeedMeasurement {
  const tokens = runs[0]!.tokens;
  const odd = runs.find((r) => r.tokens !== tokens);
  if (odd !== undefined) throw new Error(`${what}: runs generated different numbers of tokens (${tokens} and ${odd.tokens}); time the same decode each time`);
  return { tokens, tokensPerSecond: stats(runs.map((r) => (r.tokens * 1000) / r.ms)), ms: stats(runs.map((r) => r.ms)) };
}

/** Tokens/s of one decoder: `warmup` untimed runs, then `repeats` timed ones. */
export function measureDecodeSpeed(run: () => DecodeRun, opts: SpeedOptions = {}): SpeedMeasurement {
  const { warmup, repeats, now } = checkOptions(opts, 'measureDecodeSpeed');
  for (let i = 0; i < warmup; i++) timed(run, now, 'measureDecodeSpeed');
  const runs = Array.from({ length: repeats }, () => timed(run, now, 'measureDecodeSpeed'));
  return summarise(runs, 'measureDecodeSpeed');
}

/**
 * Decoding speed at each exit, with the paper's speed gain and (given perplexities) quality loss against the full
 * exit. Warm-up runs every exit first; the timed repetitions go round the exits in turn, so a slow drift of the
 * machine (thermal, other load) affects every exit alike rather than the last one timed.
 */
export function exitDecodingSpeed(run: (exit: number) => DecodeRun, opts: ExitSpeedOptions): ExitSpeedReport {
  const what = 'exitDecodingSpeed';
  const { warmup, repeats, now } = checkOptions(opts, what);
  const full = opts.fullExit;
  if (!Number.isInteger(full) || full < 1) throw new Error(`${what}: fullExit must be an integer >= 1, got ${full}`);
  const exits = [...new Set([...opts.exits, full])].sort((a, b) => a - b);
  for (const e of exits) if (!Number.isInteger(e) || e < 1 || e > full) throw new Error(`${what}: exit ${e} is outside 1..${full}`);
  const ppl = new Map<number, number>();
  const given = opts.perplexities;
  if (given !== undefined && 'get' in given) for (const [e, p] of given) ppl.set(e, p);
  else if (given !== undefined) for (const s of given) ppl.set(s.layer, s.perplexity);

  for (let i = 0; i < warmup; i++) for (const e of exits) timed(() => run(e), now, `${what} (exit ${e})`);
  const runs = new Map<number, { tokens: number; ms: number }[]>(exits.map((e) => [e, []]));
  for (let r = 0; r < repeats; r++) for (const e of exits) runs.get(e)!.push(timed(() => run(e), now, `${what} (exit ${e})`));

  const measured = new Map(exits.map((e) => [e, summarise(runs.get(e)!, `${what} (exit ${e})`)]));
  const fullTps = measured.get(full)!.tokensPerSecond.median;
  const fullPpl = ppl.get(full);
  return {
    fullExit: full,
    exits: exits.map((exit) => {
      const m = measured.get(exit)!;
      const p = ppl.get(exit);
      return {
        exit,
        ...m,
        speedGain: speedGain(m.tokensPerSecond.median, fullTps),
        perplexity: p ?? null,
        qualityLoss: p === undefined || fullPpl === undefined ? null : qualityLoss(p, fullPpl),
      };
    }),
  };
}
