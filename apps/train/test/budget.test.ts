// fitToBudget (src/budget.ts): the time-budget rule the trainer applies at step 10 and every 20 steps, checked
// against its definition — a new total fits (elapsed + steps left × step time × 1.03 + the evaluation's reserve ≤
// the budget) and one more step would not —, its bands (re-checks cut past +2%, extend below −8% to 97%) and its bounds
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

  it('re-check: extends a run that would end more than 8% early, to what fits 97% of the budget, up to the configured steps', () => {
    // A study run whose first estimate (0.989 s/step at step 10) cut 600 steps to 495, now measured at 0.8 s/step.
    const c: BudgetCheck = { step: 30, planned: 495, cap: 600, elapsed: 35, perStep: 0.8, evalReserve: 33, budget: 540, recheck: true };
    const t = fitToBudget(c)!;
    expect(t).toBeGreaterThan(495);
    expect(t).toBeLessThan(600);
    expect(fits({ ...c, budget: 0.97 * 540 }, t)).toBe(true);
    expect(fits({ ...c, budget: 0.97 * 540 }, t + 1)).toBe(false);
    // Faster still: capped at the configured steps.
    expect(fitToBudget({ ...c, perStep: 0.7 })).toBe(600);
    // Within 8% of the budget, or already at the configured steps: kept.
    expect(fitToBudget({ ...c, perStep: 0.93 })).toBeNull(); // finish 35 + 465·0.93 + 33 = 500.5 ≥ 0.92·540
    expect(fitToBudget({ ...c, planned: 600 })).toBeNull();
  });

  it('re-check: an extended run is not cut back when the machine is then 5% slower (no cut/extend see-saw)', () => {
    const c: BudgetCheck = { step: 30, planned: 495, cap: 600, elapsed: 35, perStep: 0.8, evalReserve: 33, budget: 540, recheck: true };
    const t = fitToBudget(c)!;
    const later: BudgetCheck = { ...c, step: 50, planned: t, elapsed: 35 + 20 * 0.84, perStep: 0.84 };
    expect(fitToBudget(later)).toBeNull();
    // …nor extended again when it is 2% faster (a see-saw needs the step time to swing by more than ~13%).
    expect(fitToBudget({ ...later, elapsed: 35 + 20 * 0.784, perStep: 0.784 })).toBeNull();
  });

  it('never goes below the steps done, and leaves a finished or unmeasured run alone', () => {
    expect(fitToBudget({ step: 200, planned: 500, cap: 500, elapsed: 600, perStep: 1, evalReserve: 30, budget: 540, recheck: true })).toBe(200);
    expect(fitToBudget({ step: 500, planned: 500, cap: 600, elapsed: 100, perStep: 0.1, evalReserve: 30, budget: 540, recheck: true })).toBeNull();
    expect(fitToBudget({ step: 10, planned: 500, cap: 600, elapsed: 10, perStep: 0, evalReserve: 30, budget: 540, recheck: true })).toBeNull();
  });
});
