// One training run: data, model, AdamW with warm-up + cosine/WSD, gradient accumulation and clipping, the early-exit
// loss and layer dropout (layerskip), periodic validation per exit, checkpoints (atomic, resumable value for value),
// divergence handling, the final evaluation per exit, a sample, and the result file.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdamW, Rng, clipCoefficient, constantSchedule, cosineSchedule, mul, tensor, tidy, wsdSchedule } from '@bitskip/tensor-core';
import type { LrSchedule, Tensor } from '@bitskip/tensor-core';
import { BitSkipModel, paperCompatFlags, quantConfigFor } from '@bitskip/model';
import type { ModelConfig } from '@bitskip/model';
import { earlyExitLoss, enabledExits, quarterExits, sampleLayerDrop, stepRng } from '@bitskip/layerskip';
import { evaluateExits, stats } from '@bitskip/eval';
import type { CausalAuditVerdict, ExitScore, ResultDoc } from '@bitskip/eval';
import { machineMeta, makeResult, writeResultFile } from '@bitskip/eval/node';
import { PathError, ensureWritableDir as checkWritable, writeFileAtomicSync } from '@bitskip/atomic-fs';
import { BatchSampler, bytesCounter } from '@bitskip/data-tinystories';
import type { TrainConfig } from './config.js';
import { modelConfigOf, plannedSteps } from './config.js';
import { prepareData } from './data.js';
import type { PreparedData } from './data.js';
import { fitToBudget } from './budget.js';
import { cleanStale, readCheckpointState, restoreCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { RunPlan, TrainState } from './checkpoint.js';
import { generate } from './generate.js';
import { TRAIN_AUDIT, auditModel } from './audit.js';
import { ProgressLine, formatDuration } from './progress.js';

/** Exit codes of a run (documented in the README and --help). */
export const EXIT = { ok: 0, internal: 1, usage: 2, diverged: 3, interrupted: 130 } as const;

export interface RunOptions {
  config: TrainConfig;
  /** The run directory: train-config.json, log.jsonl, checkpoint/, result.json. */
  outDir: string;
  resume: boolean;
  /** Name of the run in the result ('quick-v1', 'phase1-v2', ...). */
  name: string;
  backend: { name: string; threads?: number; renderer?: string };
  dataDir?: string;
  /** process start, for the time budget (data preparation counts). */
  startedAt: number;
  /** Set to a signal name to stop at the next step boundary (a checkpoint is written first). */
  stop: { signal: string | null };
  /** A test hook: make the loss NaN at these steps (0-based); `from` makes it persistent from that step. */
  fault?: { steps: number[]; from: number | null };
  out?: NodeJS.WriteStream;
  /** Print the resolved config (default true). */
  printConfig?: boolean;
}

export interface RunOutcome {
  status: 'complete' | 'diverged' | 'interrupted';
  exitCode: number;
  resultPath: string | null;
  result: ResultDoc | null;
}

function makeSchedule(c: TrainConfig, total: number): LrSchedule {
  const o = c.optim;
  // Warm-up never takes more than a fifth of the run (a short run, or one cut to a time budget).
  const warmupSteps = Math.min(o.warmupSteps, Math.floor(total / 5));
  if (o.schedule === 'constant') return constantSchedule({ lr: o.lr, warmupSteps });
  if (o.schedule === 'wsd') return wsdSchedule({ maxLr: o.lr, minLr: o.lr * o.minLrRatio, warmupSteps, totalSteps: total, decayFraction: o.decayFraction });
  return cosineSchedule({ maxLr: o.lr, minLr: o.lr * o.minLrRatio, warmupSteps, decaySteps: Math.max(warmupSteps + 1, total) });
}

function evalExits(L: number): number[] {
  return [...quarterExits(L), L];
}

function fmtScores(scores: ExitScore[], L: number): string[] {
  return scores.map((s) => `  exit ${String(s.layer).padStart(2)}/${L}: loss ${s.loss.toFixed(4)}  perplexity ${s.perplexity.toFixed(2)}  bits/byte ${s.bitsPerByte.toFixed(4)}`);
}

function ensureWritableDir(dir: string): void {
  try {
    checkWritable(dir);
  } catch (e) {
    throw new UsageError(`--out ${dir}: ${e instanceof PathError ? e.message : (e as Error).message}`);
  }
}

/** A user mistake: one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type SeriesPoint = { step: number; loss: number | null; lr: number; tokens: number; seconds: number };

/**
 * The training and periodic-validation series of a run's log (log.jsonl text), as the live loop builds them: one
 * point per step (a skipped step has loss null and the previous step's seconds), one validation point per exit.
 */
export function seriesFromLog(text: string): { series: SeriesPoint[]; validation: Record<string, number | null>[]; lastLoss: number | null; lastFinite: number | null } {
  const series: SeriesPoint[] = [];
  const validation: Record<string, number | null>[] = [];
  let lastLoss: number | null = null;
  let lastFinite: number | null = null;
  let seconds = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const d = JSON.parse(line) as { step: number; loss?: number; skipped?: boolean; lr?: number; tokens?: number; seconds?: number; val?: Record<string, number>; valBitsPerByte?: Record<string, number> };
    if (d.val !== undefined) {
      for (const [layer, loss] of Object.entries(d.val)) validation.push({ step: d.step, layer: Number(layer), loss, bitsPerByte: d.valBitsPerByte?.[layer] ?? null });
    } else if (d.skipped === true) {
      lastLoss = null;
      series.push({ step: d.step, loss: null, lr: d.lr ?? NaN, tokens: d.tokens ?? 0, seconds });
    } else if (typeof d.loss === 'number') {
      seconds = d.seconds ?? seconds;
      lastLoss = d.loss;
      lastFinite = d.loss;
      series.push({ step: d.step, loss: d.loss, lr: d.lr ?? NaN, tokens: d.tokens ?? 0, seconds });
    }
  }
  return { series, validation, lastLoss, lastFinite };
}

