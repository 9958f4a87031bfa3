// Exit decoding speed (SPEC §1, §8) with a fake clock, so every number is known: tokens/s per run, median/min/max,
// the paper's speed gain and quality loss against the full exit, warm-up runs, repetitions interleaved across exits.
import { describe, expect, it } from 'vitest';
import { exitDecodingSpeed, measureDecodeSpeed, qualityLoss, speedGain } from '../src/index.js';

/** A clock the runs advance by hand. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('measureDecodeSpeed', () => {
  it('times `repeats` runs after `warmup` untimed ones; a bare token count is timed as the whole call', () => {
    const clock = fakeClock();
    const times = [7, 50, 40, 20, 10, 30]; // the first is the warm-up
    let i = 0;
    const m = measureDecodeSpeed(
      () => {
        clock.advance(times[i++]!);
        return 4;
      },
      { now: clock.now },
    );
    expect(i).toBe(6);
    expect(m.tokens).toBe(4);
    expect(m.ms).toEqual({ n: 5, median: 30, min: 10, max: 50 });
    expect(m.tokensPerSecond).toEqual({ n: 5, median: 4000 / 30, min: 4000 / 50, max: 4000 / 10 });
  });

  it('uses the decoder\u2019s own time when it reports one; refuses < 5 repeats, differing token counts and zero times', () => {
    const clock = fakeClock();
    const m = measureDecodeSpeed(() => ({ tokens: 10, ms: 5 }), { now: clock.now, warmup: 0 });
    expect(m.tokensPerSecond).toEqual({ n: 5, median: 2000, min: 2000, max: 2000 });
    expect(() => measureDecodeSpeed(() => 1, { repeats: 4 })).toThrow(/repeats must be an integer >= 5, got 4/);
    let n = 0;
    expect(() => measureDecodeSpeed(() => ({ tokens: 3 + (n++ % 2), ms: 1 }))).toThrow(/different numbers of tokens/);
    expect(() => measureDecodeSpeed(() => 3, { now: clock.now })).toThrow(/took 0 ms/);
    expect(() => measureDecodeSpeed(() => ({ tokens: 0, ms: 1 }))).toThrow(/at least one token/);
  });
});

describe('exitDecodingSpeed', () => {
  it('per exit: tokens/s, speed gain tps(E)/tps(L) − 1 and quality loss ppl(E)/ppl(L) − 1; warm-up first, then repetitions in turn', () => {
    const clock = fakeClock();
    const order: number[] = [];
    let call = 0;
    // Exit E takes E ms per token (+ 1 ms on every third call), 10 tokens.
    const report = exitDecodingSpeed(
      (E) => {
        order.push(E);
        clock.advance(10 * E + (call++ % 3 === 0 ? 1 : 0));
        return 10;
      },
      { exits: [6, 12, 18], fullExit: 24, warmup: 2, repeats: 5, now: clock.now, perplexities: [{ layer: 6, perplexity: 3 }, { layer: 18, perplexity: 1.3 }, { layer: 24, perplexity: 1.25 }] },
    );
    expect(order.slice(0, 8)).toEqual([6, 12, 18, 24, 6, 12, 18, 24]); // warm-up: every exit, twice
    expect(order.slice(8)).toEqual([6, 12, 18, 24, 6, 12, 18, 24, 6, 12, 18, 24, 6, 12, 18, 24, 6, 12, 18, 24]);
    expect(report.fullExit).toBe(24);
    expect(report.exits.map((e) => e.exit)).toEqual([6, 12, 18, 24]);
    const full = report.exits[3]!;
    for (const e of report.exits) {
      expect(e.tokens).toBe(10);
      expect(e.ms.n).toBe(5);
      // Most runs take exactly 10·E ms: the median is 10 tokens / (10·E ms).
      expect(e.ms.median).toBe(10 * e.exit);
      expect(e.tokensPerSecond.median).toBe(10000 / (10 * e.exit));
      expect(e.tokensPerSecond.min).toBe(10000 / e.ms.max);
      expect(e.speedGain).toBe(speedGain(e.tokensPerSecond.median, full.tokensPerSecond.median));
    }
    expect(report.exits[2]!.speedGain).toBeCloseTo(24 / 18 - 1, 12); // the paper's ideal for exit 18 of 24
    expect(full.speedGain).toBe(0);
    expect(report.exits.map((e) => e.perplexity)).toEqual([3, null, 1.3, 1.25]);
    expect(report.exits.map((e) => e.qualityLoss)).toEqual([qualityLoss(3, 1.25), null, qualityLoss(1.3, 1.25), 0]);
  });

  it('adds the full exit when missing; a Map of perplexities works too; bad exits are errors', () => {
    const clock = fakeClock();
    const run = (E: number): { tokens: number; ms: number } => ({ tokens: 5, ms: E });
    const r = exitDecodingSpeed(run, { exits: [2], fullExit: 4, warmup: 0, now: clock.now, perplexities: new Map([[2, 8], [4, 4]]) });
    expect(r.exits.map((e) => [e.exit, e.qualityLoss])).toEqual([[2, 1], [4, 0]]);
    expect(r.exits[0]!.speedGain).toBe(1); // 2 ms vs 4 ms for the same tokens
    expect(() => exitDecodingSpeed(run, { exits: [5], fullExit: 4 })).toThrow(/exit 5 is outside 1..4/);
    expect(() => exitDecodingSpeed(run, { exits: [1], fullExit: 0 })).toThrow(/fullExit must be an integer >= 1/);
  });
});
