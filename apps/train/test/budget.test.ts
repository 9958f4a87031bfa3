// fitToBudget (src/budget.ts): the time-budget rule the trainer applies at step 10 and every 20 steps, checked
// against its definition — a new total fits (elapsed + steps left × step time × 1.03 + the evaluation's reserve ≤
// the budget) and one more step would not —, its bands (re-checks cut past +2%, extend below −5%) and its bounds
// (never below the steps done, never above the configured steps, the first check never extends).
import { describe, expect, it } from 'vitest';
import { fitToBudget } from '../src/budget.js';
import type { BudgetCheck } from '../src/budget.js';

const fits = (c: BudgetCheck, total: number): boolean => c.elapsed + (total - c.step) * c.perStep * 1.03 + c.evalReserve <= c.budget;

describe('fitToBudget', () => {
  it('first check, a slow machine: cuts to the most steps that fit', () => {
    const c: BudgetCheck = { step: 10, planned: 600, cap: 600, elapsed: 25, perStep: 0.989, evalReserve: 33, budget: 540, recheck: false };
    const t = fitToBudget(c)!;
    expect(t).toBeLessThan(600);
    expect(fits(c, t)).toBe(true);
    expect(fits(c, t + 1)).toBe(false);
  });

  it('first check, a fast machine: keeps the plan and never extends it', () => {
    expect(fitToBudget({ step: 10, planned: 300, cap: 600, elapsed: 20, perStep: 0.5, evalReserve: 30, budget: 540, recheck: false })).toBeNull();
  });

  it('re-check: cuts only past a 2% overrun, to what fits', () => {
    const base = { step: 100, planned: 500, cap: 500, elapsed: 100, evalReserve: 30, budget: 540, recheck: true };
    // finish = 100 + 400·s + 30: at s = 1.035 it is 544 (+0.7%): kept; at s = 1.1, 570 (+5.6%): cut.
    expect(fitToBudget({ ...base, perStep: 1.035 })).toBeNull();
    const c = { ...base, perStep: 1.1 };
    const t = fitToBudget(c)!;
    expect(t).toBeLessThan(500);
    expect(fits(c, t)).toBe(true);
    expect(fits(c, t + 1)).toBe(false);
  });

  it('re-check: extends a run that would end more than 5% early, up to the configured steps and within the budget', () => {
    // A study run whose first estimate (0.989 s/step at step 10) cut 600 steps to 495, now measured at 0.8 s/step.
    const c: BudgetCheck = { step: 30, planned: 495, cap: 600, elapsed: 35, perStep: 0.8, evalReserve: 33, budget: 540, recheck: true };
    expect(fitToBudget(c)).toBe(600);
    expect(fits(c, 600)).toBe(true);
    // With less room the extension stops where the budget does.
    const d = { ...c, perStep: 0.9 };
    const t = fitToBudget(d)!;
    expect(t).toBeGreaterThan(495);
    expect(t).toBeLessThan(600);
    expect(fits(d, t)).toBe(true);
    expect(fits(d, t + 1)).toBe(false);
    // Within 5% of the budget, or already at the configured steps: kept.
    expect(fitToBudget({ ...c, perStep: 0.96 })).toBeNull(); // finish 35 + 465·0.96 + 33 = 514.4 ≥ 513
    expect(fitToBudget({ ...c, planned: 600 })).toBeNull();
  });

  it('never goes below the steps done, and leaves a finished or unmeasured run alone', () => {
    expect(fitToBudget({ step: 200, planned: 500, cap: 500, elapsed: 600, perStep: 1, evalReserve: 30, budget: 540, recheck: true })).toBe(200);
    expect(fitToBudget({ step: 500, planned: 500, cap: 600, elapsed: 100, perStep: 0.1, evalReserve: 30, budget: 540, recheck: true })).toBeNull();
    expect(fitToBudget({ step: 10, planned: 500, cap: 600, elapsed: 10, perStep: 0, evalReserve: 30, budget: 540, recheck: true })).toBeNull();
  });
});
