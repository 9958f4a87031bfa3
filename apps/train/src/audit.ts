// The causal-leakage audit as the train app runs it (SPEC §2, §8): every exit, seeded random prompts; the trainer
// puts its verdict in every train result, the eval command in every eval result.
import { Rng } from '@bitskip/tensor-core';
import { causalAudit } from '@bitskip/eval';
import type { CausalAuditVerdict } from '@bitskip/eval';
import type { BitSkipModel } from '@bitskip/model';

/** The audit's shape: random prompts × length, cuts per prompt. */
export interface AuditSettings {
  prompts: number;
  seqLen: number;
  cuts: number;
}

/** The eval command's audit (every exit): the audit's defaults. */
export const EVAL_AUDIT: AuditSettings = { prompts: 4, seqLen: 16, cuts: 3 };
/** The trainer's audit in every train result: fewer prompts, every exit (cheap; see the README for its cost). */
export const TRAIN_AUDIT: AuditSettings = { prompts: 2, seqLen: 16, cuts: 2 };

/** The causal-leakage audit of a model at every exit (evaluation mode for the audit; the mode is restored). */
export function auditModel(model: BitSkipModel, seed: number, s: AuditSettings): CausalAuditVerdict {
  const wasTraining = model.training;
  model.eval();
  try {
    return causalAudit(model, { vocabSize: model.config.vocabSize, rng: new Rng(seed), prompts: s.prompts, seqLen: Math.min(s.seqLen, model.config.maxSeqLen), cuts: s.cuts });
  } finally {
    model.train(wasTraining);
  }
}

