import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineSchedule, wsdSchedule, type LrSchedule } from '../src/index.js';

/** llm.c's train_gpt2.py get_lr, transcribed as the closed form the schedule must match. */
function getLr(it: number, lr: number, minLr: number, warmup: number, decay: number): number {
  if (it < warmup) return (lr * (it + 1)) / warmup;
  if (it > decay) return minLr;
  const ratio = (it - warmup) / (decay - warmup);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (lr - minLr);
}

function values(f: LrSchedule, from: number, to: number): number[] {
  const out: number[] = [];
  for (let s = from; s < to; s++) out.push(f(s));
  return out;
}

function expectMonotonic(xs: number[], dir: 'up' | 'down' | 'flat'): void {
  for (let i = 1; i < xs.length; i++) {
    const d = xs[i]! - xs[i - 1]!;
    if (dir === 'up') expect(d).toBeGreaterThanOrEqual(0);
    else if (dir === 'down') expect(d).toBeLessThanOrEqual(0);
    else expect(d).toBe(0);
  }
}

describe('cosineSchedule', () => {
  const opts = { maxLr: 6e-4, minLr: 6e-5, warmupSteps: 10, decaySteps: 100 };
  const f = cosineSchedule(opts);

  it('matches the closed form at chosen steps', () => {
    for (const s of [0, 1, 5, 9, 10, 11, 25, 55, 99, 100, 101, 1000]) {
      expect(f(s)).toBeCloseTo(getLr(s, 6e-4, 6e-5, 10, 100), 15);
    }
    expect(f(0)).toBeCloseTo(6e-5, 15); // 6e-4 * 1/10
    expect(f(9)).toBeCloseTo(6e-4, 15);
    expect(f(10)).toBe(6e-4);
    expect(f(55)).toBeCloseTo((6e-4 + 6e-5) / 2, 15); // halfway through the cosine
    expect(f(100)).toBeCloseTo(6e-5, 15);
    expect(f(5000)).toBe(6e-5);
  });

  it('rises through warm-up, falls through the decay, and is continuous at the boundaries', () => {
    expectMonotonic(values(f, 0, 11), 'up');
    expectMonotonic(values(f, 10, 200), 'down');
    expect(f(9)).toBeCloseTo(f(10), 15); // warm-up ends where the cosine starts
    expect(Math.abs(f(100) - f(101))).toBeLessThan(1e-18); // the cosine ends at the floor
    const steps = values(f, 0, 200);
    const jumps = steps.slice(1).map((v, i) => Math.abs(v - steps[i]!));
    expect(Math.max(...jumps)).toBeLessThanOrEqual(6e-4 / 10 + 1e-18); // no step larger than one warm-up increment
  });

  it('works without warm-up and with minLr defaulting to 0', () => {
    const g = cosineSchedule({ maxLr: 1, warmupSteps: 0, decaySteps: 4 });
    expect(values(g, 0, 6).map((v) => +v.toFixed(12))).toEqual([1, 0.853553390593, 0.5, 0.146446609407, 0, 0]);
  });

  it.each<[string, object, RegExp]>([
    ['maxLr <= 0', { ...opts, maxLr: 0 }, /cosineSchedule: maxLr must be a finite number > 0, got 0/],
    ['maxLr NaN', { ...opts, maxLr: NaN }, /maxLr must be a finite number > 0, got NaN/],
    ['minLr < 0', { ...opts, minLr: -1 }, /minLr must be a finite number >= 0, got -1/],
    ['minLr > maxLr', { ...opts, minLr: 1 }, /minLr \(1\) must not exceed maxLr \(0.0006\)/],
    ['fractional warmup', { ...opts, warmupSteps: 1.5 }, /warmupSteps must be an integer >= 0, got 1.5/],
    ['decay <= warmup', { ...opts, decaySteps: 10 }, /decaySteps \(10\) must be greater than warmupSteps \(10\)/],
    ['missing decaySteps', { maxLr: 1, warmupSteps: 0 }, /decaySteps must be an integer >= 1, got undefined/],
    ['unknown option', { ...opts, warmup: 3 }, /unknown option 'warmup' \(allowed: maxLr, minLr, warmupSteps, decaySteps\)/],
  ])('rejects %s', (_name, o, message) => {
    expect(() => cosineSchedule(o as never)).toThrow(message);
  });

  it('rejects a negative or non-finite step', () => {
    expect(() => f(-1)).toThrow(/step must be a finite number >= 0, got -1/);
    expect(() => f(NaN)).toThrow(/got NaN/);
  });
});