export async function runTraining(o: RunOptions): Promise<RunOutcome> {
  const out = o.out ?? process.stdout;
  const progress = new ProgressLine(out);
  const say = (line: string): void => progress.log(line);
  const runDir = resolve(o.outDir);
  ensureWritableDir(runDir);
  cleanStale(runDir);

  let state: TrainState | null = null;
  let config = o.config;
  if (o.resume) {
    state = readCheckpointState(runDir);
    config = state.config;
    say(`resuming ${runDir} at step ${state.step}/${state.plan.totalSteps}`);
  } else if (existsSync(join(runDir, 'checkpoint')) || existsSync(join(runDir, 'log.jsonl'))) {
    throw new UsageError(`--out ${runDir}: holds an earlier run (checkpoint/ or log.jsonl); resume it with --resume ${runDir}, or choose another --out`);
  }
  writeFileAtomicSync(join(runDir, 'train-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (o.printConfig ?? true) say(`config (also in ${join(runDir, 'train-config.json')}):\n${JSON.stringify(config)}`);

  // Data.
  const data: PreparedData = await prepareData(config.data, { ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }), log: say });
  const tok = data.tokenizer;
  const mc: ModelConfig = modelConfigOf(config, tok.vocabSize);
  const L = mc.numLayers;
  const { batchSize: B, seqLen: T } = config.data;
  const accum = config.optim.accum;

  // Model and optimizer (weights drawn from the seed: the same on every backend).
  const model = new BitSkipModel(mc, new Rng(config.seed));
  const params = model.namedParameters();
  const opt = new AdamW(
    [
      { params: params.filter(([, p]) => p.rank >= 2).map(([, p]) => p) },
      { params: params.filter(([, p]) => p.rank < 2).map(([, p]) => p), weightDecay: 0 },
    ],
    { lr: config.optim.lr, betas: [config.optim.beta1, config.optim.beta2], eps: config.optim.eps, weightDecay: config.optim.weightDecay },
  );
  const flags = paperCompatFlags(mc);
  say(
    `model: ${mc.variant} (${mc.variant === 'baseline' ? 'fp32' : JSON.stringify(quantConfigFor(mc))}), ${L} layers × ${mc.dim}, ` +
      `${(model.numParams() / 1e6).toFixed(2)} M parameters, vocab ${mc.vocabSize}; batch ${B} × ${T}${accum > 1 ? ` × ${accum} accumulated` : ''}; backend ${o.backend.name}${o.backend.threads === undefined ? '' : ` (${o.backend.threads} threads)`}` +
      (flags.length > 0 ? `\nPAPER-COMPATIBILITY SWITCHES ON (reproducing faults of the authors' code, SPEC §2): ${flags.join(', ')}` : ''),
  );

  let plan: RunPlan = state?.plan ?? { totalSteps: plannedSteps(config), stepsReason: config.tokens === null ? 'steps' : `tokens ${config.tokens}` };
  let step = state?.step ?? 0;
  let badSteps = state?.badSteps ?? 0;
  let badRun = state?.badRun ?? 0;
  let tokens = state?.tokens ?? 0;
  let trainSeconds = state?.trainSeconds ?? 0;
  const sampler = BatchSampler.fromShard(data.train, { batchSize: B, seqLen: T, seed: config.seed, documentAligned: config.data.documentAligned }, state?.cursor);
  if (state !== null) await restoreCheckpoint(runDir, model, opt, state);

  const logPath = join(runDir, 'log.jsonl');
  if (state !== null && existsSync(logPath)) {
    // Drop log lines past the checkpoint: the resumed run writes them again, identically.
    const kept = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
    writeFileAtomicSync(logPath, kept.map((l) => `${l}\n`).join(''));
  }
  const logLine = (doc: Record<string, unknown>): void => appendFileSync(logPath, `${JSON.stringify(doc)}\n`);

  const tokenInfo = { kind: tok.kind, hash: tok.hash, vocabSize: tok.vocabSize };
  const dataDirRecorded = data.dir;
  const checkpoint = async (): Promise<void> => {
    await saveCheckpoint(runDir, model, opt, { step, cursor: sampler.cursor, badSteps, badRun, tokens, trainSeconds, plan, config, dataDir: dataDirRecorded }, tokenInfo);
  };
  const bytesOf = bytesCounter(tok);
  const validate = (windows: number): ExitScore[] => {
    model.eval();
    try {
      return evaluateExits(model, data.valid.tokens, { exits: evalExits(L), seqLen: T, batchSize: B, bytesOf, ...(windows > 0 ? { maxWindows: windows, spread: true } : {}) });
    } finally {
      model.train();
    }
  };

  const series: SeriesPoint[] = [];
  const valSeries: Record<string, number | null>[] = [];
  const stepTimes: number[] = [];
  let status: RunOutcome['status'] = 'complete';
  let sched = makeSchedule(config, plan.totalSteps);
  let lastCkpt = performance.now();
  let lastLoss: number | null = null;
  let lastFinite: number | null = null;
  if (state !== null && existsSync(logPath)) {
    // A resumed run's result carries the whole curve: the steps before the checkpoint come from the kept log.
    const before = seriesFromLog(readFileSync(logPath, 'utf8'));
    series.push(...before.series);
    valSeries.push(...before.validation);
    lastLoss = before.lastLoss;
    lastFinite = before.lastFinite;
  }
  const tStart = performance.now();
  const budgetCheckAt = Math.min(step + 10, plan.totalSteps);
  model.train();

  while (step < plan.totalSteps) {
    // Yield to the event loop once a step, so that a SIGINT/SIGTERM handler runs between steps.
    await new Promise((r) => setImmediate(r));
    if (o.stop.signal !== null) {
      status = 'interrupted';
      break;
    }
    const t0 = performance.now();
    opt.lr = sched(step);
    const exits = enabledExits(config.earlyExit, L, step, plan.totalSteps);
    let lossSum = 0;
    let finalSum = 0;
    const exitSums = new Map<number, number>(exits.map((e) => [e, 0]));
    const faulty = o.fault !== undefined && (o.fault.steps.includes(step) || (o.fault.from !== null && step >= o.fault.from));
    for (let a = 0; a < accum; a++) {
      const batch = sampler.next();
      const rng = stepRng(config.seed, step, a);
      const mask = sampleLayerDrop(config.layerDrop, L, B, rng, step, plan.totalSteps);
      const vals = tidy(() => {
        const x = tensor(batch.inputs, [B, T], 'int32');
        const y = tensor(batch.targets, [B, T], 'int32');
        const f = model.forward(x, { collect: exits, logits: false, layerDrop: mask, rng });
        const ee = earlyExitLoss({
          head: model,
          final: f.hidden,
          exits: exits.map((layer) => ({ layer, hidden: f.exits.get(layer)! })),
          targets: y,
          ...(mc.paperUnshiftedExitTargets ? { exitTargets: x } : {}),
          config: config.earlyExit,
          numLayers: L,
        });
        let loss: Tensor = accum > 1 ? mul(ee.loss, 1 / accum) : ee.loss;
        if (faulty) loss = mul(loss, NaN);
        loss.backward();
        return { loss: loss.itemSync() * accum, final: ee.finalLoss.itemSync(), exits: ee.exitLosses.map((t) => t.itemSync()) };
      });
      lossSum += vals.loss / accum;
      finalSum += vals.final / accum;
      vals.exits.forEach((v, i) => exitSums.set(exits[i]!, exitSums.get(exits[i]!)! + v / accum));
    }
    let gradNorm = NaN;
    let clipScale = 1;
    if (Number.isFinite(lossSum)) {
      // The clip's coefficient goes into AdamW's update (the bits of rescaling the gradients first, no pass of its own).
      const { norm, coef } = clipCoefficient(model.parameters(), config.optim.clip > 0 ? config.optim.clip : Infinity);
      gradNorm = norm.itemSync();
      clipScale = coef.itemSync();
      norm.dispose();
      coef.dispose();
    }
    tokens += B * T * accum;
    const lr = opt.lr;
    if (!Number.isFinite(lossSum) || !Number.isFinite(gradNorm)) {
      opt.zeroGrad();
      badSteps++;
      badRun++;
      step++;
      logLine({ step, skipped: true, reason: Number.isFinite(lossSum) ? 'non-finite gradient' : 'non-finite loss', lr, tokens });
      say(`step ${step}: non-finite ${Number.isFinite(lossSum) ? 'gradient' : 'loss'}; step skipped (${badRun} in a row, ${badSteps} in all)`);
      if (badRun >= config.maxBadSteps) {
        status = 'diverged';
        break;
      }
    } else {
      opt.step({ gradScale: clipScale });
      opt.zeroGrad();
      badRun = 0;
      step++;
      lastLoss = lossSum;
      lastFinite = lossSum;
      const exitLosses = Object.fromEntries([...exitSums].map(([e, v]) => [String(e), v]));
      logLine({ step, loss: lossSum, finalLoss: finalSum, exitLosses, lr, gradNorm, tokens, seconds: trainSeconds + (performance.now() - tStart) / 1000 });
    }
    if (badRun > 0) lastLoss = null;
    const dt = (performance.now() - t0) / 1000;
    stepTimes.push(dt);
    series.push({ step, loss: lastLoss, lr, tokens, seconds: trainSeconds + (performance.now() - tStart) / 1000 });

    // Fit the step count to the time budget once the step time is known, and again every 20 steps with the last 100
    // steps' time (the machine may have become slower, or the first steps' estimate was long); recorded in the plan,
    // so resumes keep it.
    const recheck = step > budgetCheckAt && (step - budgetCheckAt) % 20 === 0;
    if (config.timeBudget !== null && (step === budgetCheckAt || recheck) && state === null && step < plan.totalSteps) {
      const per = stats(recheck ? stepTimes.slice(-100) : stepTimes.slice(Math.min(2, stepTimes.length - 1))).median;
      const elapsed = (performance.now() - o.startedAt) / 1000;
      const validTokens = config.eval.finalWindows > 0 ? config.eval.finalWindows * T : data.valid.tokens.length;
      // The final evaluation: a forward pass (about a third of a training step) per batch of validation windows, plus the
      // exits' heads; then the sample, one token at a time; then a margin.
      const evalReserve = (validTokens / (B * T)) * per * 0.45 + config.sample.tokens * 0.02 + 10;
      // Cut (or, at a re-check, extend up to the configured steps) to fit; the schedule is laid out anew from here.
      const total = fitToBudget({ step, planned: plan.totalSteps, cap: plannedSteps(config), elapsed, perStep: per, evalReserve, budget: config.timeBudget, recheck });
      if (total !== null) {
        const why = `${total < plan.totalSteps ? 'cut' : 'extended'} from ${plan.totalSteps} to ${total} at step ${step} to fit the ${config.timeBudget} s budget (${per.toFixed(3)} s/step measured, ${evalReserve.toFixed(0)} s reserved for evaluation)`;
        plan = { totalSteps: total, stepsReason: recheck ? `${plan.stepsReason}; ${why}` : why };
        sched = makeSchedule(config, plan.totalSteps);
        say(`time budget: ${why}`);
      }
    }

    const tps = (B * T * accum) / stats(stepTimes.slice(-20)).median;
    const eta = (plan.totalSteps - step) * stats(stepTimes.slice(-20)).median;
    progress.update(step, plan.totalSteps, `step ${step}/${plan.totalSteps}  loss ${lastLoss === null ? 'skipped' : lastLoss.toFixed(4)}  lr ${lr.toExponential(2)}  ${Math.round(tps).toLocaleString('en-US')} tok/s  ETA ${formatDuration(eta)}`);

    if (config.eval.every > 0 && step % config.eval.every === 0 && step < plan.totalSteps && status === 'complete') {
      const scores = validate(config.eval.windows);
      for (const s of scores) valSeries.push({ step, layer: s.layer, loss: s.loss, bitsPerByte: s.bitsPerByte });
      logLine({ step, val: Object.fromEntries(scores.map((s) => [String(s.layer), s.loss])), valBitsPerByte: Object.fromEntries(scores.map((s) => [String(s.layer), s.bitsPerByte])) });
      say(`step ${step}: validation loss ${scores.map((s) => `exit ${s.layer} ${s.loss.toFixed(3)}`).join(', ')} (${config.eval.windows} windows spread over the split)`);
    }
    const now = performance.now();
    if (
      step < plan.totalSteps &&
      badRun === 0 && // never replace the last good checkpoint during a run of non-finite steps
      ((config.checkpoint.everySteps > 0 && step % config.checkpoint.everySteps === 0) || (config.checkpoint.everySeconds > 0 && (now - lastCkpt) / 1000 >= config.checkpoint.everySeconds))
    ) {
      trainSeconds += (now - tStart) / 1000;
      await checkpoint();
      trainSeconds -= (now - tStart) / 1000;
      lastCkpt = performance.now();
    }
  }
  progress.end();
  trainSeconds += (performance.now() - tStart) / 1000;

  if (status === 'interrupted') {
    await checkpoint();
    say(`stopped by ${o.stop.signal} at step ${step}/${plan.totalSteps}; checkpoint written. Continue with: pnpm --filter train start -- --resume ${runDir}`);
    model.dispose();
    opt.dispose();
    return { status, exitCode: EXIT.interrupted, resultPath: null, result: null };
  }
  if (status === 'complete') await checkpoint();

  // Final evaluation per exit, a sample, the result.
  let scores: ExitScore[] = [];
  let sampleText = '';
  let audit: CausalAuditVerdict | null = null;
  let auditSeconds: number | null = null;
  if (status === 'complete') {
    say(`evaluating on the validation split (${config.eval.finalWindows > 0 ? `${config.eval.finalWindows} windows spread over it` : `all ${data.valid.tokens.length.toLocaleString('en-US')} tokens`}) at exits ${evalExits(L).join(', ')} ...`);
    scores = validate(config.eval.finalWindows);
    for (const s of scores) valSeries.push({ step, layer: s.layer, loss: s.loss, bitsPerByte: s.bitsPerByte });
    try {
      sampleText = generate(model, tok, { ...config.sample, seed: config.seed }).text;
    } catch (e) {
      // A sample prompt longer than the model's context must not lose a finished run's result.
      sampleText = `(no sample: ${(e as Error).message})`;
    }
    // The causal-leakage audit at every exit (a few random prompts, seeded): its verdict is in every result.
    const ta = performance.now();
    audit = auditModel(model, config.seed, TRAIN_AUDIT);
    auditSeconds = (performance.now() - ta) / 1000;
  }
  const rss = process.resourceUsage().maxRSS * 1024;
  const wall = (performance.now() - o.startedAt) / 1000;
  const timed = stepTimes.length > 3 ? stepTimes.slice(2) : stepTimes;
  const metrics = {
    steps: step,
    plannedSteps: plan.totalSteps,
    stepsReason: plan.stepsReason,
    tokens,
    trainSeconds,
    wallSeconds: wall,
    /** Tokens/s over the whole training loop (validation and checkpoints included). */
    tokensPerSecond: tokens / Math.max(1e-9, trainSeconds),
    stepSeconds: timed.length > 0 ? stats(timed) : null,
    finalTrainLoss: lastFinite,
    badSteps,
    divergedAtStep: status === 'diverged' ? step : null,
    lastFiniteLoss: lastFinite,
    validation: scores,
    audit,
    auditSeconds,
    params: model.numParams(),
    flopsPerToken: model.flopsPerToken({ seq: T }),
    peakRssBytes: rss,
    data: { dir: data.dir, source: data.source, trainTokens: data.train.tokens.length, validTokens: data.valid.tokens.length, tokenizer: tokenInfo },
    sample: sampleText,
  };
  const result = makeResult('train', o.name, { train: config, model: mc }, metrics, {
    meta: machineMeta({ backend: o.backend, seeds: { seed: config.seed } }),
    paperCompat: flags,
    status,
    series: { train: series, validation: valSeries },
  });
  const resultPath = writeResultFile(join(runDir, 'result.json'), result);
  model.dispose();
  opt.dispose();

  if (status === 'diverged') {
    say(`DIVERGED: ${badRun} non-finite steps in a row at step ${step} (last finite loss ${lastFinite === null ? 'none' : lastFinite.toFixed(4)}); the last good checkpoint is kept in ${join(runDir, 'checkpoint')}; result: ${resultPath}`);
    return { status, exitCode: EXIT.diverged, resultPath, result };
  }
  say(`\ntrained ${step} steps, ${tokens.toLocaleString('en-US')} tokens in ${formatDuration(trainSeconds)} (${Math.round(metrics.tokensPerSecond).toLocaleString('en-US')} tok/s); wall ${formatDuration(wall)}, peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
  say(`validation (${scores[0]?.tokens.toLocaleString('en-US') ?? 0} tokens, ${scores[0]?.bytes.toLocaleString('en-US') ?? 0} bytes):`);
  for (const l of fmtScores(scores, L)) say(l);
  if (audit !== null) {
    say(`causal audit (exits 1..${L}, ${audit.prompts} prompts × ${audit.seqLen}): ${audit.passed ? 'passed' : `FAILED (max |Δ logit| before the cut ${audit.maxChange.toExponential(2)})`} in ${(auditSeconds ?? 0).toFixed(2)} s`);
  }
  say(`\nsample (temperature ${config.sample.temperature}, top-k ${config.sample.topK}):\n${sampleText}\n`);
  say(`checkpoint: ${join(runDir, 'checkpoint')}\nresult:     ${resultPath}\nlog:        ${logPath}`);
  return { status, exitCode: EXIT.ok, resultPath, result };
}
