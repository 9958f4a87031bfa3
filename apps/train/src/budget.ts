// Fitting a run's step count to its time budget (trainer.ts calls it at step 10 and every 20 steps after): a pure
// function of the measured step time, so that the rule is tested on its own.
//   first check: cut the plan to what fits (the first steps run slower than later ones: heap growth, compilation,
//                so the first estimate errs long and never extends);
//   re-checks:   cut when the run would overrun its budget by more than 2%, to what fits; extend, up to the
//                configured steps, when it would end more than 8% early, to what fits 97% of the budget. The gap
//                between the two bands (and the trainer's step time over the last 100 steps, not 20) keeps a
//                machine whose speed wanders by ±15% from cutting and extending in turn: each change lays the
//                LR schedule out anew.
// "Fits": elapsed + steps left × step time × 1.03 + the final evaluation's reserve ≤ the budget.

export interface BudgetCheck {
  /** Steps done. */
  step: number;
  /** The current plan's total steps. */
  planned: number;
  /** The most the run may take: the configured steps (or the tokens' steps). */
  cap: number;
  /** Seconds since the process started (data preparation counts). */
  elapsed: number;
  /** Measured seconds a step. */
  perStep: number;
  /** Seconds kept for the final evaluation and the sample. */
  evalReserve: number;
  /** The time budget in seconds. */
  budget: number;
  /** false at the first check, true at the re-checks. */
  recheck: boolean;
}

/** The new total steps, or null to keep the plan. */
export function fitToBudget(c: BudgetCheck): number | null {
  if (c.step >= c.planned || !(c.perStep > 0)) return null;
  const fitting = (budget: number): number => c.step + Math.max(0, Math.floor((budget - c.elapsed - c.evalReserve) / (c.perStep * 1.03)));
  const fit = fitting(c.budget);
  if (!c.recheck) return fit < c.planned ? Math.max(c.step, fit) : null;
  const finish = c.elapsed + (c.planned - c.step) * c.perStep + c.evalReserve;
  if (finish > c.budget * 1.02 && fit < c.planned) return Math.max(c.step, fit);
  if (finish < c.budget * 0.92 && c.planned < c.cap) {
    const grown = Math.min(c.cap, fitting(c.budget * 0.97));
    return grown > c.planned ? grown : null;
  }
  return null;
}