describe('constantSchedule', () => {
  it('is constant without warm-up', () => {
    const f = constantSchedule({ lr: 3e-4 });
    expect(values(f, 0, 5)).toEqual([3e-4, 3e-4, 3e-4, 3e-4, 3e-4]);
  });

  it('warms up linearly as lr * (step + 1) / warmup, then holds', () => {
    const f = constantSchedule({ lr: 1, warmupSteps: 4 });
    expect(values(f, 0, 7)).toEqual([0.25, 0.5, 0.75, 1, 1, 1, 1]);
  });

  it.each<[string, object, RegExp]>([
    ['lr missing', {}, /constantSchedule: lr must be a finite number > 0, got undefined/],
    ['lr infinite', { lr: Infinity }, /lr must be a finite number > 0, got Infinity/],
    ['negative warm-up', { lr: 1, warmupSteps: -1 }, /warmupSteps must be an integer >= 0, got -1/],
    ['unknown option', { lr: 1, minLr: 0 }, /unknown option 'minLr'/],
  ])('rejects %s', (_name, o, message) => {
    expect(() => constantSchedule(o as never)).toThrow(message);
  });
});

describe('wsdSchedule', () => {
  const base = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100, decayFraction: 0.2 };

  it('matches the closed form for the 1-sqrt decay (default)', () => {
    const f = wsdSchedule(base);
    expect(f(0)).toBeCloseTo(1e-4, 15);
    expect(f(9)).toBeCloseTo(1e-3, 15);
    expect(f(10)).toBe(1e-3);
    expect(f(79)).toBe(1e-3);
    expect(f(80)).toBe(1e-3); // p = 0
    for (const s of [81, 85, 90, 99]) {
      const p = (s - 80) / 20;
      expect(f(s)).toBeCloseTo(1e-4 + 9e-4 * (1 - Math.sqrt(p)), 15);
    }
    expect(f(100)).toBe(1e-4);
    expect(f(1e6)).toBe(1e-4);
  });

  it('matches the closed form for the linear decay', () => {
    const f = wsdSchedule({ ...base, decayShape: 'linear' });
    expect(f(90)).toBeCloseTo(5.5e-4, 15);
    expect(f(95)).toBeCloseTo(1e-4 + 9e-4 * 0.25, 15);
  });

  it('has monotonic pieces and is continuous at the boundaries', () => {
    for (const decayShape of ['linear', '1-sqrt'] as const) {
      const f = wsdSchedule({ ...base, decayShape });
      expectMonotonic(values(f, 0, 10), 'up');
      expectMonotonic(values(f, 10, 81), 'flat');
      expectMonotonic(values(f, 80, 120), 'down');
      expect(f(9)).toBeCloseTo(f(10), 15);
      // The decay ends at minLr: the step N-1 -> N closes the last increment.
      const lastInc = decayShape === 'linear' ? 9e-4 / 20 : 9e-4 * (1 - Math.sqrt(19 / 20));
      expect(f(99) - f(100)).toBeCloseTo(lastInc, 15);
    }
  });

  it('with decayFraction 0 holds maxLr until totalSteps, and 1 decays from the end of warm-up', () => {
    const f = wsdSchedule({ maxLr: 1, warmupSteps: 0, totalSteps: 4, decayFraction: 0 });
    expect(values(f, 0, 6)).toEqual([1, 1, 1, 1, 0, 0]);
    const g = wsdSchedule({ maxLr: 1, warmupSteps: 0, totalSteps: 4, decayFraction: 1, decayShape: 'linear' });
    expect(values(g, 0, 5)).toEqual([1, 0.75, 0.5, 0.25, 0]);
  });

  it.each<[string, object, RegExp]>([
    ['decayFraction > 1', { ...base, decayFraction: 1.5 }, /wsdSchedule: decayFraction must be a number in \[0, 1\], got 1.5/],
    ['bad shape', { ...base, decayShape: 'cosine' }, /decayShape must be 'linear' or '1-sqrt', got "cosine"/],
    ['zero totalSteps', { ...base, totalSteps: 0 }, /totalSteps must be an integer >= 1, got 0/],
    ['warm-up into decay', { ...base, warmupSteps: 90 }, /warm-up \(90 steps\) overlaps the decay, which starts at step 80/],
    ['minLr > maxLr', { ...base, minLr: 1 }, /minLr \(1\) must not exceed maxLr/],
    ['unknown option', { ...base, cooldown: 0.1 }, /unknown option 'cooldown'/],
  ])('rejects %s', (_name, o, message) => {
    expect(() => wsdSchedule(o as never)).toThrow(message);
  });
});
