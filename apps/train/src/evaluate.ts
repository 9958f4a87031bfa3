// The eval command: a run's checkpoint scored on the validation split at every exit 1..L (perplexity and bits per
// byte, the trainer's windows and batches, so exit L equals the trainer's final validation), the causal-leakage audit
// (seeded), activation statistics over seeded validation windows and weight statistics; written as an `eval` result
// (docs/results.md) and printed as a compact table.
import { join, resolve } from 'node:path';
import { Rng } from '@bitskip/tensor-core';
import { activationStats, evaluateExits, sampleWindows, weightStats } from '@bitskip/eval';
import type { CausalAuditVerdict, ExitScore, LayerActivationStats, LayerWeightStats, ResultDoc } from '@bitskip/eval';
import { machineMeta, makeResult, writeResultFile } from '@bitskip/eval/node';
import type { ModelConfig } from '@bitskip/model';
import type { TrainConfig } from './config.js';
import { bytesCounter } from '@bitskip/data-tinystories';
import { openRun, openRunData } from './run.js';
import { EVAL_AUDIT, auditModel } from './audit.js';
import type { AuditSettings } from './audit.js';

/** Seeded validation windows for the activation statistics. */
export const DEFAULT_ACTIVATION_WINDOWS = 8;

export interface EvalOptions {
  runDir: string;
  /** Default RUN_DIR/eval.json. */
  out?: string;
  /** Validation windows to score; default the trainer's final evaluation (eval.finalWindows; 0 = the whole split). */
  windows?: number;
  /** Seed of the audit and the activation windows (default the run's seed). */
  seed?: number;
  dataDir?: string;
  backend: { name: string; threads?: number; renderer?: string };
  say: (line: string) => void;
}

export interface EvalConfig {
  checkpoint: string;
  run: string;
  phase: 1 | 2 | null;
  model: ModelConfig;
  train: TrainConfig | null;
  eval: { split: 'valid'; windows: number; seqLen: number; batchSize: number; seed: number; activationWindows: number; audit: AuditSettings };
}

export interface EvalMetrics {
  exits: ExitScore[];
  audit: CausalAuditVerdict;
  activations: LayerActivationStats[];
  weights: LayerWeightStats[];
  evalSeconds: number;
  /** Seconds of each part. */
  seconds: { perplexity: number; audit: number; activations: number; weights: number };
}

const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export async function runEval(o: EvalOptions): Promise<{ resultPath: string; result: ResultDoc<EvalMetrics, EvalConfig> }> {
  const t0 = performance.now();
  const run = await openRun(o.runDir);
  const { model, state } = run;
  try {
    const data = await openRunData(run, { ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }), log: o.say });
    const L = model.numLayers;
    const T = state.config.data.seqLen;
    const B = state.config.data.batchSize;
    const available = Math.floor((data.valid.tokens.length - 1) / T);
    const want = o.windows ?? (state.config.eval.finalWindows > 0 ? state.config.eval.finalWindows : available);
    const windows = Math.min(want, available);
    const seed = o.seed ?? state.config.seed;
    const mc = model.config;
    o.say(`eval: ${run.name} (${mc.variant}, ${L} layers × ${mc.dim}${run.model.paperCompat.length > 0 ? `; PAPER-COMPAT: ${run.model.paperCompat.join(', ')}` : ''}) at step ${state.step}; ${windows} validation windows of ${T} at exits 1..${L}; backend ${o.backend.name}${o.backend.threads === undefined ? '' : ` (${o.backend.threads} threads)`}`);

    let t = performance.now();
    const exits = evaluateExits(model, data.valid.tokens, { exits: Array.from({ length: L }, (_, i) => i + 1), seqLen: T, batchSize: B, bytesOf: bytesCounter(data.tokenizer), maxWindows: windows, spread: true });
    const perplexitySeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const audit = auditModel(model, seed, EVAL_AUDIT);
    const auditSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const actWindows = Math.min(DEFAULT_ACTIVATION_WINDOWS, Math.max(1, available));
    const activations = activationStats(model, { windows: sampleWindows(data.valid.tokens, actWindows, T, new Rng(seed).split()), seqLen: T, batchSize: B });
    const activationSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const weights = weightStats(model);
    const weightSeconds = (performance.now() - t) / 1000;
    const evalSeconds = (performance.now() - t0) / 1000;

    const config: EvalConfig = {
      checkpoint: join(run.dir, 'checkpoint'),
      run: run.name,
      phase: run.phase,
      model: mc,
      train: state.config,
      eval: { split: 'valid', windows, seqLen: T, batchSize: B, seed, activationWindows: actWindows, audit: EVAL_AUDIT },
    };
    const metrics: EvalMetrics = {
      exits,
      audit,
      activations,
      weights,
      evalSeconds,
      seconds: { perplexity: perplexitySeconds, audit: auditSeconds, activations: activationSeconds, weights: weightSeconds },
    };
    const result = makeResult('eval', run.name, config, metrics, {
      meta: machineMeta({ backend: o.backend, seeds: { eval: seed, train: state.config.seed } }),
      paperCompat: model.paperCompat,
    });
    const resultPath = writeResultFile(resolve(o.out ?? join(run.dir, 'eval.json')), result);

    o.say(`\n${exits[0]?.tokens.toLocaleString('en-US') ?? 0} tokens, ${exits[0]?.bytes.toLocaleString('en-US') ?? 0} bytes; residual stream and qkv input: std, kurtosis (${actWindows} windows)`);
    o.say(' exit    loss  perplexity  bits/byte   resid std  kurt   qkv std  kurt');
    for (const s of exits) {
      const a = activations[s.layer - 1]!;
      const q = a.quantizers[0]!.input;
      o.say(`${String(s.layer).padStart(5)} ${f(s.loss, 4).padStart(7)} ${f(s.perplexity, 2).padStart(11)} ${f(s.bitsPerByte, 4).padStart(10)} ${f(a.residual.std, 3).padStart(11)} ${f(a.residual.kurtosis, 1).padStart(5)} ${f(q.std, 3).padStart(9)} ${f(q.kurtosis, 1).padStart(5)}`);
    }
    o.say(
      `audit: ${audit.passed ? 'PASSED' : 'FAILED'} (exits ${audit.exitsChecked[0]}..${audit.exitsChecked[audit.exitsChecked.length - 1]}, ${audit.comparisons} comparisons, max |Δ logit| before the cut ${audit.maxChange.toExponential(2)}, after ${audit.maxChangeAfter.toExponential(2)})` +
        (audit.firstLeak === null ? '' : `; first leak at exit ${audit.firstLeak.exit}, position ${audit.firstLeak.position} (cut ${audit.firstLeak.cut})`),
    );
    o.say(`eval took ${f(evalSeconds, 1)} s (perplexity ${f(perplexitySeconds, 1)}, audit ${f(auditSeconds, 2)}, activations ${f(activationSeconds, 1)}, weights ${f(weightSeconds, 2)})\nresult: ${resultPath}`);
    return { resultPath, result };
  } finally {
    model.dispose();
  }
}
